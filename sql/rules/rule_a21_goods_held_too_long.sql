/* ---
kind: keyed
tags: [rules, penalty]
rule:
  id: A21
  name_zh: 扣留货物超期未经批准延长
  name_en: Goods held over a year without an approved extension
  category: a
  area: penalty
  object_type: cases
  detects: a case's goods still held more than one year after the hold began without an approved extension
  grading: orange; red once the goods have been held 2 years
  basis: 行政处罚法实施条例 40
  method: >
    The hold may last 365 calendar days from the day after it began; a limit
    ending on a day off moves to the next working day. Goods still held as of
    the as-of date (goods_held_since set) without an approved extension breach
    once that day has passed; the colour is red from 730 days held, counted to
    the as-of date.
params: [a21_limit_cd, a21_red_days]
parameters:
  - name: a21_limit_cd
    default: 365
    unit: calendar days
    rules: [A21]
    description: goods are held at most this many days without an approved extension
  - name: a21_red_days
    default: 730
    unit: calendar days
    rules: [A21]
    description: days held from which a hold without an approved extension is red
tests:
  - unique: [object_key]
scope: |
  -- Goods held without an approved extension are measured to the as-of date
  -- (days held) and breach once it passes the limit, however old the hold; a
  -- changed case (hold released or extended), or one whose officer
  -- (department) changed, again.
  SELECT case_no FROM stg_cases
  WHERE goods_held_since IS NOT NULL AND NOT coalesce(hold_extension_approved, false)
  UNION ALL SELECT case_no FROM changed.cases
  UNION ALL SELECT case_no FROM stg_cases WHERE officer_id IN (SELECT officer_id FROM changed.officers)
--- */
WITH holds AS (
    SELECT
        c.case_no, c.kind, c.ent_code, c.decl_no, c.filed_on, c.goods_held_since, c.officer_id,
        lim.next_workday AS limit_day,
        getvariable('as_of') - c.goods_held_since AS days_held
    FROM stg_cases AS c
    JOIN dim_date AS lim ON lim.date = c.goods_held_since + getvariable('a21_limit_cd')
    WHERE c.goods_held_since <= getvariable('as_of')
      AND NOT coalesce(c.hold_extension_approved, false)
      AND c.case_no IN (SELECT key FROM scope)
)
SELECT
    '1' AS rule_version,
    h.case_no AS object_key,
    h.officer_id,
    o.dept_id,
    h.ent_code,
    CASE WHEN h.days_held >= getvariable('a21_red_days') THEN 'red' ELSE 'orange' END AS colour,
    h.days_held AS metric,
    CAST(NULL AS DECIMAL(18, 2)) AS amount,
    json_object('kind', h.kind, 'filed_on', h.filed_on, 'goods_held_since', h.goods_held_since,
                'limit_day', h.limit_day, 'days_held', h.days_held, 'decl_no', h.decl_no) AS evidence,
    h.limit_day + 1 AS first_due,
    '' AS period
FROM holds AS h
LEFT JOIN stg_officers AS o ON o.officer_id = h.officer_id
WHERE getvariable('as_of') > h.limit_day

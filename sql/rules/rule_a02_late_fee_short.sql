/* ---
kind: keyed
tags: [rules, declaration]
rule:
  id: A02
  name_zh: 滞报金少征
  name_en: Late-declaration fee levied short
  category: a
  area: declaration
  object_type: declarations
  detects: a 滞报金 levied but short of the computed fee by more than 10 % and at least 50 yuan
  grading: by M1/M2 on the shortfall
  basis: 署令 128
  method: >
    The fee is computed as in A01 (14-day limit from the day after arrival,
    rolled to a working day; customs_value × 0.0005 × days late up to the
    acceptance date, both counted; whole yuan, fractions dropped) and compared
    with late_declaration_fee_levied where that is above zero. The officer
    answerable is the tariff reviewer, else the manual reviewer.
params: [a01_limit_cd, a01_daily_rate, a02_min_short_share, a02_min_shortfall, m1, m2]
parameters:
  - name: a02_min_short_share
    default: 0.10
    unit: share of the computed fee
    rules: [A02]
    description: a levied 滞报金 is short when the shortfall is more than this share of the computed fee
  - name: a02_min_shortfall
    default: 50
    unit: CNY
    rules: [A02]
    description: and the shortfall is at least this much
tests:
  - unique: [object_key]
# The same declarations, read the same way, as A01: its scope.
scope_from: rule_a01_late_declaration_fee
--- */
WITH levied AS (
    SELECT
        d.decl_no, d.consignee_code, d.customs_value, d.arrival_date, d.late_declaration_fee_levied,
        CAST(d.declared_at AS DATE) AS declared_on,
        lim.next_workday AS limit_day
    FROM lookup_declarations((SELECT list(key) FROM scope)) AS d
    JOIN dim_date AS lim ON lim.date = d.arrival_date + getvariable('a01_limit_cd')
    WHERE d.ie_flag = 'I'
      AND d.declared_at < getvariable('as_of_end')
      AND d.late_declaration_fee_levied > 0
),
computed AS (
    SELECT
        *,
        declared_on - limit_day AS days_late,
        -- Decimal arithmetic, so that a whole-yuan fee is not 0.999... short.
        floor(customs_value * CAST(getvariable('a01_daily_rate') AS DECIMAL(18, 6)) * (declared_on - limit_day)) AS fee
    FROM levied
    WHERE declared_on > limit_day
),
short AS (
    SELECT *, fee - late_declaration_fee_levied AS shortfall
    FROM computed
)
SELECT
    '1' AS rule_version,
    s.decl_no AS object_key,
    h.fee_officer_id AS officer_id,
    coalesce(h.fee_officer_dept_id, o.dept_id) AS dept_id,
    s.consignee_code AS ent_code,
    CASE
        WHEN s.shortfall < getvariable('m1') THEN 'yellow'
        WHEN s.shortfall < getvariable('m2') THEN 'orange'
        ELSE 'red'
    END AS colour,
    s.shortfall AS metric,
    s.shortfall AS amount,
    json_object('arrival_date', s.arrival_date, 'limit_day', s.limit_day, 'declared_on', s.declared_on,
                'days_late', s.days_late, 'customs_value', s.customs_value, 'fee', s.fee,
                'levied', s.late_declaration_fee_levied, 'shortfall', s.shortfall) AS evidence,
    s.declared_on AS first_due,
    '' AS period
FROM short AS s
LEFT JOIN int_declaration_handlers AS h ON h.decl_no = s.decl_no
LEFT JOIN stg_officers AS o ON o.officer_id = h.fee_officer_id
WHERE s.shortfall > s.fee * CAST(getvariable('a02_min_short_share') AS DECIMAL(18, 6))
  AND s.shortfall >= getvariable('a02_min_shortfall')

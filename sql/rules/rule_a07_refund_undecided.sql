/* ---
kind: keyed
tags: [rules, tax]
rule:
  id: A07
  name_zh: 退税超期未作决定
  name_en: Refund not decided within the limit
  category: a
  area: refund
  object_type: refunds
  detects: a refund claim not decided within 30 calendar days of its acceptance
  grading: days since acceptance up to 40 yellow, up to 60 orange, more red
  basis: 进出口关税条例 50; 关税法 51
  method: >
    The limit ends 30 calendar days after acceptance (counted from the day after);
    a limit ending on a day off moves to the next working day. A claim decided
    after its limit is measured to the decision, an open claim to the as-of date.
params: [a07_limit_cd, a07_yellow_max_days, a07_orange_max_days]
parameters:
  - name: a07_limit_cd
    default: 30
    unit: calendar days
    rules: [A07]
    description: a refund claim is decided within this many days of acceptance
  - name: a07_yellow_max_days
    default: 40
    unit: calendar days
    rules: [A07]
    description: days since acceptance up to which a late decision is yellow
  - name: a07_orange_max_days
    default: 60
    unit: calendar days
    rules: [A07]
    description: days since acceptance up to which a late decision is orange; red beyond
tests:
  - unique: [object_key]
scope: |
  -- An open claim is measured to the as-of date; a changed claim, or one
  -- whose declaration (consignee) or officer (department) changed, again.
  SELECT refund_id FROM stg_refunds WHERE decided_on IS NULL OR accepted_on >= getvariable('changed_since')
  UNION ALL SELECT refund_id FROM changed.refunds
  UNION ALL SELECT refund_id FROM stg_refunds WHERE decl_no IN (SELECT decl_no FROM diff.declarations WHERE consignee_code)
  UNION ALL SELECT refund_id FROM stg_refunds WHERE officer_id IN (SELECT officer_id FROM changed.officers)
--- */
WITH claims AS (
    SELECT
        r.refund_id, r.decl_no, r.accepted_on, r.decided_on, r.amount, r.officer_id,
        lim.next_workday AS limit_day,
        coalesce(r.decided_on, getvariable('as_of')) AS measured_to
    FROM stg_refunds AS r
    JOIN dim_date AS lim ON lim.date = r.accepted_on + getvariable('a07_limit_cd')
    WHERE r.accepted_on <= getvariable('as_of')
      AND r.refund_id IN (SELECT key FROM scope)
)
SELECT
    '1' AS rule_version,
    c.refund_id AS object_key,
    c.officer_id,
    o.dept_id,
    d.consignee_code AS ent_code,
    CASE
        WHEN c.measured_to - c.accepted_on <= getvariable('a07_yellow_max_days') THEN 'yellow'
        WHEN c.measured_to - c.accepted_on <= getvariable('a07_orange_max_days') THEN 'orange'
        ELSE 'red'
    END AS colour,
    c.measured_to - c.accepted_on AS metric,
    c.amount,
    json_object('accepted_on', c.accepted_on, 'limit_day', c.limit_day, 'decided_on', c.decided_on,
                'days_since_acceptance', c.measured_to - c.accepted_on, 'decl_no', c.decl_no) AS evidence,
    c.limit_day + 1 AS first_due,
    '' AS period
FROM claims AS c
LEFT JOIN stg_officers AS o ON o.officer_id = c.officer_id
LEFT JOIN int_declaration_consignees AS d ON d.decl_no = c.decl_no
WHERE c.measured_to > c.limit_day

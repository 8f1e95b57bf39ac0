/* ---
kind: keyed
tags: [rules, processing_trade]
rule:
  id: B18
  name_zh: 核销存在不明料件余额
  name_en: Manual closed out with an unexplained material balance
  category: b
  area: processing trade
  object_type: manuals
  detects: a processing-trade manual closed out (核销) with an unexplained balance of materials
  grading: by M1/M2 on the balance value
  basis: 条例 41
  method: A closed manual whose unexplained_balance_value is above zero, dated by its closing day.
params: [m1, m2]
tests:
  - unique: [object_key]
scope: |
  -- A changed manual (closing, balance, officer), or one whose officer
  -- changed (department), is judged again; a manual closed on a day after
  -- the last build counts once the as-of date reaches that day.
  SELECT manual_no FROM changed.manuals
  UNION ALL SELECT manual_no FROM stg_manuals WHERE closed_on >= getvariable('changed_since')
  UNION ALL SELECT manual_no FROM stg_manuals WHERE officer_id IN (SELECT officer_id FROM changed.officers)
--- */
SELECT
    '1' AS rule_version,
    m.manual_no AS object_key,
    m.officer_id,
    o.dept_id,
    m.ent_code,
    CASE
        WHEN m.unexplained_balance_value < getvariable('m1') THEN 'yellow'
        WHEN m.unexplained_balance_value < getvariable('m2') THEN 'orange'
        ELSE 'red'
    END AS colour,
    m.unexplained_balance_value AS metric,
    m.unexplained_balance_value AS amount,
    json_object('closed_on', m.closed_on, 'closeout_accepted_on', m.closeout_accepted_on,
                'unexplained_balance_value', m.unexplained_balance_value) AS evidence,
    m.closed_on AS first_due,
    '' AS period
FROM stg_manuals AS m
LEFT JOIN stg_officers AS o ON o.officer_id = m.officer_id
WHERE m.closed_on IS NOT NULL
  AND m.manual_no IN (SELECT key FROM scope)
  AND m.closed_on <= getvariable('as_of')
  AND m.unexplained_balance_value > 0

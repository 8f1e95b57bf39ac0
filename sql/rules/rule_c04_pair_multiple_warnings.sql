/* ---
kind: table
tags: [rules, integrity]
rule:
  id: C04
  name_zh: 同一关员与企业多项执法风险同步预警
  name_en: One officer–enterprise pair carries several deadline or procedure warnings in a quarter
  category: c
  area: any
  object_type: pair
  detects: the same officer–enterprise pair carries 2 or more distinct a/b warnings in a quarter
  grading: 2 warnings orange, 3 or more red
  basis: HL2008 两大风险 同步预警
  method: >
    Reads the category-a and category-b fact tables as of the same date (those
    never read the c facts, so the order is a DAG). A warning belongs to the
    quarter of its first_due and to the pair of its officer_id and ent_code
    (warnings without either are left out). Distinct warnings are distinct
    warning ids: two hits of one rule on two objects count twice. The warning
    is due from the first_due of the warning that brought the pair to the
    minimum count; the colour follows the count as of the as-of date.
params: [c04_min_warnings, c04_red_warnings]
parameters:
  - name: c04_min_warnings
    default: 2
    unit: warnings per quarter
    rules: [C04]
    description: a/b warnings on one officer–enterprise pair in a quarter from which C04 fires (orange)
  - name: c04_red_warnings
    default: 3
    unit: warnings per quarter
    rules: [C04]
    description: a/b warnings on one pair in a quarter from which C04 is red
tests:
  - unique: [object_key, period]
--- */
WITH warnings AS (
    SELECT warning_id, rule_id, officer_id, ent_code, first_due
    FROM fact_deadline_breach
    WHERE officer_id IS NOT NULL AND ent_code IS NOT NULL
    UNION ALL
    SELECT warning_id, rule_id, officer_id, ent_code, first_due
    FROM fact_procedure_deviation
    WHERE officer_id IS NOT NULL AND ent_code IS NOT NULL
),
numbered AS (
    -- The n-th warning of the pair in its quarter, in the order they became due.
    SELECT
        w.*, q.quarter_label,
        row_number() OVER (PARTITION BY w.officer_id, w.ent_code, q.quarter_label
                           ORDER BY w.first_due, w.warning_id) AS nth,
        count(*) OVER (PARTITION BY w.officer_id, w.ent_code, q.quarter_label) AS of_pair
    FROM (SELECT DISTINCT * FROM warnings) AS w
    JOIN dim_date AS q ON q.date = w.first_due
),
pairs AS (
    SELECT
        officer_id, ent_code, quarter_label,
        count(*) AS warnings,
        min(first_due) FILTER (WHERE nth = getvariable('c04_min_warnings')) AS reached_on,
        list(rule_id ORDER BY first_due, warning_id) AS rules,
        list(warning_id ORDER BY first_due, warning_id) AS warning_ids
    FROM numbered
    -- Only the pairs that reach the count build their lists: over a district
    -- year, 21,000 of 111,000 pair-quarters; ordered lists for all of them
    -- took most of the model's time.
    WHERE of_pair >= getvariable('c04_min_warnings')
    GROUP BY officer_id, ent_code, quarter_label
)
SELECT
    '1' AS rule_version,
    p.officer_id || '|' || p.ent_code AS object_key,
    p.officer_id,
    o.dept_id,
    p.ent_code,
    CASE WHEN p.warnings >= getvariable('c04_red_warnings') THEN 'red' ELSE 'orange' END AS colour,
    p.warnings AS metric,
    NULL AS amount,
    json_object('warnings', p.warnings, 'rules', p.rules, 'warning_ids', p.warning_ids) AS evidence,
    p.reached_on AS first_due,
    p.quarter_label AS period
FROM pairs AS p
LEFT JOIN stg_officers AS o ON o.officer_id = p.officer_id

/* ---
kind: keyed
tags: [rules, integrity]
rule:
  id: C03
  name_zh: 人工改派集中指向特定关员
  name_en: Declarations reassigned by hand to one preferred officer
  category: c
  area: clearance
  object_type: officers
  detects: declarations reassigned by hand (declaration_events step reassign) to the same officer 5 or more times in a quarter
  grading: 5 reassignments yellow, 10 orange, 20 or more red
  basis: QJE 2023 Madagascar study
  method: >
    A reassignment is a reassign step of declaration_events; its detail names
    the officer handed the work ("to") and the one it was taken from ("from").
    Counted per receiving officer and quarter of the step (dim_date.quarter_label),
    distinct declarations, up to the as-of date. The warning is due on the day of
    the reassignment that reached the yellow count; the colour follows the count
    as of the as-of date. officer_id is the receiving officer; the evidence names
    who reassigned (usually the section chief) and how often.
params: [c03_yellow_count, c03_orange_count, c03_red_count]
parameters:
  - name: c03_yellow_count
    default: 5
    unit: reassignments per quarter
    rules: [C03]
    description: declarations reassigned by hand to one officer in a quarter from which C03 fires (yellow)
  - name: c03_orange_count
    default: 10
    unit: reassignments per quarter
    rules: [C03]
    description: reassignments to one officer in a quarter from which the warning is orange
  - name: c03_red_count
    default: 20
    unit: reassignments per quarter
    rules: [C03]
    description: reassignments to one officer in a quarter from which the warning is red
tests:
  - unique: [object_key, period]
scope: |
  -- An officer is judged again when a reassignment to the officer changed
  -- (the replaced version names the officer it went to), or is dated after
  -- the last build (had it landed earlier, the as-of date now admits it),
  -- or when the officer changed (department).
  SELECT json_extract_string(detail, '$.to') FROM changed.declaration_events WHERE step = 'reassign'
  UNION ALL SELECT json_extract_string(detail, '$.to') FROM stg_declaration_events
      WHERE step = 'reassign' AND occurred_at >= CAST(getvariable('changed_since') AS TIMESTAMPTZ)
  UNION ALL SELECT officer_id FROM changed.officers
--- */
WITH reassignments AS (
    -- The first hand-over of each declaration to each officer.
    SELECT
        json_extract_string(e.detail, '$.to') AS to_officer,
        e.decl_no,
        min(e.occurred_at) AS reassigned_at,
        arg_min(e.officer_id, e.occurred_at) AS reassigned_by
    FROM stg_declaration_events AS e
    WHERE e.step = 'reassign'
      AND e.occurred_at < getvariable('as_of_end')
      AND json_extract_string(e.detail, '$.to') IN (SELECT key FROM scope)
    GROUP BY ALL
),
numbered AS (
    SELECT
        r.*, q.quarter_label,
        row_number() OVER (PARTITION BY r.to_officer, q.quarter_label ORDER BY r.reassigned_at, r.decl_no) AS nth
    FROM reassignments AS r
    JOIN dim_date AS q ON q.date = CAST(r.reassigned_at AS DATE)
),
officers AS (
    SELECT
        to_officer, quarter_label,
        count(*) AS reassigned,
        CAST(min(reassigned_at) FILTER (WHERE nth = getvariable('c03_yellow_count')) AS DATE) AS reached_on,
        histogram(reassigned_by) AS by_whom
    FROM numbered
    GROUP BY to_officer, quarter_label
    HAVING count(*) >= getvariable('c03_yellow_count')
)
SELECT
    '1' AS rule_version,
    r.to_officer AS object_key,
    r.to_officer AS officer_id,
    o.dept_id,
    NULL AS ent_code,
    CASE
        WHEN r.reassigned >= getvariable('c03_red_count') THEN 'red'
        WHEN r.reassigned >= getvariable('c03_orange_count') THEN 'orange'
        ELSE 'yellow'
    END AS colour,
    r.reassigned AS metric,
    NULL AS amount,
    json_object('reassigned', r.reassigned, 'reassigned_by', r.by_whom, 'reached_on', r.reached_on) AS evidence,
    r.reached_on AS first_due,
    r.quarter_label AS period
FROM officers AS r
LEFT JOIN stg_officers AS o ON o.officer_id = r.to_officer

/* ---
kind: keyed
tags: [rules, clearance]
rule:
  id: B16
  name_zh: 岗位分离失效
  name_en: One officer did review, inspection and release of the same declaration
  category: b
  area: any
  object_type: declarations
  detects: one officer who took two or three of the manual review, the inspection and the release of the same declaration
  grading: 2 steps orange, 3 steps red
  basis: 海关法 79 (post separation)
  method: >
    The steps are the manual_review, inspection and release events, and every
    officer listed on an inspection of the declaration (inspecting from its
    start). Each officer's kinds of step are counted; the warning is dated by
    the day the officer took a second kind of step. Where several officers
    took two kinds, the one with most kinds (then the earliest) answers, so a
    declaration has one warning.
params: [b16_orange_steps, b16_red_steps]
parameters:
  - name: b16_orange_steps
    default: 2
    unit: kinds of step
    rules: [B16]
    description: an officer taking this many of review, inspection and release of one declaration is orange
  - name: b16_red_steps
    default: 3
    unit: kinds of step
    rules: [B16]
    description: an officer taking this many of review, inspection and release of one declaration is red
tests:
  - unique: [object_key]
scope: |
  -- A declaration is judged again when one of its review, inspection or
  -- release steps changed (a replaced version names the declaration it was
  -- on), an inspection of it changed (officers, start), it changed
  -- (consignee), or an officer who took one of those steps on it changed
  -- (department). A step or an inspection dated after the last build (had
  -- it landed earlier) counts once the as-of date reaches it.
  SELECT decl_no FROM changed.declaration_events WHERE step IN ('manual_review', 'inspection', 'release')
  UNION ALL SELECT decl_no FROM changed.inspections
  UNION ALL SELECT decl_no FROM changed.declarations
  UNION ALL SELECT decl_no FROM stg_declaration_events
      WHERE step IN ('manual_review', 'inspection', 'release')
        AND officer_id IN (SELECT officer_id FROM changed.officers)
  UNION ALL SELECT decl_no FROM (SELECT decl_no, unnest(CAST(officers AS VARCHAR[])) AS officer_id FROM stg_inspections)
      WHERE officer_id IN (SELECT officer_id FROM changed.officers)
  UNION ALL SELECT decl_no FROM stg_declaration_events
      WHERE step IN ('manual_review', 'inspection', 'release')
        AND occurred_at >= CAST(getvariable('changed_since') AS TIMESTAMPTZ)
  UNION ALL SELECT decl_no FROM stg_inspections WHERE started_at >= CAST(getvariable('changed_since') AS TIMESTAMPTZ)
--- */
WITH handlings AS (
    SELECT
        e.decl_no, e.officer_id,
        CASE e.step WHEN 'manual_review' THEN 'review' ELSE e.step END AS kind,
        e.occurred_at AS handled_at
    FROM lookup_declaration_events_by_decl_no((SELECT list(key) FROM scope)) AS e
    WHERE e.step IN ('manual_review', 'inspection', 'release')
      AND e.officer_id IS NOT NULL
    UNION ALL
    SELECT i.decl_no, unnest(CAST(i.officers AS VARCHAR[])), 'inspection', i.started_at
    FROM stg_inspections AS i
    WHERE i.decl_no IS NOT NULL AND i.started_at IS NOT NULL
      AND i.decl_no IN (SELECT key FROM scope)
),
first_by_kind AS (
    -- Each officer's first step of each kind, up to the as-of date.
    SELECT decl_no, officer_id, kind, min(handled_at) AS handled_at
    FROM handlings
    WHERE handled_at < getvariable('as_of_end')
    GROUP BY decl_no, officer_id, kind
),
per_officer AS (
    SELECT
        decl_no, officer_id,
        count(*) AS steps,
        list(kind ORDER BY handled_at) AS kinds,
        -- The day of the officer's second kind of step.
        CAST(list(handled_at ORDER BY handled_at)[2] AS DATE) AS second_on
    FROM first_by_kind
    GROUP BY decl_no, officer_id
    HAVING count(*) >= getvariable('b16_orange_steps')
),
worst AS (
    SELECT *
    FROM per_officer
    QUALIFY row_number() OVER (PARTITION BY decl_no ORDER BY steps DESC, second_on, officer_id) = 1
)
SELECT
    '1' AS rule_version,
    w.decl_no AS object_key,
    w.officer_id,
    o.dept_id,
    d.consignee_code AS ent_code,
    CASE WHEN w.steps >= getvariable('b16_red_steps') THEN 'red' ELSE 'orange' END AS colour,
    w.steps AS metric,
    NULL AS amount,
    json_object('steps', w.kinds, 'second_step_on', w.second_on) AS evidence,
    w.second_on AS first_due,
    '' AS period
FROM worst AS w
LEFT JOIN stg_officers AS o ON o.officer_id = w.officer_id
LEFT JOIN lookup_declarations((SELECT list(decl_no) FROM worst)) AS d ON d.decl_no = w.decl_no

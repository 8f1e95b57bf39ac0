/* ---
kind: keyed
tags: [rules, inspection]
rule:
  id: B06
  name_zh: 未经申请在监管区外查验
  name_en: Inspection outside the control area without the trader's request
  category: b
  area: inspection
  object_type: inspections
  detects: an inspection started outside the customs control area without the trader's written request
  grading: orange
  basis: 署令 138 art 4
  method: >
    An inspection counts once it has started. A trader_request that is false
    or missing counts as no request. The lead officer (first listed) answers.
tests:
  - unique: [object_key]
scope: |
  -- An inspection started since the last build is evaluated the first time;
  -- a changed inspection (start, location, request), or one whose declaration
  -- (consignee) or lead officer (department) changed, again.
  SELECT inspection_id FROM stg_inspections WHERE started_at >= getvariable('changed_since')
  UNION ALL SELECT inspection_id FROM changed.inspections
  UNION ALL SELECT inspection_id FROM stg_inspections WHERE decl_no IN (SELECT decl_no FROM changed.declarations)
  UNION ALL SELECT inspection_id FROM stg_inspections
  WHERE json_extract_string(officers, '$[0]') IN (SELECT officer_id FROM changed.officers)
--- */
WITH started AS (
    SELECT
        i.inspection_id, i.decl_no, CAST(i.started_at AS DATE) AS started_on,
        json_extract_string(i.officers, '$[0]') AS lead_officer,
        i.trader_request
    FROM stg_inspections AS i
    WHERE i.started_at IS NOT NULL
      AND i.started_at < getvariable('as_of_end')
      AND i.location = 'outside'
      AND NOT coalesce(i.trader_request, false)
      AND i.inspection_id IN (SELECT key FROM scope)
)
SELECT
    '1' AS rule_version,
    s.inspection_id AS object_key,
    s.lead_officer AS officer_id,
    o.dept_id,
    d.consignee_code AS ent_code,
    'orange' AS colour,
    NULL AS metric,
    NULL AS amount,
    json_object('decl_no', s.decl_no, 'started_on', s.started_on, 'location', 'outside',
                'trader_request', s.trader_request) AS evidence,
    s.started_on AS first_due,
    '' AS period
FROM started AS s
LEFT JOIN stg_officers AS o ON o.officer_id = s.lead_officer
LEFT JOIN lookup_declarations((SELECT list(decl_no) FROM started)) AS d ON d.decl_no = s.decl_no

/* ---
kind: keyed
tags: [rules, inspection]
rule:
  id: B09
  name_zh: 查验相符后发现问题
  name_en: Inspection said match but a later audit or case found a discrepancy
  category: b
  area: inspection
  object_type: declarations
  detects: a declaration whose inspection said match, on which a case was later filed or an audit later found a discrepancy
  grading: red
  basis: 海关法 72
  method: >
    A case filed on the declaration counts from its filing day; an audit of
    the declaration counts from the day it concluded with the finding
    discrepancy. Only findings on or after the day the matching inspection
    finished count, up to the as-of date; the first such finding dates the
    warning. The officer is the matching inspection's lead officer.
tests:
  - unique: [object_key]
scope: |
  -- Only a declaration with a matching inspection has a row: one whose
  -- inspections changed (in the new or replaced version: one no longer
  -- matching loses its row); and one with a matching inspection whose cases,
  -- audits or own record (consignee) changed, whose inspection's lead officer
  -- changed (department), or with a case filed or an audit concluded since
  -- the last build: a finding counts from its day, up to the as-of date.
  SELECT decl_no FROM changed.inspections
  UNION ALL
  SELECT decl_no FROM stg_inspections
  WHERE result = 'match'
    AND (json_extract_string(officers, '$[0]') IN (SELECT officer_id FROM changed.officers)
         OR decl_no IN (SELECT decl_no FROM changed.cases)
         OR decl_no IN (SELECT decl_no FROM changed.audits)
         OR decl_no IN (SELECT decl_no FROM changed.declarations)
         OR decl_no IN (SELECT decl_no FROM stg_cases WHERE filed_on >= getvariable('changed_since'))
         OR decl_no IN (SELECT decl_no FROM stg_audits WHERE concluded_on >= getvariable('changed_since')))
--- */
WITH matched AS (
    -- The last inspection of each declaration that said match.
    SELECT
        i.decl_no, i.inspection_id, CAST(i.finished_at AS DATE) AS finished_on,
        json_extract_string(i.officers, '$[0]') AS lead_officer
    FROM stg_inspections AS i
    WHERE i.result = 'match' AND i.decl_no IS NOT NULL
      AND i.decl_no IN (SELECT key FROM scope)
    QUALIFY row_number() OVER (PARTITION BY i.decl_no ORDER BY i.finished_at DESC NULLS LAST, i.inspection_id) = 1
),
findings AS (
    SELECT k.decl_no, 'case' AS source, k.case_no AS source_id, k.filed_on AS found_on, k.ent_code
    FROM stg_cases AS k
    WHERE k.decl_no IS NOT NULL AND k.filed_on IS NOT NULL
      AND k.decl_no IN (SELECT key FROM scope)
    UNION ALL
    SELECT a.decl_no, 'audit', a.audit_id, a.concluded_on, a.ent_code
    FROM stg_audits AS a
    WHERE a.decl_no IS NOT NULL AND a.finding = 'discrepancy' AND a.concluded_on IS NOT NULL
      AND a.decl_no IN (SELECT key FROM scope)
),
first_finding AS (
    SELECT m.decl_no, m.inspection_id, m.finished_on, m.lead_officer, f.source, f.source_id, f.found_on, f.ent_code
    FROM matched AS m
    JOIN findings AS f ON f.decl_no = m.decl_no
    WHERE f.found_on <= getvariable('as_of')
      AND (m.finished_on IS NULL OR f.found_on >= m.finished_on)
    QUALIFY row_number() OVER (PARTITION BY m.decl_no ORDER BY f.found_on, f.source, f.source_id) = 1
)
SELECT
    '1' AS rule_version,
    f.decl_no AS object_key,
    f.lead_officer AS officer_id,
    o.dept_id,
    coalesce(d.consignee_code, f.ent_code) AS ent_code,
    'red' AS colour,
    NULL AS metric,
    NULL AS amount,
    json_object('inspection_id', f.inspection_id, 'inspection_finished_on', f.finished_on,
                'found_by', f.source, 'found_in', f.source_id, 'found_on', f.found_on) AS evidence,
    f.found_on AS first_due,
    '' AS period
FROM first_finding AS f
LEFT JOIN stg_officers AS o ON o.officer_id = f.lead_officer
LEFT JOIN lookup_declarations((SELECT list(decl_no) FROM first_finding)) AS d ON d.decl_no = f.decl_no

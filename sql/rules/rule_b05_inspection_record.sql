/* ---
kind: keyed
tags: [rules, inspection]
rule:
  id: B05
  name_zh: 查验记录不规范
  name_en: Inspection record with too few officers or unsigned
  category: b
  area: inspection
  object_type: inspections
  detects: a finished inspection recorded with fewer than 2 officers, or whose record is not signed
  grading: orange
  basis: 署令 138 art 3
  method: >
    A finished inspection is checked once: the officers listed on it are
    counted (none listed counts as none), and a record_signed that is false
    or missing counts as unsigned. The lead officer (first listed) answers.
params: [b05_min_officers]
parameters:
  - name: b05_min_officers
    default: 2
    unit: officers
    rules: [B05]
    description: an inspection is carried out and recorded by at least this many officers
tests:
  - unique: [object_key]
scope: |
  -- An inspection finished since the last build is evaluated the first time;
  -- a changed inspection (finish, officers, signature), or one whose
  -- declaration (consignee) or lead officer (department) changed, again.
  SELECT inspection_id FROM stg_inspections WHERE finished_at >= getvariable('changed_since')
  UNION ALL SELECT inspection_id FROM changed.inspections
  UNION ALL SELECT inspection_id FROM stg_inspections WHERE decl_no IN (SELECT decl_no FROM changed.declarations)
  UNION ALL SELECT inspection_id FROM stg_inspections
  WHERE json_extract_string(officers, '$[0]') IN (SELECT officer_id FROM changed.officers)
--- */
WITH finished AS (
    SELECT
        i.inspection_id, i.decl_no, CAST(i.finished_at AS DATE) AS finished_on,
        coalesce(json_array_length(i.officers), 0) AS n_officers,
        json_extract_string(i.officers, '$[0]') AS lead_officer,
        i.record_signed,
        coalesce(i.record_signed, false) AS signed
    FROM stg_inspections AS i
    WHERE i.finished_at IS NOT NULL
      AND i.finished_at < getvariable('as_of_end')
      AND i.inspection_id IN (SELECT key FROM scope)
)
SELECT
    '1' AS rule_version,
    f.inspection_id AS object_key,
    f.lead_officer AS officer_id,
    o.dept_id,
    d.consignee_code AS ent_code,
    'orange' AS colour,
    f.n_officers AS metric,
    NULL AS amount,
    json_object('decl_no', f.decl_no, 'finished_on', f.finished_on, 'officers', f.n_officers,
                'record_signed', f.record_signed) AS evidence,
    f.finished_on AS first_due,
    '' AS period
FROM finished AS f
LEFT JOIN stg_officers AS o ON o.officer_id = f.lead_officer
LEFT JOIN lookup_declarations((SELECT list(decl_no) FROM finished)) AS d ON d.decl_no = f.decl_no
WHERE f.n_officers < getvariable('b05_min_officers') OR NOT f.signed

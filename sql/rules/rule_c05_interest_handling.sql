/* ---
kind: keyed
tags: [rules, integrity]
rule:
  id: C05
  name_zh: 经办申报利害关系企业业务未回避
  name_en: Officer handles an enterprise named in the officer's interest declaration
  category: c
  area: clearance
  object_type: pair
  detects: >
    an officer reviews, inspects or releases a declaration whose consignee or
    declaring broker the officer named in an interest declaration, instead of recusing
  grading: red
  basis: 公务员法 74, 76; 海关法 81
  method: >
    A handling is a manual_review, inspection or release step of
    declaration_events done by the officer, or membership of an inspection's
    team (dated by the inspection's start). It counts once the interest was
    declared (declared_on on or before the handling day). One warning per
    officer|enterprise pair, due from the first such handling; the evidence
    names that handling and counts all of them up to the as-of date.
tests:
  - unique: [object_key]
scope: |
  -- Only a declared pair can warn. A pair is judged again when its interest
  -- declaration changed (the replaced version names the pair it was); when
  -- its officer has a handling that changed (a review, inspection or
  -- release step, or an inspection's team, either version), or one dated
  -- after the last build (had it landed earlier, the as-of date now admits
  -- it), or when the officer changed (department); or when a declaration of
  -- its enterprise changed (consignee or broker, either version).
  SELECT officer_id || '|' || ent_code FROM changed.interest_declarations
  UNION ALL
  SELECT x.officer_id || '|' || x.ent_code
  FROM stg_interest_declarations AS x
  WHERE x.officer_id IN (
          SELECT officer_id FROM changed.declaration_events WHERE step IN ('manual_review', 'inspection', 'release')
          UNION ALL SELECT unnest(json_extract_string(officers, '$[*]')) FROM changed.inspections
          UNION ALL SELECT officer_id FROM changed.officers
          UNION ALL SELECT officer_id FROM stg_declaration_events
              WHERE step IN ('manual_review', 'inspection', 'release')
                AND occurred_at >= CAST(getvariable('changed_since') AS TIMESTAMPTZ)
          UNION ALL SELECT unnest(json_extract_string(officers, '$[*]')) FROM stg_inspections
              WHERE started_at >= CAST(getvariable('changed_since') AS TIMESTAMPTZ))
     OR x.ent_code IN (
          SELECT consignee_code FROM changed.declarations
          UNION ALL SELECT declarant_code FROM changed.declarations)
--- */
WITH handlings AS (
    -- Every step in which an officer acted on a declaration, up to the as-of date.
    SELECT e.officer_id, e.decl_no, e.step, e.occurred_at AS handled_at
    FROM stg_declaration_events AS e
    WHERE e.step IN ('manual_review', 'inspection', 'release')
      AND e.officer_id IS NOT NULL
      AND e.occurred_at < getvariable('as_of_end')
      AND e.officer_id IN (SELECT split_part(key, '|', 1) FROM scope)
    UNION ALL
    SELECT t.officer_id, i.decl_no, 'inspection_team' AS step, i.started_at AS handled_at
    FROM stg_inspections AS i,
         unnest(json_extract_string(i.officers, '$[*]')) AS t(officer_id)
    WHERE i.started_at < getvariable('as_of_end')
      AND t.officer_id IN (SELECT split_part(key, '|', 1) FROM scope)
),
tied AS (
    -- A handling counts for each enterprise of the declaration the officer declared an interest in.
    SELECT h.*, ent.ent_code, x.relation, x.declared_on
    FROM handlings AS h
    JOIN stg_declarations AS d ON d.decl_no = h.decl_no
    CROSS JOIN LATERAL (SELECT unnest([d.consignee_code, d.declarant_code]) AS ent_code) AS ent
    JOIN stg_interest_declarations AS x
      ON x.officer_id = h.officer_id AND x.ent_code = ent.ent_code
    WHERE x.declared_on <= CAST(h.handled_at AS DATE)
      AND x.officer_id || '|' || x.ent_code IN (SELECT key FROM scope)
),
pairs AS (
    SELECT
        officer_id, ent_code,
        arg_min(decl_no, handled_at) AS first_decl_no,
        arg_min(step, handled_at) AS first_step,
        min(handled_at) AS first_handled_at,
        count(DISTINCT decl_no) AS declarations,
        any_value(relation) AS relation,
        any_value(declared_on) AS declared_on
    FROM tied
    GROUP BY officer_id, ent_code
)
SELECT
    '1' AS rule_version,
    p.officer_id || '|' || p.ent_code AS object_key,
    p.officer_id,
    o.dept_id,
    p.ent_code,
    'red' AS colour,
    p.declarations AS metric,
    NULL AS amount,
    json_object('relation', p.relation, 'declared_on', p.declared_on, 'first_decl_no', p.first_decl_no,
                'first_step', p.first_step, 'first_handled_at', p.first_handled_at,
                'declarations_handled', p.declarations) AS evidence,
    CAST(p.first_handled_at AS DATE) AS first_due,
    '' AS period
FROM pairs AS p
LEFT JOIN stg_officers AS o ON o.officer_id = p.officer_id

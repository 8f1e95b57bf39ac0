/* ---
kind: keyed
tags: [rules, clearance]
rule:
  id: B02
  name_zh: 缺证担保放行
  name_en: Released against a guarantee with a required licence missing
  category: b
  area: release
  object_type: declarations
  detects: goods released against a guarantee although a licence the goods require was missing
  grading: red
  basis: 担保条例 4
  method: >
    A released declaration whose guarantee_no names a guarantee that says
    licence_missing as it stood at the release: the guarantee's latest version
    recorded at or before released_at, or its current version where none was
    recorded by then (a licence supplied after the release does not clear the
    breach). The warning is due on the release day; the officer is the one
    who took the first release step. The amount is the guarantee's.
tests:
  - unique: [object_key]
scope: |
  -- A declaration released since the last build is evaluated the first time;
  -- a changed declaration (release, guarantee, consignee), one whose guarantee
  -- changed (a new version, a correction of its history, amount, officer), whose
  -- events (the releaser) changed, or whose releaser's record (department)
  -- changed, again.
  SELECT decl_no FROM stg_declarations WHERE released_at >= getvariable('changed_since')
  UNION ALL SELECT decl_no FROM changed.declarations
  UNION ALL SELECT decl_no FROM stg_declarations WHERE guarantee_no IN (SELECT guarantee_no FROM changed.guarantees)
  -- (an event's tombstone names no declaration; the version it replaced does)
  UNION ALL SELECT decl_no FROM changed.declaration_events WHERE decl_no IS NOT NULL
  UNION ALL SELECT decl_no FROM int_declaration_handlers WHERE releaser_id IN (SELECT officer_id FROM changed.officers)
--- */
WITH released AS (
    SELECT d.decl_no, d.consignee_code, d.guarantee_no, d.released_at, CAST(d.released_at AS DATE) AS released_on
    FROM lookup_declarations((SELECT list(key) FROM scope)) AS d
    WHERE d.released_at IS NOT NULL
      AND d.released_at < getvariable('as_of_end')
      AND d.guarantee_no IS NOT NULL
),
at_release AS (
    -- The guarantee as it stood when the goods were released.
    SELECT r.decl_no, g.licence_missing, g.deleted
    FROM released AS r
    JOIN raw.guarantees AS g ON g.guarantee_no = r.guarantee_no AND g.updated_at <= r.released_at
    QUALIFY row_number() OVER (PARTITION BY r.decl_no ORDER BY g.updated_at DESC) = 1
),
guaranteed AS (
    SELECT
        r.*,
        g.amount,
        g.officer_id AS guarantee_officer_id,
        CASE WHEN a.decl_no IS NOT NULL THEN a.licence_missing AND NOT a.deleted ELSE g.licence_missing END AS licence_missing
    FROM released AS r
    LEFT JOIN at_release AS a ON a.decl_no = r.decl_no
    LEFT JOIN stg_guarantees AS g ON g.guarantee_no = r.guarantee_no
)
SELECT
    '1' AS rule_version,
    g.decl_no AS object_key,
    h.releaser_id AS officer_id,
    coalesce(h.releaser_dept_id, o.dept_id) AS dept_id,
    g.consignee_code AS ent_code,
    'red' AS colour,
    1 AS metric,
    g.amount,
    json_object('released_on', g.released_on, 'guarantee_no', g.guarantee_no, 'guarantee_amount', g.amount,
                'guarantee_officer_id', g.guarantee_officer_id) AS evidence,
    g.released_on AS first_due,
    '' AS period
FROM guaranteed AS g
LEFT JOIN int_declaration_handlers AS h ON h.decl_no = g.decl_no
LEFT JOIN stg_officers AS o ON o.officer_id = h.releaser_id
WHERE coalesce(g.licence_missing, false)

/* ---
kind: keyed
tags: [rules, clearance]
rule:
  id: B04
  name_zh: 放行后修改致税款减少
  name_en: Post-release change that lowers the tax
  category: b
  area: modification
  object_type: modification_requests
  detects: an approved change after release (value, HS code, quantity, origin, exemption) that lowers the tax
  grading: by M1/M2 on the tax lost; at least orange when the officer approved 3 or more in the quarter
  basis: 海关法 26
  method: >
    A hit is an approved modification decided after the declaration's
    released_at with a negative tax_delta; the tax lost is −tax_delta. Each hit
    stays one warning about its request (period ''); the officer's count of
    hits decided in the same quarter, up to the as-of date, only raises a
    yellow to orange once it reaches the repeat count.
params: [m1, m2, b04_repeat_count]
parameters:
  - name: b04_repeat_count
    default: 3
    unit: changes per officer per quarter
    rules: [B04]
    description: from this many post-release tax cuts approved by one officer in a quarter, each is at least orange
tests:
  - unique: [object_key]
scope: |
  -- A request decided since the last build is evaluated the first time; a
  -- changed request, or one whose declaration (release, consignee) or officer
  -- (department) changed, again. A cut counts toward its officer's quarter, so
  -- every request of the same officer and quarter as one of those (the new
  -- and the replaced version of a changed request both) is evaluated again.
  WITH touched AS (
      SELECT request_id, officer_id, decided_at FROM changed.modification_requests
      UNION ALL SELECT request_id, officer_id, decided_at FROM stg_modification_requests
      WHERE decided_at >= getvariable('changed_since')
         OR decl_no IN (SELECT decl_no FROM changed.declarations)
  ),
  officer_quarters AS (
      SELECT DISTINCT officer_id, date_trunc('quarter', CAST(decided_at AS DATE)) AS quarter
      FROM touched
      WHERE officer_id IS NOT NULL
  )
  SELECT request_id FROM touched
  UNION ALL SELECT request_id FROM stg_modification_requests WHERE officer_id IN (SELECT officer_id FROM changed.officers)
  UNION ALL SELECT r.request_id FROM stg_modification_requests AS r
  JOIN officer_quarters AS q
    ON q.officer_id = r.officer_id AND q.quarter = date_trunc('quarter', CAST(r.decided_at AS DATE))
--- */
WITH scoped_officers AS (
    -- The officers of the scope's requests: their counts need all their cuts.
    SELECT DISTINCT officer_id
    FROM stg_modification_requests
    WHERE request_id IN (SELECT key FROM scope) AND officer_id IS NOT NULL
),
cuts AS (
    -- The scope's cuts, and the other cuts of their officers that they are counted with.
    SELECT
        r.request_id, r.decl_no, r.officer_id, r.requested_at, r.decided_at, r.ground_code, r.changes,
        -r.tax_delta AS tax_lost,
        d.released_at, d.consignee_code,
        q.quarter_label
    FROM stg_modification_requests AS r
    JOIN stg_declarations AS d ON d.decl_no = r.decl_no
    JOIN dim_date AS q ON q.date = CAST(r.decided_at AS DATE)
    WHERE r.decision = 'approved'
      AND r.tax_delta < 0
      AND r.decided_at < getvariable('as_of_end')
      AND r.decided_at > d.released_at
      AND (r.request_id IN (SELECT key FROM scope) OR r.officer_id IN (SELECT officer_id FROM scoped_officers))
),
counted AS (
    SELECT
        c.*,
        CASE WHEN c.officer_id IS NULL THEN 1
             ELSE count(*) OVER (PARTITION BY c.officer_id, c.quarter_label) END AS officer_quarter_count
    FROM cuts AS c
)
SELECT
    '1' AS rule_version,
    c.request_id AS object_key,
    c.officer_id,
    o.dept_id,
    c.consignee_code AS ent_code,
    CASE
        WHEN c.tax_lost >= getvariable('m2') THEN 'red'
        WHEN c.tax_lost >= getvariable('m1') THEN 'orange'
        WHEN c.officer_quarter_count >= getvariable('b04_repeat_count') THEN 'orange'
        ELSE 'yellow'
    END AS colour,
    c.tax_lost AS metric,
    c.tax_lost AS amount,
    json_object('decl_no', c.decl_no, 'released_at', c.released_at, 'requested_at', c.requested_at,
                'decided_at', c.decided_at, 'ground_code', c.ground_code, 'changes', c.changes, 'tax_lost', c.tax_lost,
                'quarter', c.quarter_label, 'officer_quarter_count', c.officer_quarter_count) AS evidence,
    CAST(c.decided_at AS DATE) AS first_due,
    '' AS period
FROM counted AS c
LEFT JOIN stg_officers AS o ON o.officer_id = c.officer_id
WHERE c.request_id IN (SELECT key FROM scope)

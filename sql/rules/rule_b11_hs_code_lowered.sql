/* ---
kind: keyed
tags: [rules, tax]
rule:
  id: B11
  name_zh: 无依据改归低税率商品编码
  name_en: HS code changed to a lower duty rate without a ground code
  category: b
  area: tariff
  object_type: modification_requests
  detects: an approved change of an HS code to a line with a lower duty rate, with no ground code on the request
  grading: by M1/M2 on the tax lost
  basis: 海关法 26
  method: >
    The request's changes array must change hs_code; the duty rate is lower when
    the array's duty_rate entry has after < before, or, where the array carries
    no duty_rate, when tax_delta is negative. The tax lost is −tax_delta (0 if
    not negative). A ground code that is null or blank counts as none. Dated by
    the decision.
params: [m1, m2]
tests:
  - unique: [object_key]
scope: |
  -- A changed request; and an approved one whose declaration (consignee) or
  -- officer (department) changed, or that was decided since the last build: a
  -- decision counts up to the end of the as-of day.
  SELECT request_id FROM changed.modification_requests
  UNION ALL
  SELECT request_id FROM stg_modification_requests
  WHERE decision = 'approved'
    AND (decided_at >= getvariable('changed_since')
         OR decl_no IN (SELECT decl_no FROM changed.declarations)
         OR officer_id IN (SELECT officer_id FROM changed.officers))
--- */
WITH change_rows AS (
    SELECT r.request_id, c.field, c.before, c.after
    FROM stg_modification_requests AS r,
         unnest(from_json(r.changes, '[{"field":"VARCHAR","before":"VARCHAR","after":"VARCHAR"}]')) AS u(c)
    WHERE r.decision = 'approved'
      AND r.request_id IN (SELECT key FROM scope)
),
per_request AS (
    SELECT
        request_id,
        bool_or(field = 'hs_code' AND before IS DISTINCT FROM after) AS code_changed,
        max(CASE WHEN field = 'hs_code' THEN before END) AS code_before,
        max(CASE WHEN field = 'hs_code' THEN after END) AS code_after,
        max(CASE WHEN field = 'duty_rate' THEN TRY_CAST(before AS DECIMAL(18,6)) END) AS rate_before,
        max(CASE WHEN field = 'duty_rate' THEN TRY_CAST(after AS DECIMAL(18,6)) END) AS rate_after,
        bool_or(field = 'duty_rate') AS rate_listed
    FROM change_rows
    GROUP BY request_id
),
hits AS (
    SELECT
        r.request_id, r.decl_no, r.officer_id, r.requested_at, r.decided_at, r.tax_delta,
        p.code_before, p.code_after, p.rate_before, p.rate_after,
        greatest(-coalesce(r.tax_delta, 0), 0) AS tax_lost
    FROM stg_modification_requests AS r
    JOIN per_request AS p ON p.request_id = r.request_id
    WHERE p.code_changed
      AND r.request_id IN (SELECT key FROM scope)
      AND r.decided_at < getvariable('as_of_end')
      AND nullif(trim(r.ground_code), '') IS NULL
      AND CASE WHEN p.rate_listed THEN p.rate_after < p.rate_before ELSE r.tax_delta < 0 END
)
SELECT
    '1' AS rule_version,
    h.request_id AS object_key,
    h.officer_id,
    o.dept_id,
    d.consignee_code AS ent_code,
    CASE
        WHEN h.tax_lost < getvariable('m1') THEN 'yellow'
        WHEN h.tax_lost < getvariable('m2') THEN 'orange'
        ELSE 'red'
    END AS colour,
    h.tax_lost AS metric,
    h.tax_lost AS amount,
    json_object('decl_no', h.decl_no, 'decided_at', h.decided_at, 'hs_code_before', h.code_before,
                'hs_code_after', h.code_after, 'duty_rate_before', h.rate_before, 'duty_rate_after', h.rate_after,
                'tax_delta', h.tax_delta) AS evidence,
    CAST(h.decided_at AS DATE) AS first_due,
    '' AS period
FROM hits AS h
LEFT JOIN stg_officers AS o ON o.officer_id = h.officer_id
LEFT JOIN lookup_declarations((SELECT list(decl_no) FROM hits)) AS d ON d.decl_no = h.decl_no

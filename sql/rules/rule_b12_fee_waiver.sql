/* ---
kind: keyed
tags: [rules, tax]
rule:
  id: B12
  name_zh: 违规减免滞报金滞纳金
  name_en: Late-declaration fee or late-payment surcharge waived improperly
  category: b
  area: fees
  object_type: declaration_events
  detects: a 滞报金 or 滞纳金 waived or cut without a listed ground, or by the officer who computed it
  grading: by M1/M2 on the amount waived
  basis: 署令 128; 征税管理办法
  method: >
    Every waiver or cut is a fee_waiver step; its detail carries ground_code,
    amount and, for a fee already on a voucher, voucher_no. A ground outside
    the listed grounds (or none) is a hit. The officer who computed a fee is
    the officer of the tariff_review step with outcome fee_assessed whose
    detail names the same voucher; a waiver by that officer is a hit whatever
    its ground. The amount waived is the detail's amount, else what the
    voucher lost (its largest amount in history less its amount now, or all of
    it when written off).
params: [m1, m2, b12_listed_grounds]
parameters:
  - name: b12_listed_grounds
    default: JM01,JM02,JM03,JM04
    unit: comma-separated ground codes
    rules: [B12]
    description: the listed grounds on which a 滞报金 or 滞纳金 may be waived or cut
tests:
  - unique: [object_key]
scope: |
  -- A changed waiver step (the replaced version of a step that is no longer
  -- a waiver, or deleted, is a waiver); and a waiver dated since the last
  -- build (steps count up to the end of the as-of day), or whose declaration
  -- (consignee), officer (department) or voucher changed: the voucher's
  -- amounts and status (what it lost), or the tariff review naming it (who
  -- computed the fee), changed or is dated since the last build.
  SELECT event_id FROM changed.declaration_events WHERE step = 'fee_waiver'
  UNION ALL
  SELECT event_id FROM stg_declaration_events
  WHERE step = 'fee_waiver'
    AND (occurred_at >= getvariable('changed_since')
         OR decl_no IN (SELECT decl_no FROM changed.declarations)
         OR officer_id IN (SELECT officer_id FROM changed.officers)
         OR json_extract_string(detail, '$.voucher_no') IN (
                SELECT voucher_no FROM changed.tax_vouchers
                UNION ALL
                SELECT json_extract_string(detail, '$.voucher_no') FROM changed.declaration_events
                WHERE step = 'tariff_review'
                UNION ALL
                SELECT json_extract_string(detail, '$.voucher_no') FROM stg_declaration_events
                WHERE step = 'tariff_review' AND occurred_at >= getvariable('changed_since')))
--- */
WITH waiver_steps AS (
    SELECT
        event_id, decl_no, officer_id, dept_id, occurred_at, detail,
        json_extract_string(detail, '$.voucher_no') AS voucher_no
    FROM stg_declaration_events
    WHERE step = 'fee_waiver' AND occurred_at < getvariable('as_of_end')
      AND event_id IN (SELECT key FROM scope)
),
computed AS (
    -- who computed the fee on each voucher the waivers name
    SELECT json_extract_string(detail, '$.voucher_no') AS voucher_no, officer_id AS computed_by
    FROM stg_declaration_events
    WHERE step = 'tariff_review' AND outcome = 'fee_assessed' AND occurred_at < getvariable('as_of_end')
      AND json_extract_string(detail, '$.voucher_no') IN (SELECT voucher_no FROM waiver_steps)
    QUALIFY row_number() OVER (PARTITION BY json_extract_string(detail, '$.voucher_no') ORDER BY occurred_at) = 1
),
voucher_loss AS (
    -- what a voucher the waivers name lost to waivers, from its history
    SELECT
        v.voucher_no,
        CASE WHEN v.status = 'written_off' THEN v.amount ELSE h.top_amount - v.amount END AS lost
    FROM lookup_tax_vouchers((SELECT list(voucher_no) FROM waiver_steps)) AS v
    JOIN (SELECT voucher_no, max(amount) AS top_amount FROM raw.tax_vouchers
          WHERE updated_at < getvariable('as_of_end')
            AND voucher_no IN (SELECT voucher_no FROM waiver_steps)
          GROUP BY voucher_no) AS h ON h.voucher_no = v.voucher_no
    WHERE v.voucher_no IN (SELECT voucher_no FROM waiver_steps)
),
waivers AS (
    SELECT
        s.event_id, s.decl_no, s.officer_id, s.dept_id, s.occurred_at, s.voucher_no,
        nullif(trim(json_extract_string(s.detail, '$.ground_code')), '') AS ground_code,
        coalesce(TRY_CAST(json_extract_string(s.detail, '$.amount') AS DECIMAL(18,2)), l.lost) AS waived,
        c.computed_by
    FROM waiver_steps AS s
    LEFT JOIN computed AS c ON c.voucher_no = s.voucher_no
    LEFT JOIN voucher_loss AS l ON l.voucher_no = s.voucher_no
),
hits AS (
    SELECT
        w.*,
        w.ground_code IS NULL
            OR NOT list_contains(string_split(getvariable('b12_listed_grounds'), ','), w.ground_code) AS unlisted,
        w.computed_by IS NOT NULL AND w.computed_by = w.officer_id AS by_computer
    FROM waivers AS w
)
SELECT
    '1' AS rule_version,
    h.event_id AS object_key,
    h.officer_id,
    coalesce(h.dept_id, o.dept_id) AS dept_id,
    d.consignee_code AS ent_code,
    CASE
        WHEN coalesce(h.waived, 0) < getvariable('m1') THEN 'yellow'
        WHEN h.waived < getvariable('m2') THEN 'orange'
        ELSE 'red'
    END AS colour,
    h.waived AS metric,
    h.waived AS amount,
    json_object('decl_no', h.decl_no, 'voucher_no', h.voucher_no, 'occurred_at', h.occurred_at, 'ground_code', h.ground_code,
                'ground_listed', NOT h.unlisted, 'computed_by', h.computed_by, 'waived_by_computer', h.by_computer,
                'amount_waived', h.waived) AS evidence,
    CAST(h.occurred_at AS DATE) AS first_due,
    '' AS period
FROM hits AS h
LEFT JOIN stg_officers AS o ON o.officer_id = h.officer_id
LEFT JOIN lookup_declarations((SELECT list(decl_no) FROM hits)) AS d ON d.decl_no = h.decl_no
WHERE h.unlisted OR h.by_computer

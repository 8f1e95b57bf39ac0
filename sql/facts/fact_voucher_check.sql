/* ---
kind: keyed
publish: true
tags: [facts, tax]
description: >
  Module V, the voucher cross-check (缴款书稽核): one row per voucher_checks
  submission with its outcome as of the as-of date — match (相符), mismatch
  (不符), duplicate (重号), retained (滞留) or missing (缺联) — the reason, and
  the end of the 180-CD window a mismatch or a missing voucher opens for the
  taxpayer to ask for a check. The customs side is the VAT vouchers recorded
  as paid; a submission is compared again every day, so a retained one
  matches once customs records the payment, and turns missing when its
  retention window ends first. Duplicate outranks the field comparison: every
  submission of a number that two or more taxpayers submitted is a duplicate.
  The retention window ends with the v_retention_months-th month after the
  issue month (v_retention_corrected_months where the submission follows a
  data correction: the tax authority relayed an earlier version of the same
  check_id with another voucher number, taxpayer, issue date or amount).
  officer_id is the officer who last received a verification request
  (voucher_inquiries) about the number; dept_id is that officer's
  department, else the subordinate customs whose code opens the customs
  voucher's declaration number (or, with no customs voucher, the submitted
  number, as customs numbers do); ent_code is the enterprise whose USCC the
  submission names.
params: [v_retention_months, v_retention_corrected_months, v_check_window_cd]
parameters:
  - name: v_retention_months
    default: 2
    unit: months
    rules: [V]
    description: a submission with no customs voucher is retained until the end of this many months after the issue month, then missing
  - name: v_retention_corrected_months
    default: 6
    unit: months
    rules: [V]
    description: the retention window, in months after the issue month, of a submission that follows a data correction
  - name: v_check_window_cd
    default: 180
    unit: calendar days
    rules: [V]
    description: a mismatch or a missing voucher opens a window of this many days for the taxpayer to ask for a check
unique_key: check_id
tests:
  - unique: [check_id]
  - not_null: [check_id, outcome]
  - accepted_values: {column: outcome, values: [match, mismatch, duplicate, retained, missing]}
  - expression: (window_end IS NOT NULL) = (outcome IN ('mismatch', 'missing'))
scope: |
  -- Time: a submission made after the last build's day comes within the
  -- as-of date; one with no paid customs VAT voucher turns from retained to
  -- missing the day after its retention window (the longer one bounds it,
  -- correction or not).
  SELECT check_id FROM stg_voucher_checks WHERE submitted_on >= getvariable('changed_since')
  UNION ALL SELECT c.check_id FROM stg_voucher_checks AS c
  WHERE CAST(last_day(c.issued_on + INTERVAL (greatest(getvariable('v_retention_months'), getvariable('v_retention_corrected_months'))) MONTH) AS DATE) + 1
        >= getvariable('changed_since')
    AND NOT EXISTS (SELECT 1 FROM stg_tax_vouchers AS v WHERE v.voucher_no = c.voucher_no AND v.tax_type = 'vat' AND v.status = 'paid')
  -- A changed submission (a new version may follow a correction; a late
  -- older version, which the correction test reads, is changed too), and every
  -- submission of its number, old or new, or of a number newly submitted
  -- (duplicates).
  UNION ALL SELECT check_id FROM changed.voucher_checks
  UNION ALL SELECT check_id FROM stg_voucher_checks WHERE voucher_no IN (SELECT voucher_no FROM changed.voucher_checks)
  UNION ALL SELECT check_id FROM stg_voucher_checks
  WHERE voucher_no IN (SELECT voucher_no FROM stg_voucher_checks WHERE submitted_on >= getvariable('changed_since'))
  -- The customs voucher of the number (paid, fields compared, declaration).
  UNION ALL SELECT check_id FROM stg_voucher_checks WHERE voucher_no IN (SELECT voucher_no FROM changed.tax_vouchers)
  -- The taxpayer's enterprise (ent_code): one that took or left the USCC
  -- (diff.enterprises: a new credit class changes no row).
  UNION ALL SELECT check_id FROM stg_voucher_checks WHERE taxpayer_uscc IN (SELECT c.uscc FROM changed.enterprises AS c JOIN diff.enterprises AS d USING (ent_code) WHERE d.uscc)
  -- The latest inquiry about the number: changed, newly received, or its
  -- officer's department changed.
  UNION ALL SELECT check_id FROM stg_voucher_checks WHERE voucher_no IN (SELECT voucher_no FROM changed.voucher_inquiries)
  UNION ALL SELECT check_id FROM stg_voucher_checks
  WHERE voucher_no IN (SELECT voucher_no FROM stg_voucher_inquiries
                       WHERE received_on >= getvariable('changed_since')
                          OR officer_id IN (SELECT officer_id FROM changed.officers))
  -- The subordinate customs the declaration or voucher number names.
  UNION ALL SELECT check_id FROM stg_voucher_checks WHERE left(voucher_no, 4) IN (SELECT customs_code FROM changed.departments)
  UNION ALL SELECT check_id FROM stg_voucher_checks
  WHERE voucher_no IN (SELECT voucher_no FROM stg_tax_vouchers WHERE left(decl_no, 4) IN (SELECT customs_code FROM changed.departments))
--- */
WITH checks AS (
    SELECT c.check_id, c.voucher_no, c.taxpayer_uscc, c.issued_on, c.amount, c.tax_period, c.submitted_on
    FROM stg_voucher_checks AS c
    WHERE c.submitted_on <= getvariable('as_of')
      AND c.check_id IN (SELECT key FROM scope)
),
-- A correction is an earlier relayed version of the same submission whose
-- compared fields differ from the current one.
corrected AS (
    SELECT DISTINCT c.check_id
    FROM checks AS c
    JOIN raw.voucher_checks AS r ON r.check_id = c.check_id
    WHERE r.updated_at < getvariable('as_of_end')
      AND r.check_id IN (SELECT key FROM scope)
      AND NOT r.deleted
      AND (r.voucher_no IS DISTINCT FROM c.voucher_no
           OR r.taxpayer_uscc IS DISTINCT FROM c.taxpayer_uscc
           OR r.issued_on IS DISTINCT FROM c.issued_on
           OR r.amount IS DISTINCT FROM c.amount)
),
-- Numbers submitted by two or more taxpayers, with who and since when:
-- the duplicate starts when the second taxpayer's first submission arrives.
-- Every submission of the numbers in scope counts, in scope or not.
shared_numbers AS (
    SELECT
        voucher_no,
        string_agg(taxpayer_uscc, ', ' ORDER BY taxpayer_uscc) AS taxpayers,
        list_sort(list(first_on))[2] AS duplicate_on
    FROM (
        SELECT voucher_no, taxpayer_uscc, min(submitted_on) AS first_on
        FROM stg_voucher_checks
        WHERE submitted_on <= getvariable('as_of')
          AND voucher_no IN (SELECT voucher_no FROM checks)
        GROUP BY voucher_no, taxpayer_uscc
    )
    GROUP BY voucher_no
    HAVING count(*) >= 2
),
customs AS (
    SELECT v.voucher_no, v.decl_no, v.taxpayer_uscc, v.amount, v.issued_on, v.paid_on
    FROM lookup_tax_vouchers((SELECT list(voucher_no) FROM checks)) AS v
    WHERE v.tax_type = 'vat' AND v.status = 'paid'
),
-- One enterprise per USCC, should the register ever repeat one.
taxpayers AS (
    SELECT uscc, min(ent_code) AS ent_code
    FROM stg_enterprises
    GROUP BY uscc
),
customs_offices AS (
    SELECT customs_code, min(dept_id) AS dept_id
    FROM stg_departments
    WHERE level = 'subordinate_customs'
    GROUP BY customs_code
),
latest_inquiry AS (
    SELECT voucher_no, officer_id
    FROM stg_voucher_inquiries
    WHERE received_on <= getvariable('as_of')
    QUALIFY row_number() OVER (PARTITION BY voucher_no ORDER BY received_on DESC, inquiry_id DESC) = 1
),
compared AS (
    SELECT
        c.*,
        s.taxpayers AS shared_by,
        s.duplicate_on,
        v.voucher_no IS NOT NULL AS on_customs_side,
        v.decl_no,
        concat_ws(', ',
            CASE WHEN v.taxpayer_uscc IS DISTINCT FROM c.taxpayer_uscc THEN 'taxpayer_uscc' END,
            CASE WHEN v.amount IS DISTINCT FROM c.amount THEN 'amount' END,
            CASE WHEN v.issued_on IS DISTINCT FROM c.issued_on THEN 'issued_on' END) AS differing,
        v.taxpayer_uscc AS customs_taxpayer,
        v.amount AS customs_amount,
        v.issued_on AS customs_issued_on,
        v.paid_on AS customs_paid_on,
        k.check_id IS NOT NULL AS follows_correction,
        CAST(last_day(c.issued_on + INTERVAL (CASE WHEN k.check_id IS NOT NULL
            THEN getvariable('v_retention_corrected_months') ELSE getvariable('v_retention_months') END) MONTH) AS DATE) AS retention_end
    FROM checks AS c
    LEFT JOIN shared_numbers AS s ON s.voucher_no = c.voucher_no
    LEFT JOIN customs AS v ON v.voucher_no = c.voucher_no
    LEFT JOIN corrected AS k ON k.check_id = c.check_id
),
outcomes AS (
    SELECT
        *,
        CASE
            WHEN shared_by IS NOT NULL THEN 'duplicate'
            WHEN on_customs_side AND differing = '' THEN 'match'
            WHEN on_customs_side THEN 'mismatch'
            WHEN retention_end >= getvariable('as_of') THEN 'retained'
            ELSE 'missing'
        END AS outcome
    FROM compared
),
dated AS (
    SELECT
        *,
        -- The day the outcome first held: a comparison is made when both
        -- sides are there; missing starts the day after the window.
        CASE outcome
            WHEN 'duplicate' THEN duplicate_on
            WHEN 'missing' THEN retention_end + 1
            WHEN 'retained' THEN submitted_on
            ELSE greatest(submitted_on, customs_paid_on)
        END AS outcome_on
    FROM outcomes
)
SELECT
    d.check_id,
    d.voucher_no,
    d.taxpayer_uscc,
    d.outcome,
    CASE d.outcome
        WHEN 'duplicate' THEN 'taxpayers sharing the number: ' || d.shared_by
        WHEN 'mismatch' THEN 'differs from the customs voucher in: ' || d.differing
        WHEN 'match' THEN 'taxpayer, amount and issue date agree with the customs voucher'
        WHEN 'retained' THEN 'no paid customs VAT voucher yet; retained until ' || strftime(d.retention_end, '%Y-%m-%d')
        ELSE 'no paid customs VAT voucher when the retention window ended ' || strftime(d.retention_end, '%Y-%m-%d')
    END || CASE WHEN d.follows_correction THEN ' (submission follows a data correction)' ELSE '' END AS reason,
    d.outcome_on,
    CASE WHEN d.outcome IN ('mismatch', 'missing') THEN w.next_workday END AS window_end,
    d.retention_end,
    d.follows_correction,
    d.submitted_on,
    d.issued_on,
    d.amount,
    d.tax_period,
    d.decl_no,
    d.customs_taxpayer,
    d.customs_amount,
    d.customs_issued_on,
    i.officer_id,
    coalesce(o.dept_id, co.dept_id) AS dept_id,
    e.ent_code
FROM dated AS d
LEFT JOIN dim_date AS w ON w.date = d.outcome_on + getvariable('v_check_window_cd')
LEFT JOIN latest_inquiry AS i ON i.voucher_no = d.voucher_no
LEFT JOIN stg_officers AS o ON o.officer_id = i.officer_id
LEFT JOIN customs_offices AS co ON co.customs_code = left(coalesce(d.decl_no, d.voucher_no), 4)
LEFT JOIN taxpayers AS e ON e.uscc = d.taxpayer_uscc

/* ---
kind: keyed
tags: [rules, tax]
rule:
  id: A23
  name_zh: 委托核查函超期未复函
  name_en: Tax-authority verification request unanswered
  category: a
  area: tax
  object_type: voucher_inquiries
  detects: a tax-authority verification request (委托核查函) about a voucher not answered within 30 calendar days of receipt
  grading: days since receipt up to 45 yellow, up to 60 orange, more red
  basis: 税总发〔2013〕76号
  method: >
    The limit ends 30 calendar days after receipt (counted from the day after);
    a limit ending on a day off moves to the next working day. A request
    answered after its limit is measured to the answer, an open one to the
    as-of date. ent_code is the taxpayer of the latest cross-check submission
    of the voucher number, else of the customs voucher; amount is the customs
    voucher's.
params: [a23_limit_cd, a23_yellow_max_days, a23_orange_max_days]
parameters:
  - name: a23_limit_cd
    default: 30
    unit: calendar days
    rules: [A23]
    description: a verification request is answered within this many days of receipt
  - name: a23_yellow_max_days
    default: 45
    unit: calendar days
    rules: [A23]
    description: days since receipt up to which a late answer is yellow
  - name: a23_orange_max_days
    default: 60
    unit: calendar days
    rules: [A23]
    description: days since receipt up to which a late answer is orange; red beyond
tests:
  - unique: [object_key]
scope: |
  -- An open request is measured to the as-of date, and a request received
  -- after the last build comes within it; a changed request again, or one
  -- whose officer (department), voucher's submissions (taxpayer), customs
  -- voucher (amount, taxpayer) changed, or an enterprise took or left a
  -- taxpayer's USCC (diff.enterprises: a new credit class changes no row).
  SELECT inquiry_id FROM stg_voucher_inquiries WHERE answered_on IS NULL OR received_on >= getvariable('changed_since')
  UNION ALL SELECT inquiry_id FROM changed.voucher_inquiries
  UNION ALL SELECT inquiry_id FROM stg_voucher_inquiries WHERE officer_id IN (SELECT officer_id FROM changed.officers)
  UNION ALL SELECT inquiry_id FROM stg_voucher_inquiries WHERE voucher_no IN (SELECT voucher_no FROM changed.voucher_checks)
  UNION ALL SELECT inquiry_id FROM stg_voucher_inquiries WHERE voucher_no IN (SELECT voucher_no FROM changed.tax_vouchers)
  UNION ALL SELECT inquiry_id FROM stg_voucher_inquiries
  WHERE voucher_no IN (SELECT voucher_no FROM stg_voucher_checks WHERE taxpayer_uscc IN (SELECT c.uscc FROM changed.enterprises AS c JOIN diff.enterprises AS d USING (ent_code) WHERE d.uscc))
     OR voucher_no IN (SELECT voucher_no FROM stg_tax_vouchers WHERE taxpayer_uscc IN (SELECT c.uscc FROM changed.enterprises AS c JOIN diff.enterprises AS d USING (ent_code) WHERE d.uscc))
--- */
WITH requests AS (
    SELECT
        q.inquiry_id, q.voucher_no, q.received_on, q.answered_on, q.officer_id,
        lim.next_workday AS limit_day,
        coalesce(q.answered_on, getvariable('as_of')) AS measured_to
    FROM stg_voucher_inquiries AS q
    JOIN dim_date AS lim ON lim.date = q.received_on + getvariable('a23_limit_cd')
    WHERE q.received_on <= getvariable('as_of')
      AND q.inquiry_id IN (SELECT key FROM scope)
),
-- The taxpayer a request is about: who last submitted the number for a
-- cross-check.
latest_check AS (
    SELECT voucher_no, taxpayer_uscc
    FROM stg_voucher_checks
    WHERE voucher_no IN (SELECT voucher_no FROM requests)
    QUALIFY row_number() OVER (PARTITION BY voucher_no ORDER BY submitted_on DESC, check_id DESC) = 1
),
taxpayers AS (
    SELECT uscc, min(ent_code) AS ent_code
    FROM stg_enterprises
    GROUP BY uscc
)
SELECT
    '1' AS rule_version,
    r.inquiry_id AS object_key,
    r.officer_id,
    o.dept_id,
    coalesce(ec.ent_code, ev.ent_code) AS ent_code,
    CASE
        WHEN r.measured_to - r.received_on <= getvariable('a23_yellow_max_days') THEN 'yellow'
        WHEN r.measured_to - r.received_on <= getvariable('a23_orange_max_days') THEN 'orange'
        ELSE 'red'
    END AS colour,
    r.measured_to - r.received_on AS metric,
    v.amount,
    json_object('voucher_no', r.voucher_no, 'received_on', r.received_on, 'limit_day', r.limit_day,
                'answered_on', r.answered_on, 'days_since_receipt', r.measured_to - r.received_on) AS evidence,
    r.limit_day + 1 AS first_due,
    '' AS period
FROM requests AS r
LEFT JOIN stg_officers AS o ON o.officer_id = r.officer_id
LEFT JOIN latest_check AS c ON c.voucher_no = r.voucher_no
LEFT JOIN taxpayers AS ec ON ec.uscc = c.taxpayer_uscc
LEFT JOIN stg_tax_vouchers AS v ON v.voucher_no = r.voucher_no
LEFT JOIN taxpayers AS ev ON ev.uscc = v.taxpayer_uscc
WHERE r.measured_to > r.limit_day

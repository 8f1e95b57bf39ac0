/* ---
kind: keyed
tags: [rules, tax]
rule:
  id: A06
  name_zh: 延期缴纳税款超期或无担保
  name_en: Tax deferral too long or without a guarantee
  category: a
  area: tax
  object_type: tax_vouchers
  detects: a tax voucher whose payment is deferred beyond 6 months, or deferred without a guarantee
  grading: orange; red when the deferred tax is above M2
  basis: 进出口关税条例 39; 关税法 43
  method: >
    A deferral is the voucher's deferred_until. It is too long when
    deferred_until is later than the issue date plus 6 months (a month end
    clamps, 31 August + 6 months = 28 February); it lacks a guarantee when
    deferral_guarantee_no is empty. The voucher's current state decides; the
    warning is due from the day of the first version (raw.tax_vouchers) that
    recorded such a deferral. The deferred tax is the voucher amount. dept_id
    is the subordinate customs named by the first four digits of the
    declaration number; tax_vouchers name no officer.
params: [a06_max_months, m2]
parameters:
  - name: a06_max_months
    default: 6
    unit: months
    rules: [A06]
    description: the longest deferral of a tax payment, counted from the voucher's issue date
tests:
  - unique: [object_key]
scope: |
  -- The voucher's current state decides, so it is judged again when it
  -- changed (a tombstone drops its row), or when an older version landed
  -- late: it leaves the state as it was but may record the breach earlier
  -- (first_due), and changed.tax_vouchers holds it. A voucher issued after the last
  -- build's as-of date is admitted only now. And when something else it
  -- reads changed: its declaration (consignee, when the taxpayer is no
  -- enterprise); the departments of its customs code (dept_id); the
  -- enterprise that took or left its taxpayer's USCC (ent_code;
  -- diff.enterprises: a new credit class changes no row).
  -- (The vouchers issued lately are the recent row groups of the state;
  -- those of the declarations are looked up by declaration; a reason with
  -- nothing changed reads nothing.)
  SELECT voucher_no FROM changed.tax_vouchers
  UNION ALL SELECT voucher_no FROM stg_tax_vouchers WHERE issued_on >= getvariable('changed_since')
  UNION ALL SELECT voucher_no FROM lookup_tax_vouchers_by_decl_no((SELECT list(decl_no) FROM changed.declarations))
  UNION ALL SELECT voucher_no FROM stg_tax_vouchers WHERE left(decl_no, 4) IN (SELECT customs_code FROM changed.departments)
  UNION ALL SELECT voucher_no FROM stg_tax_vouchers WHERE taxpayer_uscc IN (SELECT c.uscc FROM changed.enterprises AS c JOIN diff.enterprises AS d USING (ent_code) WHERE d.uscc)
--- */
WITH deferrals AS (
    SELECT
        v.voucher_no, v.decl_no, v.tax_type, v.taxpayer_uscc, v.amount, v.issued_on,
        v.deferred_until, v.deferral_guarantee_no,
        CAST(v.issued_on + INTERVAL (getvariable('a06_max_months')) MONTH AS DATE) AS longest_until
    FROM stg_tax_vouchers AS v
    JOIN scope ON scope.key = v.voucher_no
    WHERE v.deferred_until IS NOT NULL
      AND v.issued_on <= getvariable('as_of')
),
breaches AS (
    SELECT *, deferred_until > longest_until AS too_long, deferral_guarantee_no IS NULL AS unguaranteed
    FROM deferrals
    WHERE deferred_until > longest_until OR deferral_guarantee_no IS NULL
),
-- The first version that recorded a deferral breaking the rule.
since AS (
    SELECT r.voucher_no, min(CAST(r.updated_at AS DATE)) AS first_due
    FROM raw.tax_vouchers AS r
    JOIN breaches AS b ON b.voucher_no = r.voucher_no
    WHERE r.updated_at < getvariable('as_of_end')
      AND r.voucher_no IN (SELECT key FROM scope)
      AND NOT r.deleted
      AND r.deferred_until IS NOT NULL
      AND (r.deferred_until > CAST(r.issued_on + INTERVAL (getvariable('a06_max_months')) MONTH AS DATE)
           OR r.deferral_guarantee_no IS NULL)
    GROUP BY r.voucher_no
),
customs AS (
    SELECT customs_code, min(dept_id) AS dept_id
    FROM stg_departments
    WHERE level = 'subordinate_customs'
    GROUP BY customs_code
),
taxpayers AS (
    SELECT uscc, min(ent_code) AS ent_code
    FROM stg_enterprises
    GROUP BY uscc
)
SELECT
    '1' AS rule_version,
    b.voucher_no AS object_key,
    CAST(NULL AS VARCHAR) AS officer_id,
    c.dept_id,
    coalesce(e.ent_code, d.consignee_code) AS ent_code,
    CASE WHEN b.amount > getvariable('m2') THEN 'red' ELSE 'orange' END AS colour,
    b.deferred_until - b.issued_on AS metric,
    b.amount,
    json_object('decl_no', b.decl_no, 'tax_type', b.tax_type, 'issued_on', b.issued_on, 'deferred_until', b.deferred_until,
                'longest_until', b.longest_until, 'deferral_guarantee_no', b.deferral_guarantee_no,
                'too_long', b.too_long, 'without_guarantee', b.unguaranteed) AS evidence,
    s.first_due,
    '' AS period
FROM breaches AS b
JOIN since AS s ON s.voucher_no = b.voucher_no
LEFT JOIN customs AS c ON c.customs_code = left(b.decl_no, 4)
LEFT JOIN taxpayers AS e ON e.uscc = b.taxpayer_uscc
LEFT JOIN stg_declarations AS d ON d.decl_no = b.decl_no

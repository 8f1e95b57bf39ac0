/* ---
kind: keyed
tags: [rules, tax]
rule:
  id: B14
  name_zh: 放行超一年补征税款且无违规记录
  name_en: Additional tax claimed more than a year after release without a violation
  category: b
  area: post-release
  object_type: tax_vouchers
  detects: additional tax claimed more than 1 year after the goods' release with no violation on record
  grading: orange
  basis: 海关法 62
  method: >
    A claim of additional tax (补征/追征) is a tax_vouchers row of duty, VAT or
    consumption tax for a released declaration, issued after the release.
    It breaches when issued later than the release date plus 12 months (a
    month end clamps; the limit does not move off a day off, as for B13),
    unless a case (缉私/违规案件, any kind and outcome) on the same declaration
    was filed on or before the claim: that case is the violation flag that
    lets customs claim for 3 years. The metric is the days from release to
    the claim. dept_id is the subordinate customs of the declaration;
    tax_vouchers name no officer.
params: [b14_claim_months]
parameters:
  - name: b14_claim_months
    default: 12
    unit: months
    rules: [B14]
    description: without a violation, additional tax is claimed within this many months of release
tests:
  - unique: [object_key]
scope: |
  -- A changed voucher; and a tax voucher (duty, VAT, consumption tax) whose
  -- declaration (release, consignee, customs) changed or gained, lost or
  -- re-dated a case (the violation flag), whose customs' departments changed
  -- (dept_id), or that was issued since the last build: a claim counts from
  -- its issue, up to the as-of date.
  -- (The vouchers issued lately are the recent row groups of the state;
  -- those of the declarations are looked up by declaration.)
  SELECT voucher_no FROM changed.tax_vouchers
  UNION ALL
  SELECT voucher_no FROM (
      SELECT voucher_no, tax_type FROM stg_tax_vouchers WHERE issued_on >= getvariable('changed_since')
      UNION ALL
      SELECT voucher_no, tax_type FROM lookup_tax_vouchers_by_decl_no((
          SELECT list(decl_no) FROM (
              SELECT decl_no FROM changed.declarations
              UNION ALL SELECT decl_no FROM changed.cases
              UNION ALL SELECT decl_no FROM stg_declarations
              WHERE customs_code IN (SELECT customs_code FROM changed.departments))))
  )
  WHERE tax_type IN ('duty', 'vat', 'consumption')
--- */
WITH released AS (
    SELECT
        v.voucher_no, v.decl_no, v.tax_type, v.taxpayer_uscc, v.amount, v.issued_on,
        d.released_at, d.consignee_code, d.customs_code
    FROM lookup_tax_vouchers((SELECT list(key) FROM scope)) AS v
    JOIN stg_declarations AS d ON d.decl_no = v.decl_no
    WHERE v.tax_type IN ('duty', 'vat', 'consumption')
      AND d.released_at IS NOT NULL
      AND v.issued_on <= getvariable('as_of')
),
-- The claim limit is computed on the joined rows only: written in the
-- join above, the optimizer made it a join condition and computed it for
-- every released declaration (a year of them) before the join.
claims AS (
    SELECT
        * EXCLUDE (released_at),
        CAST(released_at AS DATE) AS released_on,
        CAST(CAST(released_at AS DATE) + INTERVAL (getvariable('b14_claim_months')) MONTH AS DATE) AS claim_until
    FROM released
),
late_claims AS (
    SELECT *
    FROM claims AS c
    WHERE c.issued_on > c.claim_until
      AND NOT EXISTS (
          SELECT 1 FROM stg_cases AS k
          WHERE k.decl_no = c.decl_no AND k.filed_on <= c.issued_on
      )
),
customs AS (
    SELECT customs_code, min(dept_id) AS dept_id
    FROM stg_departments
    WHERE level = 'subordinate_customs'
    GROUP BY customs_code
)
SELECT
    '1' AS rule_version,
    l.voucher_no AS object_key,
    CAST(NULL AS VARCHAR) AS officer_id,
    c.dept_id,
    l.consignee_code AS ent_code,
    'orange' AS colour,
    l.issued_on - l.released_on AS metric,
    l.amount,
    json_object('decl_no', l.decl_no, 'tax_type', l.tax_type, 'released_on', l.released_on, 'claim_until', l.claim_until,
                'issued_on', l.issued_on, 'days_after_release', l.issued_on - l.released_on) AS evidence,
    l.issued_on AS first_due,
    '' AS period
FROM late_claims AS l
LEFT JOIN customs AS c ON c.customs_code = l.customs_code

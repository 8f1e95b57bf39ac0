/* ---
kind: keyed
tags: [rules, tax]
rule:
  id: A05
  name_zh: 欠税超三个月未强制执行
  name_en: Tax voucher in arrears without enforcement
  category: a
  area: tax
  object_type: tax_vouchers
  detects: a tax voucher unpaid more than 3 months (90 calendar days) past its payment limit with no enforcement
  grading: days past the payment limit up to 120 yellow, up to 180 orange, more red
  basis: 海关法 60
  method: >
    The payment limit ends 15 calendar days after issue (counted from the day
    after), or on the deferred_until date of an approved deferral; either
    moves to the next working day when it falls on a day off. Enforcement is
    due within 90 calendar days after that limit (again moved off a day off).
    A voucher neither paid nor enforced by then is in breach: while it stays
    so it is measured to the as-of date, else to the payment or the late
    enforcement. Written-off vouchers are left out. dept_id is the
    subordinate customs named by the first four digits of the declaration
    number; tax_vouchers name no officer.
params: [a05_pay_limit_cd, a05_limit_cd, a05_yellow_max_days, a05_orange_max_days]
parameters:
  - name: a05_pay_limit_cd
    default: 15
    unit: calendar days
    rules: [A05]
    description: a tax voucher is paid within this many days of issue (its payment limit)
  - name: a05_limit_cd
    default: 90
    unit: calendar days
    rules: [A05]
    description: a voucher unpaid this many days past its payment limit must have been enforced
  - name: a05_yellow_max_days
    default: 120
    unit: calendar days
    rules: [A05]
    description: days past the payment limit up to which an unenforced arrear is yellow
  - name: a05_orange_max_days
    default: 180
    unit: calendar days
    rules: [A05]
    description: days past the payment limit up to which an unenforced arrear is orange; red beyond
tests:
  - unique: [object_key]
scope: |
  -- A voucher neither paid nor enforced by the last build's as-of date
  -- (however old; one issued since is such a voucher) is measured to the
  -- as-of date, and its enforcement limit may pass today; it can raise
  -- nothing until the as-of date is past its earliest possible limit (the
  -- earlier of deferred_until and issue + the payment limit, + the
  -- enforcement limit, before any move to a working day; a deferral outside
  -- the calendar is ignored by the rule), so it enters the scope from then.
  -- Paid or enforced earlier, its row is final unless something it reads
  -- changed: the voucher itself (a tombstone drops its row); its declaration
  -- (consignee, when the taxpayer is no enterprise); the departments of its
  -- customs code (dept_id); an enterprise that took or left its taxpayer's
  -- USCC (ent_code; diff.enterprises: a new credit class changes no row).
  -- (One scan of the vouchers, not one per reason.)
  SELECT voucher_no FROM stg_tax_vouchers
      WHERE ((paid_on IS NULL OR paid_on >= getvariable('changed_since'))
             AND (enforcement_on IS NULL OR enforcement_on >= getvariable('changed_since'))
             AND least(deferred_until, issued_on + getvariable('a05_pay_limit_cd')) + getvariable('a05_limit_cd')
                 < getvariable('as_of'))
         OR decl_no IN (SELECT decl_no FROM changed.declarations)
         OR left(decl_no, 4) IN (SELECT customs_code FROM changed.departments)
         OR taxpayer_uscc IN (SELECT c.uscc FROM changed.enterprises AS c JOIN diff.enterprises AS d USING (ent_code) WHERE d.uscc)
  UNION ALL SELECT voucher_no FROM changed.tax_vouchers
--- */
WITH vouchers AS (
    SELECT
        v.voucher_no, v.decl_no, v.tax_type, v.taxpayer_uscc, v.amount, v.issued_on, v.paid_on,
        v.deferred_until, v.enforcement_on,
        coalesce(dl.next_workday, pl.next_workday) AS limit_day
    FROM stg_tax_vouchers AS v
    JOIN scope ON scope.key = v.voucher_no
    JOIN dim_date AS pl ON pl.date = v.issued_on + getvariable('a05_pay_limit_cd')
    LEFT JOIN dim_date AS dl ON dl.date = v.deferred_until
    WHERE v.issued_on <= getvariable('as_of')
      AND v.status IS DISTINCT FROM 'written_off'
),
measured AS (
    SELECT
        v.*,
        el.next_workday AS enforce_by,
        -- Payment or enforcement ends the arrear; whichever came first.
        least(coalesce(v.paid_on, getvariable('as_of')), coalesce(v.enforcement_on, getvariable('as_of')),
              getvariable('as_of')) AS measured_to
    FROM vouchers AS v
    JOIN dim_date AS el ON el.date = v.limit_day + getvariable('a05_limit_cd')
),
-- The subordinate customs a declaration number names.
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
    m.voucher_no AS object_key,
    CAST(NULL AS VARCHAR) AS officer_id,
    c.dept_id,
    coalesce(e.ent_code, d.consignee_code) AS ent_code,
    CASE
        WHEN m.measured_to - m.limit_day <= getvariable('a05_yellow_max_days') THEN 'yellow'
        WHEN m.measured_to - m.limit_day <= getvariable('a05_orange_max_days') THEN 'orange'
        ELSE 'red'
    END AS colour,
    m.measured_to - m.limit_day AS metric,
    m.amount,
    json_object('decl_no', m.decl_no, 'tax_type', m.tax_type, 'issued_on', m.issued_on, 'deferred_until', m.deferred_until,
                'limit_day', m.limit_day, 'enforce_by', m.enforce_by, 'paid_on', m.paid_on,
                'enforcement_on', m.enforcement_on, 'days_past_limit', m.measured_to - m.limit_day) AS evidence,
    m.enforce_by + 1 AS first_due,
    '' AS period
FROM measured AS m
LEFT JOIN customs AS c ON c.customs_code = left(m.decl_no, 4)
LEFT JOIN taxpayers AS e ON e.uscc = m.taxpayer_uscc
LEFT JOIN stg_declarations AS d ON d.decl_no = m.decl_no
WHERE m.measured_to > m.enforce_by

/* ---
kind: keyed
tags: [rules, tax]
rule:
  id: A04
  name_zh: 滞纳未征滞纳金
  name_en: Late tax payment without the late-payment surcharge
  category: a
  area: tax
  object_type: tax_vouchers
  detects: >
    a tax voucher paid after its 15-day limit with no 滞纳金 levied, although
    the computed surcharge reaches 50 yuan
  grading: by M1/M2 on the unlevied 滞纳金
  basis: 海关法 60; 征税管理办法 20–21
  method: >
    The limit ends 15 calendar days after issue (counted from the day after);
    a limit ending on a day off moves to the next working day, and a deferral
    moves it to deferred_until. Days late run from the day after the limit to
    the payment date, both counted. The 滞纳金 is amount × 0.0005 × days late,
    the part below one yuan dropped. Only tax vouchers (duty, VAT, consumption
    tax) bear it; a voucher whose surcharge was waived is B12's concern. The
    officer answerable is the declaration's tariff reviewer, else its manual
    reviewer.
params: [a04_limit_cd, a04_daily_rate, a04_min_surcharge, m1, m2]
parameters:
  - name: a04_limit_cd
    default: 15
    unit: calendar days
    rules: [A04]
    description: a tax voucher is paid within this many days of its issue
  - name: a04_daily_rate
    default: 0.0005
    unit: per day
    rules: [A04]
    description: the 滞纳金 charged per day late, as a share of the tax
  - name: a04_min_surcharge
    default: 50
    unit: CNY
    rules: [A04]
    description: a 滞纳金 below this is not levied (起征点)
tests:
  - unique: [object_key]
scope: |
  -- A payment is final, so a voucher is judged again only when something it
  -- reads changed: the voucher itself (issue, deferral, payment, surcharge,
  -- waiver; a tombstone drops its row); its declaration (consignee); the
  -- declaration's manual or tariff review events (the officer answerable and
  -- the dept the event names; a tombstone's replaced version names its step
  -- and declaration); that officer's record where the event names no
  -- dept (dept_id then comes from stg_officers: a transfer).
  -- Time: a voucher paid, or a review that occurred, after the last build's
  -- as-of date is admitted by the as-of filters only now.
  -- (The vouchers paid lately are the recent row groups of the state; those
  -- of the declarations are looked up by declaration.)
  SELECT voucher_no FROM changed.tax_vouchers
  UNION ALL SELECT voucher_no FROM stg_tax_vouchers WHERE paid_on >= getvariable('changed_since')
  UNION ALL SELECT voucher_no FROM lookup_tax_vouchers_by_decl_no((
      SELECT list(decl_no) FROM (
          SELECT decl_no FROM changed.declarations
          UNION ALL SELECT decl_no FROM changed.declaration_events WHERE step IN ('manual_review', 'tariff_review')
          UNION ALL SELECT decl_no FROM stg_declaration_events
          WHERE step IN ('manual_review', 'tariff_review') AND occurred_at >= getvariable('changed_since')
          UNION ALL SELECT decl_no FROM int_declaration_handlers
          WHERE fee_officer_dept_id IS NULL AND fee_officer_id IN (SELECT officer_id FROM changed.officers))))
--- */
WITH paid AS (
    SELECT
        v.voucher_no, v.decl_no, v.tax_type, v.amount, v.issued_on, v.paid_on, v.deferred_until,
        greatest(lim.next_workday, v.deferred_until) AS limit_day
    FROM lookup_tax_vouchers((SELECT list(key) FROM scope)) AS v
    JOIN dim_date AS lim ON lim.date = v.issued_on + getvariable('a04_limit_cd')
    WHERE v.tax_type IN ('duty', 'vat', 'consumption')
      AND v.paid_on <= getvariable('as_of')
      AND coalesce(v.surcharge_levied, 0) = 0
      AND v.waiver_reason IS NULL
      AND v.waived_by IS NULL
),
late AS (
    SELECT
        *,
        paid_on - limit_day AS days_late,
        -- Decimal arithmetic, so that a surcharge of exactly 50 yuan is not 49.999...
        floor(amount * CAST(getvariable('a04_daily_rate') AS DECIMAL(18, 6)) * (paid_on - limit_day)) AS surcharge
    FROM paid
    WHERE paid_on > limit_day
)
SELECT
    '1' AS rule_version,
    l.voucher_no AS object_key,
    h.fee_officer_id AS officer_id,
    coalesce(h.fee_officer_dept_id, o.dept_id) AS dept_id,
    d.consignee_code AS ent_code,
    CASE
        WHEN l.surcharge < getvariable('m1') THEN 'yellow'
        WHEN l.surcharge < getvariable('m2') THEN 'orange'
        ELSE 'red'
    END AS colour,
    l.surcharge AS metric,
    l.surcharge AS amount,
    json_object('decl_no', l.decl_no, 'tax_type', l.tax_type, 'amount', l.amount, 'issued_on', l.issued_on,
                'deferred_until', l.deferred_until, 'limit_day', l.limit_day, 'paid_on', l.paid_on,
                'days_late', l.days_late, 'surcharge', l.surcharge) AS evidence,
    l.paid_on AS first_due,
    '' AS period
FROM late AS l
LEFT JOIN lookup_declarations((SELECT list(decl_no) FROM late)) AS d ON d.decl_no = l.decl_no
LEFT JOIN int_declaration_handlers AS h ON h.decl_no = l.decl_no
LEFT JOIN stg_officers AS o ON o.officer_id = h.fee_officer_id
WHERE l.surcharge >= getvariable('a04_min_surcharge')

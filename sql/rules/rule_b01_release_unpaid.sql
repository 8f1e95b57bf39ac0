/* ---
kind: keyed
tags: [rules, clearance]
rule:
  id: B01
  name_zh: 未缴税款放行
  name_en: Released before the tax was paid
  category: b
  area: release
  object_type: declarations
  detects: goods released before the tax (duty, VAT, consumption tax) was paid, with no guarantee and not under aggregated payment
  grading: orange; red when the unpaid tax is above M2
  basis: 海关法 29
  method: >
    Tax is the duty, VAT and consumption tax vouchers of the declaration
    issued by the release day (the 滞报金 and the late-payment surcharge are
    fees; a voucher issued after release is additional tax claimed later). A
    voucher counts as unpaid at release when it has no payment date, or one
    later than the release day (paid_on is a date, so a payment on the
    release day counts as before it). The unpaid tax is the sum of those
    vouchers; the officer is the one who took the release step.
params: [m2]
tests:
  - unique: [object_key]
scope: |
  -- A declaration released since the last build is evaluated the first time;
  -- a changed declaration (release, aggregated payment, guarantee, consignee),
  -- one whose tax vouchers (amount, issue or payment day) or events (the
  -- releaser) changed, or whose releaser's record (department) changed, again.
  SELECT decl_no FROM stg_declarations WHERE released_at >= getvariable('changed_since')
  UNION ALL SELECT decl_no FROM changed.declarations
  -- (a tombstone names no declaration; the version it replaced does)
  UNION ALL SELECT decl_no FROM changed.tax_vouchers WHERE decl_no IS NOT NULL
  UNION ALL SELECT decl_no FROM changed.declaration_events WHERE decl_no IS NOT NULL
  UNION ALL SELECT decl_no FROM int_declaration_handlers WHERE releaser_id IN (SELECT officer_id FROM changed.officers)
--- */
WITH released AS (
    -- Declarations released on their own payment: neither 汇总征税 nor a guarantee.
    SELECT d.decl_no, d.consignee_code, CAST(d.released_at AS DATE) AS released_on
    FROM lookup_declarations((SELECT list(key) FROM scope)) AS d
    -- Joined again only to tell the optimizer how few they are: it then
    -- looks up their vouchers, not the other way round.
    JOIN scope ON scope.key = d.decl_no
    WHERE d.released_at IS NOT NULL
      AND d.released_at < getvariable('as_of_end')
      AND NOT coalesce(d.aggregated_tax, false)
      AND d.guarantee_no IS NULL
),
unpaid AS (
    SELECT
        r.decl_no,
        sum(v.amount) AS unpaid_tax,
        list(v.voucher_no ORDER BY v.voucher_no) AS vouchers
    FROM released AS r
    JOIN lookup_tax_vouchers_by_decl_no((SELECT list(key) FROM scope)) AS v ON v.decl_no = r.decl_no
    WHERE v.tax_type IN ('duty', 'vat', 'consumption')
      -- A voucher issued after the release is additional tax claimed later
      -- (补征/追征, B14's object), not tax due before the goods could go.
      AND coalesce(v.issued_on, r.released_on) <= r.released_on
      AND (v.paid_on IS NULL OR v.paid_on > r.released_on)
    GROUP BY r.decl_no
)
SELECT
    '1' AS rule_version,
    r.decl_no AS object_key,
    h.releaser_id AS officer_id,
    coalesce(h.releaser_dept_id, o.dept_id) AS dept_id,
    r.consignee_code AS ent_code,
    CASE WHEN u.unpaid_tax > getvariable('m2') THEN 'red' ELSE 'orange' END AS colour,
    u.unpaid_tax AS metric,
    u.unpaid_tax AS amount,
    json_object('released_on', r.released_on, 'unpaid_tax', u.unpaid_tax, 'unpaid_vouchers', u.vouchers) AS evidence,
    r.released_on AS first_due,
    '' AS period
FROM released AS r
JOIN unpaid AS u ON u.decl_no = r.decl_no
LEFT JOIN int_declaration_handlers AS h ON h.decl_no = r.decl_no
LEFT JOIN stg_officers AS o ON o.officer_id = h.releaser_id

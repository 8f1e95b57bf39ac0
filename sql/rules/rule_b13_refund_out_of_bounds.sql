/* ---
kind: keyed
tags: [rules, tax]
rule:
  id: B13
  name_zh: 退税超出时效或金额
  name_en: Refund outside the claim window or above the tax paid
  category: b
  area: refund
  object_type: refunds
  detects: a refund claim accepted after the claim window of the original payment ended, or for more than the tax paid
  grading: red
  basis: 海关法 63; 关税法 51
  method: >
    The window runs from the original payment date for 1 year (version 1,
    payments before the Tariff Law took effect on 2024-12-01) or 3 years
    (version 2, payments from that day), as calendar months, a month-end date
    clamped to the shorter month; a claim accepted on the window's last day
    is in time. The window is a limitation period in months, not a CD limit,
    so it does not move off a day off. Without an original payment date only
    the amount is checked, and the version follows the acceptance date.
  versions:
    "1": original payment before 2024-12-01 (进出口关税条例), window 12 months
    "2": original payment on or after 2024-12-01 (关税法), window 36 months
params: [b13_tariff_law_from, b13_window_months_v1, b13_window_months_v2]
parameters:
  - name: b13_tariff_law_from
    default: "2024-12-01"
    unit: date
    rules: [B13]
    description: payments from this day have the Tariff Law's claim window (version 2), earlier ones the old one (version 1)
  - name: b13_window_months_v1
    default: 12
    unit: months
    rules: [B13]
    description: claim window after a payment made before the Tariff Law
  - name: b13_window_months_v2
    default: 36
    unit: months
    rules: [B13]
    description: claim window after a payment made under the Tariff Law
tests:
  - unique: [object_key]
scope: |
  -- A changed claim, or one whose declaration (consignee) or officer
  -- (department) changed; and one accepted since the last build: a claim
  -- counts from its acceptance, up to the as-of date.
  SELECT refund_id FROM changed.refunds
  UNION ALL SELECT refund_id FROM stg_refunds WHERE decl_no IN (SELECT decl_no FROM changed.declarations)
  UNION ALL SELECT refund_id FROM stg_refunds WHERE officer_id IN (SELECT officer_id FROM changed.officers)
  UNION ALL SELECT refund_id FROM stg_refunds WHERE accepted_on >= getvariable('changed_since')
--- */
WITH claims AS (
    SELECT
        r.refund_id, r.decl_no, r.accepted_on, r.amount, r.tax_paid, r.original_paid_on, r.officer_id,
        CASE
            WHEN coalesce(r.original_paid_on, r.accepted_on) < CAST(getvariable('b13_tariff_law_from') AS DATE) THEN '1'
            ELSE '2'
        END AS version
    FROM stg_refunds AS r
    WHERE r.accepted_on <= getvariable('as_of')
      AND r.refund_id IN (SELECT key FROM scope)
),
windows AS (
    SELECT
        c.*,
        CAST(c.original_paid_on + to_months(CASE c.version
            WHEN '1' THEN getvariable('b13_window_months_v1')
            ELSE getvariable('b13_window_months_v2') END) AS DATE) AS window_end
    FROM claims AS c
),
hits AS (
    SELECT
        w.*,
        coalesce(w.accepted_on > w.window_end, false) AS late,
        coalesce(w.amount > w.tax_paid, false) AS over_paid
    FROM windows AS w
)
SELECT
    h.version AS rule_version,
    h.refund_id AS object_key,
    h.officer_id,
    o.dept_id,
    d.consignee_code AS ent_code,
    'red' AS colour,
    -- Days the claim came after the window ended; 0 for a claim only too large.
    CASE WHEN h.late THEN h.accepted_on - h.window_end ELSE 0 END AS metric,
    -- A late claim puts the whole refund at stake; a too-large one the excess.
    CASE WHEN h.late THEN h.amount ELSE h.amount - h.tax_paid END AS amount,
    json_object('accepted_on', h.accepted_on, 'original_paid_on', h.original_paid_on, 'window_end', h.window_end,
                'late', h.late, 'amount', h.amount, 'tax_paid', h.tax_paid, 'decl_no', h.decl_no) AS evidence,
    h.accepted_on AS first_due,
    '' AS period
FROM hits AS h
LEFT JOIN stg_officers AS o ON o.officer_id = h.officer_id
LEFT JOIN lookup_declarations((SELECT list(decl_no) FROM hits)) AS d ON d.decl_no = h.decl_no
WHERE h.late OR h.over_paid

/* ---
kind: keyed
tags: [rules, valuation]
rule:
  id: B10
  name_zh: 低于价格参数未质疑
  name_en: Price far below the reference price accepted without a challenge
  category: b
  area: valuation
  object_type: declarations
  detects: >
    an import released with an item whose unit price is below 70 % of the
    reference price (价格参数), without a price challenge, where one was due
    (customs value at least 100 000 or tax at least 20 000)
  grading: by M1/M2 on the tax lost
  basis: 审价办法
  method: >
    Imports only (the reference prices serve import valuation). Due means the
    declaration's customs_value, or its duty_payable plus vat_payable, reaches
    its threshold. An item is undervalued when unit_price < 0.7 ×
    reference_price; a price_challenge step of any outcome on the declaration
    counts as the challenge. The declaration's release is the acceptance of
    the price: the warning is due on the release day. The tax lost sums over
    the undervalued items the value missing (reference_price × qty −
    customs_value, to the fen) times the item's duty_rate, plus VAT at 13 % on
    the missing value and duty where the declaration bears VAT, each rounded
    to the fen. The officer answerable is the manual reviewer, else the
    releaser.
params: [b10_ratio, b10_min_value, b10_min_tax, b10_vat_rate, m1, m2]
parameters:
  - name: b10_ratio
    default: 0.7
    unit: share of the reference price
    rules: [B10]
    description: a unit price below this share of the reference price needs a price challenge
  - name: b10_min_value
    default: 100000
    unit: CNY
    rules: [B10]
    description: a challenge is due on a declaration with a customs value of at least this
  - name: b10_min_tax
    default: 20000
    unit: CNY
    rules: [B10]
    description: a challenge is due on a declaration with duty and VAT of at least this
  - name: b10_vat_rate
    default: 0.13
    unit: share
    rules: [B10]
    description: import VAT rate applied to the missing value and duty when the declaration bears VAT
tests:
  - unique: [object_key]
scope: |
  -- Only a released import has a row: an import whose own record (values,
  -- taxes, release, consignee) changed, in its new or replaced version (one no
  -- longer a released import loses its row); and a released import whose
  -- items (prices) or steps (a price challenge, the reviewer and releaser)
  -- changed, whose reviewer or releaser changed (department), or that was
  -- released, or has such a step dated, since the last build: the release and
  -- the steps count up to the end of the as-of day.
  SELECT decl_no FROM changed.declarations WHERE ie_flag = 'I'
  UNION ALL
  SELECT decl_no FROM stg_declarations
  WHERE ie_flag = 'I' AND released_at IS NOT NULL
    AND (released_at >= getvariable('changed_since')
         OR decl_no IN (SELECT decl_no FROM changed.declaration_items)
         OR decl_no IN (SELECT decl_no FROM changed.declaration_events
                        WHERE step IN ('price_challenge', 'manual_review', 'release'))
         OR decl_no IN (SELECT decl_no FROM int_declaration_handlers
                        WHERE reviewer_id IN (SELECT officer_id FROM changed.officers)
                           OR releaser_id IN (SELECT officer_id FROM changed.officers))
         OR decl_no IN (SELECT decl_no FROM stg_declaration_events
                        WHERE step IN ('price_challenge', 'manual_review', 'release')
                          AND occurred_at >= getvariable('changed_since')))
--- */
WITH released AS (
    SELECT
        d.decl_no, d.consignee_code, d.customs_value,
        coalesce(d.duty_payable, 0) + coalesce(d.vat_payable, 0) AS tax,
        coalesce(d.vat_payable, 0) > 0 AS bears_vat,
        CAST(d.released_at AS DATE) AS released_on
    FROM lookup_declarations((SELECT list(key) FROM scope)) AS d
    WHERE d.ie_flag = 'I'
      AND d.released_at IS NOT NULL
      AND d.released_at < getvariable('as_of_end')
),
due AS (
    SELECT r.*
    FROM released AS r
    WHERE (r.customs_value >= getvariable('b10_min_value') OR r.tax >= getvariable('b10_min_tax'))
      AND NOT EXISTS (
          SELECT 1
          FROM stg_declaration_events AS e
          WHERE e.decl_no = r.decl_no
            AND e.step = 'price_challenge'
            AND e.decl_no IN (SELECT key FROM scope)
            AND e.occurred_at < getvariable('as_of_end')
      )
),
low_items AS (
    SELECT
        i.decl_no, i.item_no, i.unit_price, i.reference_price, i.qty, i.duty_rate,
        round(CAST(i.reference_price AS DECIMAL(38, 6)) * CAST(i.qty AS DECIMAL(38, 6)) - i.customs_value, 2) AS shortfall
    FROM lookup_declaration_items_by_decl_no((SELECT list(key) FROM scope)) AS i
    WHERE i.reference_price IS NOT NULL
      -- Decimal arithmetic, so that a price of exactly 70 % is not taken as below it.
      AND i.unit_price < CAST(getvariable('b10_ratio') AS DECIMAL(18, 6)) * i.reference_price
),
item_loss AS (
    SELECT
        l.*,
        d.bears_vat,
        round(l.shortfall * coalesce(l.duty_rate, 0), 2) AS duty_lost
    FROM low_items AS l
    JOIN due AS d ON d.decl_no = l.decl_no
),
lost AS (
    SELECT
        decl_no,
        sum(duty_lost + CASE WHEN bears_vat
                             THEN round((shortfall + duty_lost) * CAST(getvariable('b10_vat_rate') AS DECIMAL(18, 6)), 2)
                             ELSE 0 END) AS tax_lost,
        list(json_object('item_no', item_no, 'unit_price', unit_price, 'reference_price', reference_price,
                         'qty', qty, 'shortfall', shortfall) ORDER BY item_no) AS items
    FROM item_loss
    GROUP BY decl_no
)
SELECT
    '1' AS rule_version,
    d.decl_no AS object_key,
    -- the manual reviewer, who should have challenged the price, else the releaser
    coalesce(h.reviewer_id, h.releaser_id) AS officer_id,
    coalesce(CASE WHEN h.reviewer_id IS NOT NULL THEN h.reviewer_dept_id ELSE h.releaser_dept_id END, o.dept_id) AS dept_id,
    d.consignee_code AS ent_code,
    CASE
        WHEN l.tax_lost < getvariable('m1') THEN 'yellow'
        WHEN l.tax_lost < getvariable('m2') THEN 'orange'
        ELSE 'red'
    END AS colour,
    l.tax_lost AS metric,
    l.tax_lost AS amount,
    json_object('released_on', d.released_on, 'customs_value', d.customs_value, 'tax', d.tax,
                'tax_lost', l.tax_lost, 'items', l.items) AS evidence,
    d.released_on AS first_due,
    '' AS period
FROM due AS d
JOIN lost AS l ON l.decl_no = d.decl_no
LEFT JOIN int_declaration_handlers AS h ON h.decl_no = d.decl_no
LEFT JOIN stg_officers AS o ON o.officer_id = coalesce(h.reviewer_id, h.releaser_id)

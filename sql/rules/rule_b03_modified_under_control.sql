/* ---
kind: keyed
tags: [rules, clearance]
rule:
  id: B03
  name_zh: 布控查验期间修改撤销报关单
  name_en: Declaration modified or cancelled while under a control order or inspection
  category: b
  area: modification
  object_type: modification_requests
  detects: a declaration modified or cancelled after a control order or inspection was decided and before it closed
  grading: orange; red when the change lowers the tax
  basis: 署令 220
  method: >
    A control order is open from its issue (or its inspection's assignment, if
    earlier) until its inspection finishes; an order without an inspection
    closes when it is cancelled or first leaves the active status (from the
    order's history). An inspection without an order is open from assignment to
    finish. An approved modification or cancellation decided inside such a
    window is a hit, dated by the decision; it is red when its tax_delta is
    negative.
params: []
tests:
  - unique: [object_key]
scope: |
  -- A change decided since the last build is evaluated the first time; a
  -- changed request, or one whose declaration (consignee) or officer
  -- (department) changed, again; and every request on a declaration whose
  -- control windows moved: a changed control order (issue, cancellation, a
  -- new version of its status history) or inspection (assignment, finish,
  -- order), mapped through the order's and the inspection's declaration both.
  SELECT request_id FROM stg_modification_requests WHERE decided_at >= getvariable('changed_since')
  UNION ALL SELECT request_id FROM changed.modification_requests
  UNION ALL SELECT request_id FROM stg_modification_requests WHERE decl_no IN (SELECT decl_no FROM changed.declarations)
  UNION ALL SELECT request_id FROM stg_modification_requests WHERE officer_id IN (SELECT officer_id FROM changed.officers)
  UNION ALL SELECT request_id FROM stg_modification_requests WHERE decl_no IN (
      SELECT decl_no FROM changed.control_orders
      UNION ALL SELECT decl_no FROM changed.inspections
      UNION ALL SELECT decl_no FROM stg_control_orders WHERE order_id IN (SELECT order_id FROM changed.inspections)
      UNION ALL SELECT decl_no FROM stg_inspections WHERE order_id IN (SELECT order_id FROM changed.control_orders))
--- */
WITH requests AS (
    -- The approved changes of the scope, decided by the as-of date.
    SELECT r.request_id, r.decl_no, r.kind, r.officer_id, r.requested_at, r.decided_at, r.tax_delta
    FROM stg_modification_requests AS r
    WHERE r.decision = 'approved'
      AND r.decided_at < getvariable('as_of_end')
      AND r.request_id IN (SELECT key FROM scope)
),
orders AS (
    SELECT o.*
    FROM stg_control_orders AS o
    WHERE o.decl_no IN (SELECT decl_no FROM requests)
),
order_left_active AS (
    -- when each order first stopped being active, as its history shows
    SELECT order_id, min(updated_at) AS left_at
    FROM raw.control_orders
    WHERE status <> 'active' AND updated_at < getvariable('as_of_end')
      AND order_id IN (SELECT order_id FROM orders)
    GROUP BY order_id
),
windows AS (
    SELECT
        o.decl_no, o.order_id, i.inspection_id,
        least(o.issued_at, coalesce(i.assigned_at, o.issued_at)) AS opened_at,
        CASE WHEN i.inspection_id IS NOT NULL THEN i.finished_at
             ELSE coalesce(o.cancelled_at, l.left_at) END AS closed_at
    FROM orders AS o
    LEFT JOIN stg_inspections AS i ON i.order_id = o.order_id
    LEFT JOIN order_left_active AS l ON l.order_id = o.order_id
    UNION ALL
    SELECT i.decl_no, NULL, i.inspection_id, i.assigned_at, i.finished_at
    FROM stg_inspections AS i
    WHERE i.decl_no IN (SELECT decl_no FROM requests)
      AND (i.order_id IS NULL OR i.order_id NOT IN (SELECT order_id FROM stg_control_orders))
),
hits AS (
    SELECT
        r.request_id, r.decl_no, r.kind, r.officer_id, r.requested_at, r.decided_at, r.tax_delta,
        w.order_id, w.inspection_id, w.opened_at, w.closed_at
    FROM requests AS r
    JOIN windows AS w ON w.decl_no = r.decl_no
    WHERE r.decided_at >= w.opened_at
      AND (w.closed_at IS NULL OR r.decided_at < w.closed_at OR w.closed_at >= getvariable('as_of_end'))
    QUALIFY row_number() OVER (PARTITION BY r.request_id ORDER BY w.opened_at) = 1
)
SELECT
    '1' AS rule_version,
    h.request_id AS object_key,
    h.officer_id,
    o.dept_id,
    d.consignee_code AS ent_code,
    CASE WHEN h.tax_delta < 0 THEN 'red' ELSE 'orange' END AS colour,
    greatest(-coalesce(h.tax_delta, 0), 0) AS metric,
    greatest(-coalesce(h.tax_delta, 0), 0) AS amount,
    json_object('decl_no', h.decl_no, 'kind', h.kind, 'requested_at', h.requested_at, 'decided_at', h.decided_at,
                'tax_delta', h.tax_delta, 'order_id', h.order_id, 'inspection_id', h.inspection_id,
                'control_opened_at', h.opened_at, 'control_closed_at', h.closed_at) AS evidence,
    CAST(h.decided_at AS DATE) AS first_due,
    '' AS period
FROM hits AS h
LEFT JOIN stg_officers AS o ON o.officer_id = h.officer_id
LEFT JOIN lookup_declarations((SELECT list(decl_no) FROM hits)) AS d ON d.decl_no = h.decl_no

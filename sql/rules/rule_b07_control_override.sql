/* ---
kind: keyed
tags: [rules, clearance]
rule:
  id: B07
  name_zh: 人工干预布控
  name_en: System control order cancelled or downgraded by hand
  category: b
  area: control
  object_type: control_orders
  detects: a system control order cancelled by an officer, or downgraded by an officer from inspection to a document check
  grading: yellow with a reason, orange without; red if the enterprise has a case filed on or after the override
  basis: 海关法 79
  method: >
    By hand means an officer is recorded in cancelled_by. A cancellation is
    the order's status cancelled, dated by cancelled_at; a downgrade is a
    system order whose action was inspect in an earlier version and is
    document_check now, dated by cancelled_at or else by the first version
    showing the document check. A blank reason counts as none. The enterprise
    is the declaration's consignee; a case of it filed on or after the
    override day, up to the as-of date, makes the warning red.
tests:
  - unique: [object_key]
scope: |
  -- An order overridden since the last build is evaluated the first time; a
  -- changed order (a new version: cancellation, downgrade, reason, officer),
  -- or one whose declaration (consignee) or overriding officer (department)
  -- changed, again. An override turns red on a case of its enterprise filed
  -- on or after it: every override of an enterprise whose cases changed (the
  -- new and the replaced version both), or that has a case filed since the
  -- last build, again.
  SELECT order_id FROM stg_control_orders WHERE cancelled_at >= getvariable('changed_since')
  UNION ALL SELECT order_id FROM changed.control_orders
  UNION ALL SELECT order_id FROM stg_control_orders WHERE decl_no IN (SELECT decl_no FROM changed.declarations)
  UNION ALL SELECT order_id FROM stg_control_orders WHERE cancelled_by IN (SELECT officer_id FROM changed.officers)
  UNION ALL SELECT order_id FROM stg_control_orders
  WHERE cancelled_by IS NOT NULL
    AND decl_no IN (
        SELECT decl_no FROM stg_declarations
        WHERE consignee_code IN (
            SELECT ent_code FROM changed.cases
            UNION ALL SELECT ent_code FROM stg_cases WHERE filed_on >= getvariable('changed_since')))
--- */
WITH downgraded AS (
    -- The first version at which an order that once said inspect says document_check.
    SELECT r.order_id, min(r.updated_at) AS downgraded_at
    FROM raw.control_orders AS r
    WHERE r.order_id IN (SELECT key FROM scope)
      AND r.updated_at < getvariable('as_of_end')
      AND r.action = 'document_check'
      AND EXISTS (
          SELECT 1 FROM raw.control_orders AS p
          WHERE p.order_id = r.order_id AND p.action = 'inspect' AND p.updated_at < r.updated_at
      )
    GROUP BY r.order_id
),
overrides AS (
    SELECT
        c.order_id, c.decl_no, c.cancelled_by, nullif(trim(c.cancel_reason), '') AS reason,
        CASE WHEN c.status = 'cancelled' THEN 'cancelled' ELSE 'downgraded' END AS override,
        CAST(coalesce(c.cancelled_at, g.downgraded_at) AS DATE) AS override_on
    FROM stg_control_orders AS c
    LEFT JOIN downgraded AS g ON g.order_id = c.order_id
    WHERE c.order_id IN (SELECT key FROM scope)
      AND c.source = 'system'
      AND c.cancelled_by IS NOT NULL
      AND (c.status = 'cancelled' OR (c.action = 'document_check' AND g.order_id IS NOT NULL))
),
later_cases AS (
    -- The enterprise's first case filed on or after the override, known by the as-of date.
    SELECT v.order_id, min(k.filed_on) AS case_filed_on, arg_min(k.case_no, k.filed_on) AS case_no
    FROM overrides AS v
    JOIN stg_declarations AS d ON d.decl_no = v.decl_no
    JOIN stg_cases AS k ON k.ent_code = d.consignee_code
    WHERE k.filed_on >= v.override_on AND k.filed_on <= getvariable('as_of')
    GROUP BY v.order_id
)
SELECT
    '1' AS rule_version,
    v.order_id AS object_key,
    v.cancelled_by AS officer_id,
    o.dept_id,
    d.consignee_code AS ent_code,
    CASE
        WHEN lc.order_id IS NOT NULL THEN 'red'
        WHEN v.reason IS NOT NULL THEN 'yellow'
        ELSE 'orange'
    END AS colour,
    NULL AS metric,
    NULL AS amount,
    json_object('decl_no', v.decl_no, 'override', v.override, 'override_on', v.override_on,
                'reason', v.reason, 'later_case', lc.case_no, 'case_filed_on', lc.case_filed_on) AS evidence,
    v.override_on AS first_due,
    '' AS period
FROM overrides AS v
LEFT JOIN later_cases AS lc ON lc.order_id = v.order_id
LEFT JOIN stg_officers AS o ON o.officer_id = v.cancelled_by
LEFT JOIN stg_declarations AS d ON d.decl_no = v.decl_no
WHERE v.override_on <= getvariable('as_of')

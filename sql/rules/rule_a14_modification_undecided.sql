/* ---
kind: keyed
tags: [rules, clearance]
rule:
  id: A14
  name_zh: 报关单修改撤销申请超期未决
  name_en: Modification or cancellation request undecided within the limit
  category: a
  area: modification
  object_type: modification_requests
  detects: a request to modify or cancel a declaration not decided within 20 working days (30 with an approved extension)
  grading: working days overdue up to 10 yellow, up to 25 orange, more red
  basis: 署令 220
  method: >
    The limit is the 20th working day (30th with extension_approved) after the
    day of the request, the count starting on the working day after it. Working
    days overdue are those after the limit day up to the decision, or up to the
    as-of date while the request is open; a request is late from the first
    working day after its limit. Holidays and the listed make-up working days
    follow the official calendar.
params: [a14_limit_wd, a14_extended_limit_wd, a14_yellow_max_wd, a14_orange_max_wd]
parameters:
  - name: a14_limit_wd
    default: 20
    unit: working days
    rules: [A14]
    description: a modification or cancellation request is decided within this many working days after the request
  - name: a14_extended_limit_wd
    default: 30
    unit: working days
    rules: [A14]
    description: the limit once an extension is approved
  - name: a14_yellow_max_wd
    default: 10
    unit: working days
    rules: [A14]
    description: working days overdue up to which a late request is yellow
  - name: a14_orange_max_wd
    default: 25
    unit: working days
    rules: [A14]
    description: working days overdue up to which a late request is orange; red beyond
tests:
  - unique: [object_key]
scope: |
  -- An open request is measured to the as-of date, and one whose decision the
  -- as-of date cannot see yet stays open until that day; a request the as-of
  -- date admits is new; a changed request, or one whose declaration (consignee)
  -- or officer (department) changed, again.
  SELECT request_id FROM stg_modification_requests
  WHERE decided_at IS NULL OR decided_at >= getvariable('changed_since')
     OR requested_at >= getvariable('changed_since')
  UNION ALL SELECT request_id FROM changed.modification_requests
  UNION ALL SELECT request_id FROM stg_modification_requests WHERE decl_no IN (SELECT decl_no FROM diff.declarations WHERE consignee_code)
  UNION ALL SELECT request_id FROM stg_modification_requests WHERE officer_id IN (SELECT officer_id FROM changed.officers)
--- */
WITH requests AS (
    SELECT
        r.request_id, r.decl_no, r.kind, r.requested_at, r.officer_id,
        coalesce(r.extension_approved, false) AS extended,
        -- a decision the as-of date cannot see yet leaves the request open
        CASE WHEN r.decided_at < getvariable('as_of_end') THEN r.decided_at END AS decided_at,
        CASE WHEN coalesce(r.extension_approved, false) THEN getvariable('a14_extended_limit_wd')
             ELSE getvariable('a14_limit_wd') END AS limit_wd
    FROM stg_modification_requests AS r
    WHERE r.requested_at < getvariable('as_of_end')
      AND r.request_id IN (SELECT key FROM scope)
),
measured AS (
    SELECT
        q.*,
        lim.date AS limit_day,
        lim.workday_index AS limit_index,
        upto.workday_index - lim.workday_index AS wd_overdue
    FROM requests AS q
    JOIN dim_date AS asked ON asked.date = CAST(q.requested_at AS DATE)
    JOIN dim_date AS lim ON lim.workday_index = asked.workday_index + q.limit_wd AND lim.is_workday
    JOIN dim_date AS upto ON upto.date = coalesce(CAST(q.decided_at AS DATE), getvariable('as_of'))
)
SELECT
    '1' AS rule_version,
    m.request_id AS object_key,
    m.officer_id,
    o.dept_id,
    d.consignee_code AS ent_code,
    CASE
        WHEN m.wd_overdue <= getvariable('a14_yellow_max_wd') THEN 'yellow'
        WHEN m.wd_overdue <= getvariable('a14_orange_max_wd') THEN 'orange'
        ELSE 'red'
    END AS colour,
    m.wd_overdue AS metric,
    CAST(NULL AS DECIMAL(18,2)) AS amount,
    json_object('decl_no', m.decl_no, 'kind', m.kind, 'requested_at', m.requested_at, 'extension_approved', m.extended,
                'limit_wd', m.limit_wd, 'limit_day', m.limit_day, 'decided_at', m.decided_at,
                'wd_overdue', m.wd_overdue) AS evidence,
    due.date AS first_due,
    '' AS period
FROM measured AS m
JOIN dim_date AS due ON due.workday_index = m.limit_index + 1 AND due.is_workday
LEFT JOIN stg_officers AS o ON o.officer_id = m.officer_id
LEFT JOIN int_declaration_consignees AS d ON d.decl_no = m.decl_no
WHERE m.wd_overdue >= 1

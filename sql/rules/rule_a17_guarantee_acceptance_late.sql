/* ---
kind: keyed
tags: [rules, guarantee]
rule:
  id: A17
  name_zh: 担保受理超期
  name_en: Guarantee accepted later than the limit
  category: a
  area: guarantee
  object_type: guarantees
  detects: a guarantee accepted later than 5 working days after the application (10 for a general guarantee)
  grading: working days past the limit up to 3 yellow, up to 10 orange, more red
  basis: 担保条例 16
  method: >
    The application and acceptance times are read as local dates. Working days
    count from the working day after the application: the limit is the 5th
    (general guarantee: 10th) working day after the application date. An
    acceptance after that day is measured to the acceptance, an open
    application to the as-of date, in working days past the limit. The warning
    is due the day after the limit.
params: [a17_limit_wd, a17_general_limit_wd, a17_yellow_max_wd, a17_orange_max_wd]
parameters:
  - name: a17_limit_wd
    default: 5
    unit: working days
    rules: [A17]
    description: a single guarantee is accepted within this many working days of the application
  - name: a17_general_limit_wd
    default: 10
    unit: working days
    rules: [A17]
    description: a general guarantee is accepted within this many working days of the application
  - name: a17_yellow_max_wd
    default: 3
    unit: working days
    rules: [A17]
    description: working days past the limit up to which a late acceptance is yellow
  - name: a17_orange_max_wd
    default: 10
    unit: working days
    rules: [A17]
    description: working days past the limit up to which a late acceptance is orange; red beyond
tests:
  - unique: [object_key]
scope: |
  -- An application not yet accepted is measured to the as-of date; one the
  -- as-of date admits is new, and an acceptance dated after the last build
  -- closes it; a changed guarantee, or one whose declaration (consignee) or
  -- officer (department) changed, again.
  SELECT guarantee_no FROM stg_guarantees
  WHERE (applied_at IS NOT NULL AND accepted_at IS NULL)
     OR applied_at >= getvariable('changed_since')
     OR accepted_at >= getvariable('changed_since')
  UNION ALL SELECT guarantee_no FROM changed.guarantees
  UNION ALL SELECT guarantee_no FROM stg_guarantees WHERE decl_no IN (SELECT decl_no FROM diff.declarations WHERE consignee_code)
  UNION ALL SELECT guarantee_no FROM stg_guarantees WHERE officer_id IN (SELECT officer_id FROM changed.officers)
--- */
WITH applications AS (
    SELECT
        g.guarantee_no, g.decl_no, g.kind, g.amount, g.officer_id,
        CAST(g.applied_at AS DATE) AS applied_on,
        CAST(g.accepted_at AS DATE) AS accepted_on,
        CASE WHEN g.kind = 'general' THEN getvariable('a17_general_limit_wd')
             ELSE getvariable('a17_limit_wd') END AS limit_wd,
        coalesce(CAST(g.accepted_at AS DATE), getvariable('as_of')) AS measured_to
    FROM stg_guarantees AS g
    WHERE g.applied_at < getvariable('as_of_end')
      AND g.guarantee_no IN (SELECT key FROM scope)
),
limits AS (
    -- The limit is the working day whose index is limit_wd past the application day's.
    SELECT
        a.*,
        lim.date AS limit_day,
        m.workday_index - lim.workday_index AS wd_late
    FROM applications AS a
    JOIN dim_date AS app ON app.date = a.applied_on
    JOIN dim_date AS lim ON lim.workday_index = app.workday_index + a.limit_wd AND lim.is_workday
    JOIN dim_date AS m ON m.date = a.measured_to
)
SELECT
    '1' AS rule_version,
    l.guarantee_no AS object_key,
    l.officer_id,
    o.dept_id,
    d.consignee_code AS ent_code,
    CASE
        WHEN l.wd_late <= getvariable('a17_yellow_max_wd') THEN 'yellow'
        WHEN l.wd_late <= getvariable('a17_orange_max_wd') THEN 'orange'
        ELSE 'red'
    END AS colour,
    l.wd_late AS metric,
    l.amount,
    json_object('kind', l.kind, 'applied_on', l.applied_on, 'limit_wd', l.limit_wd, 'limit_day', l.limit_day,
                'accepted_on', l.accepted_on, 'wd_late', l.wd_late, 'decl_no', l.decl_no) AS evidence,
    l.limit_day + 1 AS first_due,
    '' AS period
FROM limits AS l
LEFT JOIN stg_officers AS o ON o.officer_id = l.officer_id
LEFT JOIN int_declaration_consignees AS d ON d.decl_no = l.decl_no
WHERE l.measured_to > l.limit_day

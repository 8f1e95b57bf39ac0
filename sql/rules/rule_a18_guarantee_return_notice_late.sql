/* ---
kind: keyed
tags: [rules, guarantee]
rule:
  id: A18
  name_zh: 担保未及时发出退还通知
  name_en: Guarantee return notice late after the obligation was met
  category: a
  area: guarantee
  object_type: guarantees
  detects: a guarantee whose obligation was met but whose return notice was not sent within 10 working days
  grading: late beyond 10 working days yellow; more than 30 calendar days since the obligation was met orange; more than 90 red
  basis: 担保条例 20
  method: >
    Working days count from the working day after the obligation was met: the
    limit is the 10th working day after that date. A notice sent after the
    limit is measured to the notice, a missing one to the as-of date. The
    colour grades the calendar days since the obligation was met (up to 30
    yellow, up to 90 orange, more red). The warning is due the day after the
    limit.
params: [a18_limit_wd, a18_yellow_max_cd, a18_orange_max_cd]
parameters:
  - name: a18_limit_wd
    default: 10
    unit: working days
    rules: [A18]
    description: the return notice is sent within this many working days of the obligation being met
  - name: a18_yellow_max_cd
    default: 30
    unit: calendar days
    rules: [A18]
    description: calendar days since the obligation was met up to which a late notice is yellow
  - name: a18_orange_max_cd
    default: 90
    unit: calendar days
    rules: [A18]
    description: calendar days since the obligation was met up to which a late notice is orange; red beyond
tests:
  - unique: [object_key]
scope: |
  -- A met obligation without a return notice is measured to the as-of date;
  -- one the as-of date admits is new, and a notice dated after the last build
  -- closes it; a changed guarantee, or one whose declaration (consignee) or
  -- officer (department) changed, again.
  SELECT guarantee_no FROM stg_guarantees
  WHERE (obligation_met_on IS NOT NULL AND return_notice_on IS NULL)
     OR obligation_met_on >= getvariable('changed_since')
     OR return_notice_on >= getvariable('changed_since')
  UNION ALL SELECT guarantee_no FROM changed.guarantees
  UNION ALL SELECT guarantee_no FROM stg_guarantees WHERE decl_no IN (SELECT decl_no FROM diff.declarations WHERE consignee_code)
  UNION ALL SELECT guarantee_no FROM stg_guarantees WHERE officer_id IN (SELECT officer_id FROM changed.officers)
--- */
WITH released AS (
    SELECT
        g.guarantee_no, g.decl_no, g.kind, g.amount, g.officer_id, g.obligation_met_on, g.return_notice_on,
        coalesce(g.return_notice_on, getvariable('as_of')) AS measured_to
    FROM stg_guarantees AS g
    WHERE g.obligation_met_on <= getvariable('as_of')
      AND g.guarantee_no IN (SELECT key FROM scope)
),
limits AS (
    -- The limit is the working day whose index is the limit past the obligation day's.
    SELECT
        r.*,
        lim.date AS limit_day,
        m.workday_index - lim.workday_index AS wd_late,
        r.measured_to - r.obligation_met_on AS days_since_met
    FROM released AS r
    JOIN dim_date AS met ON met.date = r.obligation_met_on
    JOIN dim_date AS lim ON lim.workday_index = met.workday_index + getvariable('a18_limit_wd') AND lim.is_workday
    JOIN dim_date AS m ON m.date = r.measured_to
)
SELECT
    '1' AS rule_version,
    l.guarantee_no AS object_key,
    l.officer_id,
    o.dept_id,
    d.consignee_code AS ent_code,
    CASE
        WHEN l.days_since_met <= getvariable('a18_yellow_max_cd') THEN 'yellow'
        WHEN l.days_since_met <= getvariable('a18_orange_max_cd') THEN 'orange'
        ELSE 'red'
    END AS colour,
    l.days_since_met AS metric,
    l.amount,
    json_object('kind', l.kind, 'obligation_met_on', l.obligation_met_on, 'limit_day', l.limit_day,
                'return_notice_on', l.return_notice_on, 'wd_late', l.wd_late,
                'days_since_met', l.days_since_met, 'decl_no', l.decl_no) AS evidence,
    l.limit_day + 1 AS first_due,
    '' AS period
FROM limits AS l
LEFT JOIN stg_officers AS o ON o.officer_id = l.officer_id
LEFT JOIN int_declaration_consignees AS d ON d.decl_no = l.decl_no
WHERE l.measured_to > l.limit_day

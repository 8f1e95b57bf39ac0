/* ---
kind: keyed
tags: [rules, processing_trade]
rule:
  id: A08
  name_zh: 加工贸易手册逾期未报核
  name_en: Processing-trade manual not filed for close-out within the limit
  category: a
  area: processing trade
  object_type: manuals
  detects: >
    a processing-trade manual not filed for close-out (报核) within 30 calendar
    days of its expiry, last export or termination, whichever comes first
  grading: days since the manual ended up to 60 yellow, up to 90 orange, more red
  basis: 加工贸易货物监管办法
  method: >
    The manual ends on the earliest of valid_until, last_export_on and
    terminated_on. The limit ends 30 calendar days later (counted from the day
    after); a limit ending on a day off moves to the next working day. A
    filing after the limit is measured to the filing day, a manual still not
    filed to the as-of date; the colour grades the days since the manual ended.
params: [a08_limit_cd, a08_yellow_max_days, a08_orange_max_days]
parameters:
  - name: a08_limit_cd
    default: 30
    unit: calendar days
    rules: [A08]
    description: a manual is filed for close-out within this many days of its expiry, last export or termination
  - name: a08_yellow_max_days
    default: 60
    unit: calendar days
    rules: [A08]
    description: days since the manual ended up to which a late filing is yellow
  - name: a08_orange_max_days
    default: 90
    unit: calendar days
    rules: [A08]
    description: days since the manual ended up to which a late filing is orange; red beyond
tests:
  - unique: [object_key]
scope: |
  -- A manual not yet filed (or filed on a day the last build had not
  -- reached) is measured to the as-of date once that is past ended_on + the
  -- limit: before, it has no row, nor had one (a running manual, not yet
  -- ended, has none either); a changed manual, or one whose officer
  -- (department) changed, again.
  SELECT manual_no FROM stg_manuals
      WHERE (closeout_filed_on IS NULL OR closeout_filed_on >= getvariable('changed_since'))
        AND least(valid_until, last_export_on, terminated_on) + getvariable('a08_limit_cd') < getvariable('as_of')
  UNION ALL SELECT manual_no FROM changed.manuals
  UNION ALL SELECT manual_no FROM stg_manuals WHERE officer_id IN (SELECT officer_id FROM changed.officers)
--- */
WITH ended AS (
    -- least() skips NULLs: the manual ends at whichever of the three came first.
    SELECT
        m.manual_no, m.ent_code, m.officer_id, m.valid_until, m.last_export_on, m.terminated_on,
        m.closeout_filed_on,
        least(m.valid_until, m.last_export_on, m.terminated_on) AS ended_on
    FROM stg_manuals AS m
    WHERE m.manual_no IN (SELECT key FROM scope)
),
manuals AS (
    SELECT
        e.*,
        CASE e.ended_on
            WHEN e.terminated_on THEN 'termination'
            WHEN e.last_export_on THEN 'last_export'
            ELSE 'expiry'
        END AS ended_by,
        lim.next_workday AS limit_day,
        -- a manual not yet filed (least() skips the NULL) is measured to the as-of date
        least(e.closeout_filed_on, getvariable('as_of')) AS measured_to
    FROM ended AS e
    JOIN dim_date AS lim ON lim.date = e.ended_on + getvariable('a08_limit_cd')
)
SELECT
    '1' AS rule_version,
    m.manual_no AS object_key,
    m.officer_id,
    o.dept_id,
    m.ent_code,
    CASE
        WHEN m.measured_to - m.ended_on <= getvariable('a08_yellow_max_days') THEN 'yellow'
        WHEN m.measured_to - m.ended_on <= getvariable('a08_orange_max_days') THEN 'orange'
        ELSE 'red'
    END AS colour,
    m.measured_to - m.ended_on AS metric,
    CAST(NULL AS DECIMAL(18, 2)) AS amount,
    json_object('ended_on', m.ended_on, 'ended_by', m.ended_by, 'limit_day', m.limit_day,
                'closeout_filed_on', m.closeout_filed_on, 'days_since_end', m.measured_to - m.ended_on) AS evidence,
    m.limit_day + 1 AS first_due,
    '' AS period
FROM manuals AS m
LEFT JOIN stg_officers AS o ON o.officer_id = m.officer_id
WHERE m.measured_to > m.limit_day

/* ---
kind: keyed
tags: [rules, valuation]
rule:
  id: A24
  name_zh: 价格质疑超期未磋商未结案
  name_en: Price challenge left open without consultation or close
  category: a
  area: valuation
  object_type: declarations
  detects: >
    a price challenge (价格质疑) open beyond 15 working days with no price
    consultation (价格磋商) and no close
  grading: working days since the challenge was opened up to 30 yellow, up to 60 orange, more red
  basis: 审价办法
  method: >
    A challenge is a declaration_events row of step price_challenge with
    outcome open; the next price_challenge row of the declaration with
    outcome consultation or closed ends the wait. Times are read as local
    dates. Working days count from the working day after the opening: the
    limit is the 15th working day after the opening date. A consultation or
    close after that day is measured to it, a challenge still waiting to the
    as-of date, in working days since the opening; the warning is due the
    day after the limit. The officer is the one who opened the challenge. A
    declaration with several late challenges carries one warning, for the
    earliest.
params: [a24_limit_wd, a24_yellow_max_wd, a24_orange_max_wd]
parameters:
  - name: a24_limit_wd
    default: 15
    unit: working days
    rules: [A24]
    description: a price challenge is consulted on or closed within this many working days of its opening
  - name: a24_yellow_max_wd
    default: 30
    unit: working days
    rules: [A24]
    description: working days since the opening up to which a late challenge is yellow
  - name: a24_orange_max_wd
    default: 60
    unit: working days
    rules: [A24]
    description: working days since the opening up to which a late challenge is orange; red beyond
tests:
  - unique: [object_key]
scope: |
  -- A challenge still waiting (the declaration's last opening has no
  -- consultation or close after it) is measured to the as-of date, and a
  -- challenge step recorded ahead of its time comes within it; a
  -- declaration whose challenge steps changed (a tombstone's replaced version
  -- names its declaration), or whose declaration (consignee, value) or
  -- opening officer (department) changed, again.
  WITH challenge_steps AS (
      SELECT event_id, decl_no, officer_id, outcome, occurred_at
      FROM stg_declaration_events
      WHERE step = 'price_challenge'
  )
  SELECT decl_no FROM challenge_steps WHERE outcome IN ('open', 'consultation', 'closed')
  QUALIFY row_number() OVER (PARTITION BY decl_no ORDER BY occurred_at DESC, event_id DESC) = 1 AND outcome = 'open'
  UNION ALL SELECT decl_no FROM challenge_steps WHERE occurred_at >= getvariable('changed_since')
  UNION ALL SELECT decl_no FROM changed.declaration_events WHERE step = 'price_challenge'
  UNION ALL SELECT decl_no FROM changed.declarations WHERE decl_no IN (SELECT decl_no FROM challenge_steps)
  UNION ALL SELECT decl_no FROM challenge_steps WHERE officer_id IN (SELECT officer_id FROM changed.officers)
--- */
WITH steps AS (
    -- The challenge steps of the declarations in scope, each with the first
    -- consultation or close after it in event order, by a window over the
    -- declaration's steps: a self-join on "a later step" (an OR in its
    -- condition) runs as a nested-loop join of every opening against every
    -- consultation and close.
    SELECT
        e.event_id, e.decl_no, e.officer_id, e.dept_id, e.outcome, e.occurred_at,
        min(CASE WHEN e.outcome IN ('consultation', 'closed') THEN e.occurred_at END) OVER (
            PARTITION BY e.decl_no ORDER BY e.occurred_at, e.event_id
            ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS answered_at
    FROM stg_declaration_events AS e
    WHERE e.step = 'price_challenge'
      AND e.occurred_at < getvariable('as_of_end')
      AND e.decl_no IN (SELECT key FROM scope)
),
challenges AS (
    -- Each opening with the first consultation or close after it.
    SELECT
        event_id, decl_no, officer_id, dept_id,
        CAST(occurred_at AS DATE) AS opened_on,
        CAST(answered_at AS DATE) AS answered_on
    FROM steps
    WHERE outcome = 'open'
),
late AS (
    SELECT
        c.*,
        coalesce(c.answered_on, getvariable('as_of')) AS measured_to,
        lim.date AS limit_day,
        m.workday_index - op.workday_index AS wd_since
    FROM challenges AS c
    JOIN dim_date AS op ON op.date = c.opened_on
    JOIN dim_date AS lim ON lim.workday_index = op.workday_index + getvariable('a24_limit_wd') AND lim.is_workday
    JOIN dim_date AS m ON m.date = coalesce(c.answered_on, getvariable('as_of'))
    WHERE coalesce(c.answered_on, getvariable('as_of')) > lim.date
    QUALIFY row_number() OVER (PARTITION BY c.decl_no ORDER BY c.opened_on, c.event_id) = 1
)
SELECT
    '1' AS rule_version,
    l.decl_no AS object_key,
    l.officer_id,
    coalesce(l.dept_id, o.dept_id) AS dept_id,
    d.consignee_code AS ent_code,
    CASE
        WHEN l.wd_since <= getvariable('a24_yellow_max_wd') THEN 'yellow'
        WHEN l.wd_since <= getvariable('a24_orange_max_wd') THEN 'orange'
        ELSE 'red'
    END AS colour,
    l.wd_since AS metric,
    d.customs_value AS amount,
    json_object('event_id', l.event_id, 'opened_on', l.opened_on, 'limit_day', l.limit_day,
                'answered_on', l.answered_on, 'wd_since_opening', l.wd_since) AS evidence,
    l.limit_day + 1 AS first_due,
    '' AS period
FROM late AS l
LEFT JOIN stg_officers AS o ON o.officer_id = l.officer_id
LEFT JOIN stg_declarations AS d ON d.decl_no = l.decl_no

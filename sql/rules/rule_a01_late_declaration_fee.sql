/* ---
kind: keyed
tags: [rules, declaration]
rule:
  id: A01
  name_zh: 滞报未征滞报金
  name_en: Late import declaration without the late-declaration fee
  category: a
  area: declaration
  object_type: declarations
  detects: >
    an import declared after the 14-day limit from arrival with no 滞报金
    levied and no exemption code, although the computed fee reaches 50 yuan
  grading: the computed fee below 1 000 yellow, below 10 000 orange, else red
  basis: 海关法 24; 署令 128
  method: >
    The limit ends 14 calendar days after arrival (counted from the day after);
    a limit ending on a day off moves to the next working day. Days late run
    from the day after that limit to the acceptance date, both counted. The fee
    is customs_value × 0.0005 × days late, the part below one yuan dropped
    (不足1元的部分免予计收). The officer answerable is the tariff reviewer, else
    the manual reviewer of the declaration (acceptance is a system step).
params: [a01_limit_cd, a01_daily_rate, a01_min_fee, a01_yellow_below, a01_orange_below]
parameters:
  - name: a01_limit_cd
    default: 14
    unit: calendar days
    rules: [A01, A02]
    description: an import is declared within this many days of the means of transport's arrival
  - name: a01_daily_rate
    default: 0.0005
    unit: per day
    rules: [A01, A02]
    description: the 滞报金 charged per day late, as a share of the customs value
  - name: a01_min_fee
    default: 50
    unit: CNY
    rules: [A01, A02]
    description: a 滞报金 below this is not levied (起征点)
  - name: a01_yellow_below
    default: 1000
    unit: CNY
    rules: [A01]
    description: an unlevied fee below this is yellow
  - name: a01_orange_below
    default: 10000
    unit: CNY
    rules: [A01]
    description: an unlevied fee below this is orange; red from it
tests:
  - unique: [object_key]
scope: |
  -- A02 and A03 share this scope (scope_from): they read the same inputs.
  -- Acceptance is final, so a declaration is judged again only when
  -- something it reads changed: the declaration itself (arrival, acceptance,
  -- value, levied fee, exemption, consignee; a tombstone drops its row); its
  -- manual or tariff review events (the officer answerable, and the dept the
  -- event names; a tombstone's replaced version names its step and
  -- declaration); the officer's record where the event names no dept
  -- (dept_id then comes from stg_officers: a transfer).
  -- Time: a declaration accepted, or a review that occurred, after the last
  -- build's as-of date is admitted by the as-of filters only now.
  SELECT decl_no FROM changed.declarations
  UNION ALL SELECT decl_no FROM stg_declarations WHERE declared_at >= getvariable('changed_since')
  UNION ALL SELECT decl_no FROM changed.declaration_events WHERE step IN ('manual_review', 'tariff_review')
  UNION ALL SELECT decl_no FROM stg_declaration_events
      WHERE step IN ('manual_review', 'tariff_review') AND occurred_at >= getvariable('changed_since')
  UNION ALL SELECT decl_no FROM int_declaration_handlers
      WHERE fee_officer_dept_id IS NULL AND fee_officer_id IN (SELECT officer_id FROM changed.officers)
--- */
WITH imports AS (
    SELECT
        d.decl_no, d.consignee_code, d.customs_value, d.arrival_date, d.late_declaration_fee_levied,
        d.fee_exemption_code,
        CAST(d.declared_at AS DATE) AS declared_on,
        lim.next_workday AS limit_day
    FROM lookup_declarations((SELECT list(key) FROM scope)) AS d
    JOIN dim_date AS lim ON lim.date = d.arrival_date + getvariable('a01_limit_cd')
    WHERE d.ie_flag = 'I'
      AND d.declared_at < getvariable('as_of_end')
),
late AS (
    SELECT
        *,
        declared_on - limit_day AS days_late,
        -- Decimal arithmetic, so that a fee of exactly 50 yuan is not 49.999...
        floor(customs_value * CAST(getvariable('a01_daily_rate') AS DECIMAL(18, 6)) * (declared_on - limit_day)) AS fee
    FROM imports
    WHERE declared_on > limit_day
)
SELECT
    '1' AS rule_version,
    l.decl_no AS object_key,
    h.fee_officer_id AS officer_id,
    coalesce(h.fee_officer_dept_id, o.dept_id) AS dept_id,
    l.consignee_code AS ent_code,
    CASE
        WHEN l.fee < getvariable('a01_yellow_below') THEN 'yellow'
        WHEN l.fee < getvariable('a01_orange_below') THEN 'orange'
        ELSE 'red'
    END AS colour,
    l.fee AS metric,
    l.fee AS amount,
    json_object('arrival_date', l.arrival_date, 'limit_day', l.limit_day, 'declared_on', l.declared_on,
                'days_late', l.days_late, 'customs_value', l.customs_value, 'fee', l.fee) AS evidence,
    l.declared_on AS first_due,
    '' AS period
FROM late AS l
LEFT JOIN int_declaration_handlers AS h ON h.decl_no = l.decl_no
LEFT JOIN stg_officers AS o ON o.officer_id = h.fee_officer_id
WHERE l.fee >= getvariable('a01_min_fee')
  AND coalesce(l.late_declaration_fee_levied, 0) = 0
  AND l.fee_exemption_code IS NULL

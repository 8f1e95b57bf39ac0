/* ---
kind: keyed
tags: [rules, clearance]
rule:
  id: B15
  name_zh: 非当班时间审批放行修改
  name_en: Approvals, releases or modifications outside duty hours
  category: b
  area: any
  object_type: officers
  detects: >
    an officer approving, releasing or deciding a modification outside the
    officer's duty hours, counted per officer and month
  grading: 3 or more in a month yellow, 10 or more orange, any on a high-tax declaration red
  basis: internal control
  method: >
    Acts are declaration_events rows with an officer of step manual_review,
    tariff_review or fee_waiver (approvals), release, or modify_decision or
    cancel_decision (modifications), whatever the outcome. An act is on duty
    when a duty_roster shift of the officer (dated that day or the day
    before, for shifts past midnight) covers its time, or when the officer
    has no roster row for that day, the day is a working day and the time is
    within the default hours 08:30–17:30 (start included, end excluded).
    Acts are counted per officer and calendar month of their local date
    (period 'YYYY-MM'). A month warns from 3 acts, or from a single act on a
    high-tax declaration, one whose duty_payable plus vat_payable reaches
    b15_high_tax (M2 by default: the tax at which the money grading turns
    red); it is red then, else orange from 10 acts. It is due on the day of
    the third act, or of the first high-tax act if earlier.
params: [b15_yellow_count, b15_orange_count, b15_high_tax]
parameters:
  - name: b15_yellow_count
    default: 3
    unit: acts per month
    rules: [B15]
    description: off-duty acts of one officer in a month from which the month warns yellow
  - name: b15_orange_count
    default: 10
    unit: acts per month
    rules: [B15]
    description: off-duty acts of one officer in a month from which the warning is orange
  - name: b15_high_tax
    default: 100000
    unit: CNY
    rules: [B15]
    description: a declaration with duty and VAT of at least this is high-tax; any off-duty act on one is red
tests:
  - unique: [object_key, period]
scope: |
  -- An officer is judged again when one of the officer's acts changed (the
  -- replaced version names the officer it had) or is dated after the last
  -- build (had it landed earlier, the as-of date now admits it); when the
  -- declaration of one of the officer's off-duty acts changed (its tax
  -- makes the act red); when a shift dated up to the as-of date changed (it
  -- sets the hours of that day's and the next day's acts; a later shift sets
  -- none yet); or when the officer changed (department). Whether an act is
  -- off duty is int_off_duty_acts' judgement, so the scope takes every
  -- changed act: the few officers it adds only recount their small share of
  -- that table.
  SELECT officer_id FROM changed.declaration_events
  WHERE step IN ('manual_review', 'tariff_review', 'fee_waiver', 'release', 'modify_decision', 'cancel_decision')
  UNION ALL SELECT officer_id FROM stg_declaration_events
  WHERE step IN ('manual_review', 'tariff_review', 'fee_waiver', 'release', 'modify_decision', 'cancel_decision')
    AND occurred_at >= CAST(getvariable('changed_since') AS TIMESTAMPTZ)
  UNION ALL SELECT a.officer_id FROM int_off_duty_acts AS a JOIN changed.declarations AS d ON d.decl_no = a.decl_no
  UNION ALL SELECT officer_id FROM changed.duty_roster WHERE duty_date <= getvariable('as_of')
  UNION ALL SELECT officer_id FROM changed.officers
--- */
WITH off_duty AS (
    -- The officer's acts outside duty hours, judged act by act in
    -- int_off_duty_acts.
    SELECT
        a.*,
        coalesce(d.duty_payable, 0) + coalesce(d.vat_payable, 0) >= getvariable('b15_high_tax') AS high_tax
    FROM int_off_duty_acts AS a
    JOIN scope ON scope.key = a.officer_id
    LEFT JOIN stg_declarations AS d ON d.decl_no = a.decl_no
),
monthly AS (
    SELECT
        officer_id,
        strftime(act_on, '%Y-%m') AS period,
        count(*) AS acts,
        count(*) FILTER (WHERE high_tax) AS high_tax_acts,
        min(act_on) FILTER (WHERE high_tax) AS first_high_tax_on,
        list(act_on ORDER BY occurred_at, event_id) AS days,
        list(json_object('event_id', event_id, 'decl_no', decl_no, 'step', step, 'occurred_at', occurred_at,
                         'high_tax', high_tax) ORDER BY occurred_at, event_id) AS detail
    FROM off_duty
    GROUP BY ALL
)
SELECT
    '1' AS rule_version,
    m.officer_id AS object_key,
    m.officer_id,
    o.dept_id,
    CAST(NULL AS VARCHAR) AS ent_code,
    CASE
        WHEN m.high_tax_acts > 0 THEN 'red'
        WHEN m.acts >= getvariable('b15_orange_count') THEN 'orange'
        ELSE 'yellow'
    END AS colour,
    m.acts AS metric,
    CAST(NULL AS DECIMAL(18, 2)) AS amount,
    json_object('acts', m.acts, 'high_tax_acts', m.high_tax_acts, 'first_acts', list_slice(m.detail, 1, 20)) AS evidence,
    CASE
        WHEN m.acts >= getvariable('b15_yellow_count') AND m.first_high_tax_on IS NOT NULL
            THEN least(m.days[getvariable('b15_yellow_count')], m.first_high_tax_on)
        WHEN m.acts >= getvariable('b15_yellow_count') THEN m.days[getvariable('b15_yellow_count')]
        ELSE m.first_high_tax_on
    END AS first_due,
    m.period
FROM monthly AS m
LEFT JOIN stg_officers AS o ON o.officer_id = m.officer_id
WHERE m.acts >= getvariable('b15_yellow_count') OR m.high_tax_acts > 0

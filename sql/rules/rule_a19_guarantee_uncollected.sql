/* ---
kind: keyed
tags: [rules, guarantee]
rule:
  id: A19
  name_zh: 担保逾期未领取未公告或未没收
  name_en: Uncollected guarantee without public notice or confiscation
  category: a
  area: guarantee
  object_type: guarantees
  detects: >
    a guarantee left uncollected 3 months after its return notice without a
    public notice by then, or 15 months after it without confiscation by then
  grading: orange for the missing public notice; red once confiscation is missed
  basis: 担保条例 21
  method: >
    Each limit is the return notice date plus 3 (15) months, a month-end date
    clamped to the shorter month; a limit ending on a day off moves to the next
    working day. A guarantee uncollected on a limit day (not collected, or
    collected after it) breaches the limit when its public notice (confiscation)
    is missing as of the as-of date or came after the limit. The warning is due
    the day after the first limit breached; the colour is red once the
    15-month limit is breached.
params: [a19_public_notice_months, a19_confiscation_months]
parameters:
  - name: a19_public_notice_months
    default: 3
    unit: months
    rules: [A19]
    description: an uncollected guarantee is given public notice within this many months of the return notice
  - name: a19_confiscation_months
    default: 15
    unit: months
    rules: [A19]
    description: an uncollected guarantee is confiscated within this many months of the return notice
tests:
  - unique: [object_key]
scope: |
  -- An uncollected guarantee is measured to the as-of date (days uncollected)
  -- and breaches when the as-of date passes a limit with its step missing; it
  -- leaves the scope only once both steps were taken by the unrolled limit
  -- dates (so no later as-of date can breach it). A return notice the as-of
  -- date admits is new; a collection, public notice or confiscation dated
  -- after the last build is read against the as-of date; a changed guarantee,
  -- or one whose declaration (consignee) or officer (department) changed, again.
  SELECT guarantee_no FROM stg_guarantees
  WHERE return_notice_on IS NOT NULL AND collected_on IS NULL
    AND NOT coalesce(public_notice_on <= CAST(return_notice_on + INTERVAL (getvariable('a19_public_notice_months')) MONTH AS DATE)
                     AND confiscated_on <= CAST(return_notice_on + INTERVAL (getvariable('a19_confiscation_months')) MONTH AS DATE), false)
  UNION ALL SELECT guarantee_no FROM stg_guarantees
  WHERE return_notice_on >= getvariable('changed_since') OR collected_on >= getvariable('changed_since')
     OR public_notice_on >= getvariable('changed_since') OR confiscated_on >= getvariable('changed_since')
  UNION ALL SELECT guarantee_no FROM changed.guarantees
  UNION ALL SELECT guarantee_no FROM stg_guarantees WHERE decl_no IN (SELECT decl_no FROM diff.declarations WHERE consignee_code)
  UNION ALL SELECT guarantee_no FROM stg_guarantees WHERE officer_id IN (SELECT officer_id FROM changed.officers)
--- */
WITH noticed AS (
    SELECT
        g.guarantee_no, g.decl_no, g.amount, g.officer_id, g.return_notice_on, g.collected_on,
        g.public_notice_on, g.confiscated_on,
        pn.next_workday AS public_notice_limit,
        cf.next_workday AS confiscation_limit
    FROM stg_guarantees AS g
    JOIN dim_date AS pn
        ON pn.date = CAST(g.return_notice_on + INTERVAL (getvariable('a19_public_notice_months')) MONTH AS DATE)
    JOIN dim_date AS cf
        ON cf.date = CAST(g.return_notice_on + INTERVAL (getvariable('a19_confiscation_months')) MONTH AS DATE)
    WHERE g.return_notice_on <= getvariable('as_of')
      AND g.guarantee_no IN (SELECT key FROM scope)
),
judged AS (
    -- A step is missed when the guarantee was still uncollected on its limit day
    -- and the step had not been taken by that day.
    SELECT
        n.*,
        (n.collected_on IS NULL OR n.collected_on > n.public_notice_limit)
            AND coalesce(n.public_notice_on, getvariable('as_of')) > n.public_notice_limit AS public_notice_missed,
        (n.collected_on IS NULL OR n.collected_on > n.confiscation_limit)
            AND coalesce(n.confiscated_on, getvariable('as_of')) > n.confiscation_limit AS confiscation_missed
    FROM noticed AS n
)
SELECT
    '1' AS rule_version,
    j.guarantee_no AS object_key,
    j.officer_id,
    o.dept_id,
    d.consignee_code AS ent_code,
    CASE WHEN j.confiscation_missed THEN 'red' ELSE 'orange' END AS colour,
    coalesce(j.collected_on, getvariable('as_of')) - j.return_notice_on AS metric,
    j.amount,
    json_object('return_notice_on', j.return_notice_on, 'public_notice_limit', j.public_notice_limit,
                'public_notice_on', j.public_notice_on, 'confiscation_limit', j.confiscation_limit,
                'confiscated_on', j.confiscated_on, 'collected_on', j.collected_on,
                'days_uncollected', coalesce(j.collected_on, getvariable('as_of')) - j.return_notice_on,
                'decl_no', j.decl_no) AS evidence,
    CASE WHEN j.public_notice_missed THEN j.public_notice_limit ELSE j.confiscation_limit END + 1 AS first_due,
    '' AS period
FROM judged AS j
LEFT JOIN stg_officers AS o ON o.officer_id = j.officer_id
LEFT JOIN int_declaration_consignees AS d ON d.decl_no = j.decl_no
WHERE j.public_notice_missed OR j.confiscation_missed

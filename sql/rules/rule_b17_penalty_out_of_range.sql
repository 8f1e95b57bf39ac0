/* ---
kind: keyed
tags: [rules, supervision]
rule:
  id: B17
  name_zh: 处罚超出法定幅度或结案无决定
  name_en: Fine outside the statutory range, or case closed with no decision
  category: b
  area: penalty
  object_type: cases
  detects: a revenue case fined outside 30 %–200 % of the evaded tax, or a case closed with no decision
  grading: orange for a fine outside the range; red for a case closed with no decision
  basis: 实施条例 15
  method: >
    A case counts once it has a decided_on date. Closed with no decision
    means its decision is missing or still pending then (red). A revenue case
    is one with evaded tax above zero; its penalty decision's fine must lie
    within the range, both ends included; a penalty without a fine counts as
    a fine of zero (orange). metric is the fine as a share of the evaded tax, for
    penalties on revenue cases.
params: [b17_fine_min_share, b17_fine_max_share]
parameters:
  - name: b17_fine_min_share
    default: 0.3
    unit: share of the evaded tax
    rules: [B17]
    description: the lowest fine on a revenue case, as a share of the evaded tax
  - name: b17_fine_max_share
    default: 2.0
    unit: share of the evaded tax
    rules: [B17]
    description: the highest fine on a revenue case, as a share of the evaded tax
tests:
  - unique: [object_key]
scope: |
  -- A changed case (decision, fine, evaded tax, officer), or one whose
  -- officer changed (department), is judged again; a case decided on a day
  -- after the last build counts once the as-of date reaches that day.
  SELECT case_no FROM changed.cases
  UNION ALL SELECT case_no FROM stg_cases WHERE decided_on >= getvariable('changed_since')
  UNION ALL SELECT case_no FROM stg_cases WHERE officer_id IN (SELECT officer_id FROM changed.officers)
--- */
WITH decided AS (
    SELECT
        k.case_no, k.ent_code, k.decl_no, k.decided_on, k.decision, k.evaded_tax, k.officer_id, k.fine,
        CASE WHEN k.decision = 'penalty' AND k.evaded_tax > 0
            THEN round(coalesce(k.fine, 0) / k.evaded_tax, 6) END AS fine_share,
        coalesce(k.decision, 'pending') = 'pending' AS undecided,
        k.decision = 'penalty' AND k.evaded_tax > 0
            -- In decimals, so that a fine exactly on an end of the range is in it.
            AND (coalesce(k.fine, 0) < k.evaded_tax * CAST(getvariable('b17_fine_min_share') AS DECIMAL(9, 4))
                 OR coalesce(k.fine, 0) > k.evaded_tax * CAST(getvariable('b17_fine_max_share') AS DECIMAL(9, 4))) AS out_of_range
    FROM stg_cases AS k
    WHERE k.decided_on IS NOT NULL AND k.decided_on <= getvariable('as_of')
      AND k.case_no IN (SELECT key FROM scope)
)
SELECT
    '1' AS rule_version,
    c.case_no AS object_key,
    c.officer_id,
    o.dept_id,
    c.ent_code,
    CASE WHEN c.undecided THEN 'red' ELSE 'orange' END AS colour,
    c.fine_share AS metric,
    -- A case left undecided leaves the evaded tax at stake; a fine out of range, the fine.
    CASE WHEN c.undecided THEN c.evaded_tax ELSE coalesce(c.fine, 0) END AS amount,
    json_object('decided_on', c.decided_on, 'decision', c.decision, 'fine', c.fine,
                'evaded_tax', c.evaded_tax, 'decl_no', c.decl_no) AS evidence,
    c.decided_on AS first_due,
    '' AS period
FROM decided AS c
LEFT JOIN stg_officers AS o ON o.officer_id = c.officer_id
WHERE c.undecided OR c.out_of_range

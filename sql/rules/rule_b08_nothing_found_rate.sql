/* ---
kind: table
tags: [rules, inspection]
rule:
  id: B08
  name_zh: 查验"未见异常"比例显著高于同岗位
  name_en: Officer's "match, nothing found" inspection rate far above peers
  category: b
  area: inspection
  object_type: officers
  detects: an officer's share of inspections recorded "match, nothing found" lies far above that of the peers
  grading: z above 2 yellow, above 3 orange, above 4 red
  basis: WCO integrity practice
  method: >
    Per quarter (of the day the inspection finished) and subordinate customs
    (of the declaration, by its customs_code), every officer named in a
    finished inspection's team counts it once: n inspections, m with result
    match. Officers with n of at least b08_min_inspections are judged against
    their peers, the other officers of the same subordinate customs and quarter,
    pooled (leave-one-out): p = (M − m)/(N − n). z = (m/n − p)/√(p(1 − p)/n),
    the binomial standard error of the officer's rate under the peers' rate;
    undefined (no warning) when the peers found nothing or everything. The as-of
    quarter and the one before are reported, a running quarter judged (due) on
    the as-of date, a finished one on its last day. With z > 2 about 2 % of
    officers exceed by chance alone: the threshold is rules.md's.
params: [b08_min_inspections, b08_yellow_z, b08_orange_z, b08_red_z]
parameters:
  - name: b08_min_inspections
    default: 30
    unit: inspections per quarter
    rules: [B08]
    description: inspections an officer took part in during the quarter from which the rate is judged
  - name: b08_yellow_z
    default: 2
    unit: standard errors
    rules: [B08]
    description: z of the officer's nothing-found rate against the peers above which B08 fires (yellow)
  - name: b08_orange_z
    default: 3
    unit: standard errors
    rules: [B08]
    description: z above which the warning is orange
  - name: b08_red_z
    default: 4
    unit: standard errors
    rules: [B08]
    description: z above which the warning is red
tests:
  - unique: [object_key, period]
--- */
WITH quarters AS (
    SELECT quarter_label, least(max(date), getvariable('as_of')) AS judged_on
    FROM dim_date
    WHERE date <= getvariable('as_of')
      AND date >= CAST(date_trunc('quarter', getvariable('as_of')) - INTERVAL 3 MONTH AS DATE)
    GROUP BY quarter_label
),
slots AS (
    SELECT
        q.quarter_label AS quarter, sub.dept_id AS sub_id, t.officer_id,
        i.result = 'match' AS nothing_found
    FROM stg_inspections AS i
    CROSS JOIN unnest(json_extract_string(i.officers, '$[*]')) AS t(officer_id)
    JOIN stg_declarations AS d ON d.decl_no = i.decl_no
    LEFT JOIN dim_department AS sub ON sub.level = 'subordinate_customs' AND sub.customs_code = d.customs_code
    JOIN dim_date AS dd ON dd.date = CAST(i.finished_at AS DATE)
    JOIN quarters AS q ON q.quarter_label = dd.quarter_label
    WHERE i.result IS NOT NULL
      AND i.finished_at < getvariable('as_of_end')
      -- The window's first day, as a bound on the scan: older inspections
      -- fall outside the quarters anyway, and their row groups are skipped.
      AND i.finished_at >= CAST(CAST(date_trunc('quarter', getvariable('as_of')) - INTERVAL 3 MONTH AS DATE) AS TIMESTAMPTZ)
),
officers AS (
    SELECT
        quarter, sub_id, officer_id,
        count(*) AS inspections,
        count(*) FILTER (WHERE nothing_found) AS nothing_found,
        sum(count(*)) OVER (PARTITION BY quarter, sub_id) AS all_inspections,
        sum(count(*) FILTER (WHERE nothing_found)) OVER (PARTITION BY quarter, sub_id) AS all_nothing_found
    FROM slots
    GROUP BY quarter, sub_id, officer_id
),
scored AS (
    SELECT
        *,
        (all_nothing_found - nothing_found) / (all_inspections - inspections) AS peer_rate,
        nothing_found / inspections AS rate
    FROM officers
    WHERE inspections >= getvariable('b08_min_inspections')
      AND all_inspections > inspections
),
z_scores AS (
    SELECT *, (rate - peer_rate) / sqrt(peer_rate * (1 - peer_rate) / inspections) AS z
    FROM scored
    WHERE peer_rate > 0 AND peer_rate < 1
)
SELECT
    '1' AS rule_version,
    z.officer_id AS object_key,
    z.officer_id,
    o.dept_id,
    NULL AS ent_code,
    CASE
        WHEN z.z > getvariable('b08_red_z') THEN 'red'
        WHEN z.z > getvariable('b08_orange_z') THEN 'orange'
        ELSE 'yellow'
    END AS colour,
    round(z.z, 4) AS metric,
    NULL AS amount,
    json_object('sub_id', z.sub_id, 'inspections', z.inspections, 'nothing_found', z.nothing_found,
                'rate', round(z.rate, 4), 'peer_rate', round(z.peer_rate, 4),
                'peer_inspections', z.all_inspections - z.inspections, 'z', round(z.z, 4)) AS evidence,
    q.judged_on AS first_due,
    z.quarter AS period
FROM z_scores AS z
JOIN quarters AS q ON q.quarter_label = z.quarter
LEFT JOIN stg_officers AS o ON o.officer_id = z.officer_id
WHERE z.z > getvariable('b08_yellow_z')
QUALIFY row_number() OVER (PARTITION BY z.officer_id, z.quarter ORDER BY z.z DESC) = 1

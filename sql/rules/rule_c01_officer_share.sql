/* ---
kind: table
tags: [rules, integrity]
rule:
  id: C01
  name_zh: 关员经办单一企业业务占比异常
  name_en: Officer handles a share of one enterprise's declarations far above the even share
  category: c
  area: clearance
  object_type: pair
  detects: >
    an officer handles a share of one consignee's declarations far above the
    even share 1/k among the k officers of that post who handled them
  grading: share at least 3 × 1/k yellow, 5 × orange, 8 × red
  basis: WCO RAD (human resources); random-assignment studies
  method: >
    Counted over the last c01_window_days days up to the as-of date from the
    daily officer × enterprise counts (fact_pair_daily), per post
    (declaration_review: manual review steps; release: release steps) and
    consignee: n steps of the post on the consignee's declarations, k distinct
    officers who took any, x those of the officer. With random assignment
    each officer expects about 1/k; the rule fires when n reaches the minimum
    volume and x/n is at least c01_yellow_ratio × 1/k, i.e. x·k ≥ ratio·n, and
    grades the ratio x·k/n (the metric). It also requires the share to be
    significant, as statistics done properly must (judgment call beyond
    rules.md): without it chance alone puts one of 16 reviewers at 3 × on a
    consignee with 30 declarations about once in ten. The one-sided binomial
    p-value P(X ≥ x) against 1/k (summed in logs from x up to min(n, x + 400))
    is adjusted by Benjamini–Hochberg over every (consignee, officer) of the
    post with the minimum volume (pairs under the ratio count in m with
    p = 1) and must be below c01_alpha. A rolling window judged as of the
    as-of date: the warning is due on the as-of date it is seen; an officer
    counted in two posts in the window keeps the larger ratio.
params: [c01_window_days, c01_min_declarations, c01_yellow_ratio, c01_orange_ratio, c01_red_ratio, c01_alpha]
parameters:
  - name: c01_window_days
    default: 90
    unit: calendar days
    rules: [C01]
    description: the rolling window the shares are counted over, ending on the as-of date
  - name: c01_min_declarations
    default: 20
    unit: declarations
    rules: [C01]
    description: the consignee's declarations handled in the post in the window from which a share is judged
  - name: c01_yellow_ratio
    default: 3
    unit: multiple of the even share 1/k
    rules: [C01]
    description: the share of the consignee's declarations, as a multiple of 1/k, from which C01 fires (yellow)
  - name: c01_orange_ratio
    default: 5
    unit: multiple of the even share 1/k
    rules: [C01]
    description: the multiple of 1/k from which the warning is orange
  - name: c01_red_ratio
    default: 8
    unit: multiple of the even share 1/k
    rules: [C01]
    description: the multiple of 1/k from which the warning is red
  - name: c01_alpha
    default: 0.001
    unit: probability
    rules: [C01]
    description: the Benjamini–Hochberg adjusted one-sided binomial p-value (share against 1/k) below which a high share counts as more than chance
tests:
  - unique: [object_key]
--- */
WITH officer_counts AS (
    SELECT post, consignee_code AS ent_code, officer_id, CAST(sum(declarations) AS BIGINT) AS handled
    FROM fact_pair_daily
    WHERE day > getvariable('as_of') - getvariable('c01_window_days')
      AND day <= getvariable('as_of')
    GROUP BY post, consignee_code, officer_id
),
shares AS (
    SELECT
        *,
        CAST(sum(handled) OVER (PARTITION BY post, ent_code) AS BIGINT) AS total,
        count(*) OVER (PARTITION BY post, ent_code) AS officers
    FROM officer_counts
),
family_size AS (
    -- m: every (consignee, officer) of the post with the minimum volume.
    SELECT post, count(*) AS m
    FROM shares
    WHERE total >= getvariable('c01_min_declarations')
    GROUP BY post
),
high_shares AS (
    SELECT *, handled * officers / total AS ratio
    FROM shares
    WHERE total >= getvariable('c01_min_declarations')
      AND handled * officers >= getvariable('c01_yellow_ratio') * total
),
tails AS (
    -- P(X >= handled) for X ~ Binomial(total, 1/officers), term by term in logs.
    SELECT h.post, h.ent_code, h.officer_id,
           least(1.0, sum(exp(lgamma(h.total + 1) - lgamma(j + 1) - lgamma(h.total - j + 1)
                              + j * ln(1 / h.officers) + (h.total - j) * ln(1 - 1 / h.officers)))) AS p_value
    FROM high_shares AS h, LATERAL (SELECT unnest(generate_series(h.handled, least(h.total, h.handled + 400))) AS j)
    GROUP BY ALL
),
ranked AS (
    SELECT h.*, t.p_value, f.m,
           row_number() OVER (PARTITION BY h.post ORDER BY t.p_value, h.officer_id, h.ent_code) AS rnk
    FROM high_shares AS h
    JOIN tails AS t USING (post, ent_code, officer_id)
    JOIN family_size AS f USING (post)
),
significant AS (
    SELECT *,
           min(p_value * m / rnk) OVER (PARTITION BY post ORDER BY rnk DESC
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS p_adjusted
    FROM ranked
    QUALIFY p_adjusted < getvariable('c01_alpha')
),
hits AS (
    SELECT *
    FROM significant
    QUALIFY row_number() OVER (PARTITION BY officer_id, ent_code ORDER BY ratio DESC, post) = 1
)
SELECT
    '1' AS rule_version,
    h.officer_id || '|' || h.ent_code AS object_key,
    h.officer_id,
    o.dept_id,
    h.ent_code,
    CASE
        WHEN h.handled * h.officers >= getvariable('c01_red_ratio') * h.total THEN 'red'
        WHEN h.handled * h.officers >= getvariable('c01_orange_ratio') * h.total THEN 'orange'
        ELSE 'yellow'
    END AS colour,
    round(h.ratio, 4) AS metric,
    NULL AS amount,
    json_object('post', h.post, 'handled', h.handled, 'declarations', h.total, 'officers', h.officers,
                'share', round(h.handled / h.total, 4), 'even_share', round(1 / h.officers, 4),
                'p_value', h.p_value, 'p_adjusted', h.p_adjusted, 'pairs_tested', h.m,
                'window_from', getvariable('as_of') - getvariable('c01_window_days') + 1) AS evidence,
    getvariable('as_of') AS first_due,
    '' AS period
FROM hits AS h
LEFT JOIN stg_officers AS o ON o.officer_id = h.officer_id

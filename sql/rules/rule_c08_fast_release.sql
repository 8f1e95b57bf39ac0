/* ---
kind: table
tags: [rules, integrity]
rule:
  id: C08
  name_zh: 特定关员经办企业通关时间显著短于同岗位
  name_en: One officer clears an enterprise's declarations much faster than the peers do
  category: c
  area: clearance
  object_type: pair
  detects: >
    an enterprise's declarations clear much faster with one officer than with
    the officer's peers: the median release time is under half the peers'
  grading: median below 0.5 × the peers' yellow, below 0.25 × orange
  basis: performance-contract practice
  method: >
    Counted over the last c08_window_days days up to the as-of date from the
    daily release times (fact_release_daily). A declaration's release time
    runs from acceptance (declared_at) to its release step, in seconds; the
    officer is the one who recorded the release. For each consignee and
    officer with at least c08_min_releases of its releases in the window,
    against at least as many by the other officers together (the peers),
    the officer's median release time is compared with the peers' median
    (medians as DuckDB's median: the mean of the two middle values for an
    even count); the metric is their ratio. Yellow under c08_yellow_ratio,
    orange under c08_orange_ratio (rules.md gives Y/O and 0.5; the orange
    split at a quarter is this rule's parameter). Release times spread from
    minutes to days (evening arrivals wait overnight, payment may take
    days), so a median of 20 is noisy: with random assignment about one
    pair in six lies under 0.5 by chance. The rule therefore also requires
    the difference to be significant (judgment call beyond rules.md, as in
    C01): the sign test counts x of the officer's n releases quicker than
    the peers' median, P(X ≥ x) for X ~ Binomial(n, 1/2), adjusted by
    Benjamini–Hochberg over every tested pair (those not under the ratio
    with p = 1) below c08_alpha. A rolling window judged as of the as-of
    date: the warning is due on the as-of date it is seen.
params: [c08_window_days, c08_min_releases, c08_yellow_ratio, c08_orange_ratio, c08_alpha]
parameters:
  - name: c08_window_days
    default: 90
    unit: calendar days
    rules: [C08]
    description: the rolling window the release times are taken over, ending on the as-of date (fact_release_daily keeps 90 days)
  - name: c08_min_releases
    default: 20
    unit: releases
    rules: [C08]
    description: the consignee's releases by the officer, and by the peers together, in the window from which the medians are compared
  - name: c08_yellow_ratio
    default: 0.5
    unit: ratio of medians
    rules: [C08]
    description: the officer's median release time as a share of the peers' under which C08 fires (yellow)
  - name: c08_orange_ratio
    default: 0.25
    unit: ratio of medians
    rules: [C08]
    description: the share of the peers' median under which the warning is orange
  - name: c08_alpha
    default: 0.001
    unit: probability
    rules: [C08]
    description: the Benjamini–Hochberg adjusted one-sided sign-test p-value (officer's releases quicker than the peers' median) below which a fast median counts as more than chance
tests:
  - unique: [object_key]
--- */
WITH releases AS (
    SELECT r.consignee_code AS ent_code, r.officer_id, unnest(r.seconds) AS seconds
    FROM fact_release_daily AS r
    WHERE r.day > getvariable('as_of') - getvariable('c08_window_days')
      AND r.day <= getvariable('as_of')
),
officer_counts AS (
    SELECT ent_code, officer_id, count(*) AS releases
    FROM releases
    GROUP BY ent_code, officer_id
),
tested AS (
    -- Pairs with the minimum volume on both sides: the family of the test.
    SELECT *, sum(releases) OVER (PARTITION BY ent_code) - releases AS peer_releases
    FROM officer_counts
    QUALIFY releases >= getvariable('c08_min_releases')
        AND peer_releases >= getvariable('c08_min_releases')
),
peer_medians AS (
    SELECT t.ent_code, t.officer_id, median(r.seconds) AS peer_median
    FROM tested AS t
    JOIN releases AS r ON r.ent_code = t.ent_code AND r.officer_id <> t.officer_id
    GROUP BY t.ent_code, t.officer_id
),
medians AS (
    SELECT
        t.ent_code, t.officer_id, t.releases, t.peer_releases, p.peer_median,
        median(r.seconds) AS own_median,
        count(*) FILTER (WHERE r.seconds < p.peer_median) AS quicker
    FROM tested AS t
    JOIN peer_medians AS p USING (ent_code, officer_id)
    JOIN releases AS r ON r.ent_code = t.ent_code AND r.officer_id = t.officer_id
    GROUP BY ALL
),
family_size AS (
    SELECT count(*) AS m FROM medians
),
fast AS (
    SELECT *, own_median / peer_median AS ratio
    FROM medians
    WHERE own_median < getvariable('c08_yellow_ratio') * peer_median
),
tails AS (
    -- P(X >= quicker) for X ~ Binomial(releases, 1/2), term by term in logs.
    SELECT f.ent_code, f.officer_id,
           least(1.0, sum(exp(lgamma(f.releases + 1) - lgamma(j + 1) - lgamma(f.releases - j + 1)
                              + f.releases * ln(0.5)))) AS p_value
    FROM fast AS f, LATERAL (SELECT unnest(generate_series(f.quicker, least(f.releases, f.quicker + 400))) AS j)
    GROUP BY ALL
),
ranked AS (
    SELECT f.*, t.p_value, s.m,
           row_number() OVER (ORDER BY t.p_value, f.officer_id, f.ent_code) AS rnk
    FROM fast AS f
    JOIN tails AS t USING (ent_code, officer_id)
    CROSS JOIN family_size AS s
),
significant AS (
    SELECT *,
           min(p_value * m / rnk) OVER (ORDER BY rnk DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS p_adjusted
    FROM ranked
    QUALIFY p_adjusted < getvariable('c08_alpha')
)
SELECT
    '1' AS rule_version,
    s.officer_id || '|' || s.ent_code AS object_key,
    s.officer_id,
    o.dept_id,
    s.ent_code,
    CASE WHEN s.own_median < getvariable('c08_orange_ratio') * s.peer_median THEN 'orange' ELSE 'yellow' END AS colour,
    round(s.ratio, 4) AS metric,
    NULL AS amount,
    json_object('releases', s.releases, 'median_minutes', round(s.own_median / 60, 1),
                'peer_releases', s.peer_releases, 'peer_median_minutes', round(s.peer_median / 60, 1),
                'quicker_than_peer_median', s.quicker, 'p_value', s.p_value, 'p_adjusted', s.p_adjusted,
                'pairs_tested', s.m, 'window_from', getvariable('as_of') - getvariable('c08_window_days') + 1) AS evidence,
    getvariable('as_of') AS first_due,
    '' AS period
FROM significant AS s
LEFT JOIN stg_officers AS o ON o.officer_id = s.officer_id

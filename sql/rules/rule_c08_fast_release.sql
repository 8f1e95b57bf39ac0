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
-- The peers of a tested pair are its enterprise's releases less the
-- officer's own, so their median is found by position, not by a median
-- over the peers' rows (those counted each release once for every other
-- tested officer of its enterprise: 9.2 million rows at a year of the
-- district bench, for 1.1 million releases). Number the enterprise's
-- releases in order of time (equal times in any order: the peers' times in
-- order are the same whichever of them are the officer's). If the
-- officer's positions, 0-based and ascending, are b_0 < b_1 < ..., the
-- peers' k-th smallest (0-based) is the enterprise's (k + t)-th, where t
-- counts the i with b_i - i <= k (b_i - i is the number of peers before
-- the officer's i-th release). The median is the mean of the peers' two
-- middle values, as DuckDB's median takes it.
ordered AS (
    SELECT ent_code, officer_id, seconds,
           row_number() OVER (PARTITION BY ent_code ORDER BY seconds) AS pos
    FROM releases
),
enterprise_seconds AS (
    SELECT ent_code, list(seconds ORDER BY pos) AS all_seconds
    FROM ordered
    GROUP BY ent_code
),
own AS (
    SELECT t.ent_code, t.officer_id, t.releases, t.peer_releases,
           median(o.seconds) AS own_median,
           list(o.seconds) AS own_seconds,
           list(o.pos ORDER BY o.pos) AS own_pos
    FROM tested AS t
    JOIN ordered AS o USING (ent_code, officer_id)
    GROUP BY ALL
),
middles AS (
    SELECT o.*, e.all_seconds,
           CAST((o.peer_releases - 1) // 2 AS BIGINT) AS lo,
           CAST(o.peer_releases // 2 AS BIGINT) AS hi,
           -- b_i - i, from 1-based positions and 1-based list indexes.
           list_transform(o.own_pos, (p, i) -> p - i) AS peers_before
    FROM own AS o
    JOIN enterprise_seconds AS e USING (ent_code)
),
peer_medians AS (
    SELECT m.ent_code, m.officer_id, m.releases, m.peer_releases, m.own_median, m.own_seconds,
           (m.all_seconds[m.lo + len(list_filter(m.peers_before, b -> b <= m.lo)) + 1]
            + m.all_seconds[m.hi + len(list_filter(m.peers_before, b -> b <= m.hi)) + 1]) / 2 AS peer_median
    FROM middles AS m
),
medians AS (
    SELECT ent_code, officer_id, releases, peer_releases, peer_median, own_median,
           len(list_filter(own_seconds, s -> s < peer_median)) AS quicker
    FROM peer_medians
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

/* ---
kind: table
tags: [rules, integrity]
rule:
  id: C07
  name_zh: 常办关员离岗后企业查获率骤升
  name_en: An enterprise's findings rate jumps after its usual officer leaves the post
  category: c
  area: inspection
  object_type: pair
  detects: >
    an enterprise's findings rate (inspections with result mismatch among its
    inspections) jumps after the officer who usually handled its declarations
    leaves the post: the rate after is at least 3 × the rate before
  grading: orange
  basis: WCO RAD (human resources); random-assignment studies
  method: >
    A transfer is a version of an officer's record (dim_officer) with another
    department or post than the version before, from its post_since (a
    version without one is no transfer); each officer's latest transfer in
    the last c07_window_days days up to the as-of date counts, on its day T. The
    officer was the usual officer of a consignee if they released strictly
    more of its declarations than any other officer in the c07_window_days
    days before T (releases, the step that lets the goods go, from
    fact_release_daily; a tie names nobody). The warning is about the pair
    (the officer who left, the consignee), hence object_type pair; its
    dept_id is the officer's department before the move. The consignee's
    inspections that finished in the c07_window_days days before T (n_b, x_b
    findings) are compared with those from T to the as-of date (n_a, x_a),
    from fact_inspection_daily. With n_b and n_a both at least
    c07_min_inspections the pair is tested; it fires when the rate after is
    at least c07_ratio × the rate before, x_a·n_b ≥ ratio·x_b·n_a, with at
    least one finding after (a jump from none to none is none), and the jump
    is significant (judgment call beyond rules.md, as in C01): with a 5 %
    findings rate, no finding in 20 inspections and one in the next 20 is
    chance, so Fisher's one-sided exact test P(X ≥ x_a), X the findings
    after among all x_a + x_b (hypergeometric), adjusted by
    Benjamini–Hochberg over every tested pair (those under the ratio with
    p = 1), must be below c07_alpha. The metric is the findings rate after
    (the ratio is unbounded when nothing was found before); the evidence
    gives both sides. A rolling window judged as of the as-of date: the
    warning is due on the as-of date it is seen.
params: [c07_window_days, c07_min_inspections, c07_ratio, c07_alpha]
parameters:
  - name: c07_window_days
    default: 90
    unit: calendar days
    rules: [C07]
    description: how recent a transfer is judged (up to the as-of date), and the days before it over which the usual officer and the rate before are counted (the daily facts keep 180 days)
  - name: c07_min_inspections
    default: 20
    unit: inspections
    rules: [C07]
    description: the consignee's finished inspections needed on each side of the transfer
  - name: c07_ratio
    default: 3
    unit: multiple of the rate before
    rules: [C07]
    description: the findings rate after the transfer, as a multiple of the rate before, from which C07 fires (orange)
  - name: c07_alpha
    default: 0.001
    unit: probability
    rules: [C07]
    description: the Benjamini–Hochberg adjusted one-sided Fisher exact p-value (more findings after than before) below which a jump counts as more than chance
tests:
  - unique: [object_key]
--- */
WITH versions AS (
    SELECT
        officer_id, dept_id, post,
        post_since AS since,
        lag(dept_id) OVER (PARTITION BY officer_id ORDER BY valid_from) AS prev_dept,
        lag(post) OVER (PARTITION BY officer_id ORDER BY valid_from) AS prev_post,
        row_number() OVER (PARTITION BY officer_id ORDER BY valid_from) AS nth
    FROM dim_officer
),
moves AS (
    -- Changes of department or post in the window.
    SELECT officer_id, since, prev_dept,
           row_number() OVER (PARTITION BY officer_id ORDER BY since DESC) AS latest
    FROM versions
    WHERE nth > 1
      AND (coalesce(dept_id, '') <> coalesce(prev_dept, '') OR coalesce(post, '') <> coalesce(prev_post, ''))
      AND since > getvariable('as_of') - getvariable('c07_window_days')
      AND since <= getvariable('as_of')
),
transfers AS (
    -- Each officer's latest move.
    SELECT officer_id, since AS left_on, since - CAST(getvariable('c07_window_days') AS INTEGER) AS before_from,
           prev_dept AS dept_id
    FROM moves
    WHERE latest = 1
),
leavers_consignees AS (
    -- The consignees an officer who left released in the window before T:
    -- only of these can they have been the usual officer, so only these
    -- are counted for every officer (not every consignee released before
    -- each day T).
    SELECT DISTINCT t.left_on, t.before_from, r.consignee_code AS ent_code
    FROM transfers AS t
    JOIN fact_release_daily AS r
      ON r.officer_id = t.officer_id AND r.day >= t.before_from AND r.day < t.left_on
),
release_counts AS (
    SELECT c.left_on, c.ent_code, r.officer_id, CAST(sum(r.releases) AS BIGINT) AS releases
    FROM leavers_consignees AS c
    JOIN fact_release_daily AS r
      ON r.consignee_code = c.ent_code AND r.day >= c.before_from AND r.day < c.left_on
    GROUP BY ALL
),
ranked_releases AS (
    SELECT
        *,
        max(releases) OVER (PARTITION BY left_on, ent_code) AS top,
        count(*) OVER (PARTITION BY left_on, ent_code, releases) AS sharing
    FROM release_counts
),
usual_officers AS (
    -- The officer with strictly the most releases of the consignee before T.
    SELECT left_on, ent_code, officer_id, releases
    FROM ranked_releases
    WHERE releases = top AND sharing = 1
),
candidates AS (
    SELECT t.officer_id, t.dept_id, t.left_on, t.before_from, u.ent_code, u.releases
    FROM transfers AS t
    JOIN usual_officers AS u USING (left_on, officer_id)
),
sides AS (
    SELECT
        c.officer_id, c.dept_id, c.left_on, c.ent_code, c.releases,
        CAST(coalesce(sum(i.inspections) FILTER (WHERE i.day < c.left_on), 0) AS BIGINT) AS n_before,
        CAST(coalesce(sum(i.findings) FILTER (WHERE i.day < c.left_on), 0) AS BIGINT) AS x_before,
        CAST(coalesce(sum(i.inspections) FILTER (WHERE i.day >= c.left_on), 0) AS BIGINT) AS n_after,
        CAST(coalesce(sum(i.findings) FILTER (WHERE i.day >= c.left_on), 0) AS BIGINT) AS x_after
    FROM candidates AS c
    JOIN fact_inspection_daily AS i
      ON i.consignee_code = c.ent_code
     AND i.day >= c.before_from
     AND i.day <= getvariable('as_of')
    GROUP BY ALL
),
tested AS (
    SELECT *
    FROM sides
    WHERE n_before >= getvariable('c07_min_inspections')
      AND n_after >= getvariable('c07_min_inspections')
),
family_size AS (
    SELECT count(*) AS m FROM tested
),
jumps AS (
    SELECT *
    FROM tested
    WHERE x_after >= 1
      AND x_after * n_before >= getvariable('c07_ratio') * x_before * n_after
),
tails AS (
    -- Fisher: P(X >= x_after), X ~ Hypergeometric(n_after + n_before, x_after + x_before, n_after).
    SELECT j.officer_id, j.ent_code,
           least(1.0, sum(exp(
               lgamma(j.n_after + 1) - lgamma(k + 1) - lgamma(j.n_after - k + 1)
             + lgamma(j.n_before + 1) - lgamma(j.x_after + j.x_before - k + 1) - lgamma(j.n_before - j.x_after - j.x_before + k + 1)
             - lgamma(j.n_after + j.n_before + 1) + lgamma(j.x_after + j.x_before + 1)
             + lgamma(j.n_after + j.n_before - j.x_after - j.x_before + 1)))) AS p_value
    FROM jumps AS j, LATERAL (SELECT unnest(generate_series(j.x_after, least(j.n_after, j.x_after + j.x_before))) AS k)
    GROUP BY ALL
),
ranked AS (
    SELECT j.*, t.p_value, s.m,
           row_number() OVER (ORDER BY t.p_value, j.officer_id, j.ent_code) AS rnk
    FROM jumps AS j
    JOIN tails AS t USING (officer_id, ent_code)
    CROSS JOIN family_size AS s
),
significant AS (
    SELECT *,
           min(p_value * m / rnk) OVER (ORDER BY rnk DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS p_adjusted
    FROM ranked
    QUALIFY p_adjusted < getvariable('c07_alpha')
)
SELECT
    '1' AS rule_version,
    s.officer_id || '|' || s.ent_code AS object_key,
    s.officer_id,
    s.dept_id,
    s.ent_code,
    'orange' AS colour,
    round(s.x_after / s.n_after, 4) AS metric,
    NULL AS amount,
    json_object('left_post_on', s.left_on, 'releases_before', s.releases,
                'inspections_before', s.n_before, 'findings_before', s.x_before,
                'rate_before', round(s.x_before / s.n_before, 4),
                'inspections_after', s.n_after, 'findings_after', s.x_after,
                'rate_after', round(s.x_after / s.n_after, 4),
                'p_value', s.p_value, 'p_adjusted', s.p_adjusted, 'pairs_tested', s.m) AS evidence,
    getvariable('as_of') AS first_due,
    '' AS period
FROM significant AS s

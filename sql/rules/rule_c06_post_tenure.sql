/* ---
kind: table
tags: [rules, integrity]
rule:
  id: C06
  name_zh: 敏感岗位任职超期未轮岗
  name_en: Officer in the same sensitive post too long
  category: c
  area: personnel
  object_type: officers
  detects: an active officer has held the same sensitive post for 5 years or more without rotation
  grading: 5 years in post yellow, 6 orange, 7 or more red
  basis: 海关法 74; WCO RAD
  method: >
    Tenure runs from the current record's post_since (a transfer to another
    post or department is a new version with a new post_since) to the as-of
    date, in whole years; n years are complete on the n-th anniversary, and the
    anniversary of 29 February is 28 February in a common year. The warning is
    due from the anniversary that reaches the yellow limit. Sensitive posts are
    the enforcement posts subject to rotation, a parameter.
params: [c06_sensitive_posts, c06_yellow_years, c06_orange_years, c06_red_years]
parameters:
  - name: c06_sensitive_posts
    default: declaration_review,tariff_review,inspection,release,processing_trade,refund,guarantee
    unit: comma-separated posts
    rules: [C06]
    description: the posts subject to rotation
  - name: c06_yellow_years
    default: 5
    unit: years
    rules: [C06]
    description: years in the same sensitive post from which the officer is overdue for rotation (yellow)
  - name: c06_orange_years
    default: 6
    unit: years
    rules: [C06]
    description: years in the same sensitive post from which the warning is orange
  - name: c06_red_years
    default: 7
    unit: years
    rules: [C06]
    description: years in the same sensitive post from which the warning is red
tests:
  - unique: [object_key]
--- */
WITH tenures AS (
    SELECT
        o.officer_id, o.dept_id, o.post, o.post_since,
        date_sub('year', o.post_since, getvariable('as_of')) AS years_in_post,
        CAST(o.post_since + to_years(CAST(getvariable('c06_yellow_years') AS INTEGER)) AS DATE) AS overdue_from
    FROM stg_officers AS o
    WHERE o.status = 'active'
      AND list_contains(string_split(getvariable('c06_sensitive_posts'), ','), o.post)
      AND o.post_since IS NOT NULL
)
SELECT
    '1' AS rule_version,
    t.officer_id AS object_key,
    t.officer_id,
    t.dept_id,
    NULL AS ent_code,
    CASE
        WHEN t.years_in_post >= getvariable('c06_red_years') THEN 'red'
        WHEN t.years_in_post >= getvariable('c06_orange_years') THEN 'orange'
        ELSE 'yellow'
    END AS colour,
    t.years_in_post AS metric,
    NULL AS amount,
    json_object('post', t.post, 'post_since', t.post_since, 'years_in_post', t.years_in_post,
                'overdue_from', t.overdue_from) AS evidence,
    t.overdue_from AS first_due,
    '' AS period
FROM tenures AS t
WHERE t.overdue_from <= getvariable('as_of')

/* ---
kind: incremental
partition_by: as_of
publish: true
tags: [plugin, daily]
description: >
  Declarations accepted on the as-of date, per subordinate customs and
  direction: a plug-in mart, added as a file beside the embedded models.
tests:
  - unique: [as_of, customs_code, ie_flag]
  - not_null: [as_of, customs_code, subordinate_customs_id, declared]
  - accepted_values: {column: ie_flag, values: [I, E]}
  - relationships: {column: subordinate_customs_id, to: dim_department, field: dept_id}
  - expression: declared > 0
--- */
WITH accepted_today AS (
    SELECT customs_code, ie_flag, customs_value
    FROM stg_declarations
    -- The as-of date's local day, as a range on the timestamp itself so the
    -- scan skips row groups by their min/max instead of converting a year of
    -- timestamps (the session's zone, Asia/Shanghai, places the date).
    WHERE declared_at >= getvariable('as_of') AND declared_at < getvariable('as_of_end')
),
subordinate_customs AS (
    SELECT customs_code, dept_id AS subordinate_customs_id, name AS subordinate_customs
    FROM dim_department
    WHERE level = 'subordinate_customs'
)
SELECT
    getvariable('as_of') AS as_of,
    a.customs_code,
    s.subordinate_customs_id,
    s.subordinate_customs,
    a.ie_flag,
    count(*) AS declared,
    sum(a.customs_value) AS customs_value
FROM accepted_today AS a
LEFT JOIN subordinate_customs AS s USING (customs_code)
GROUP BY ALL

/* ---
kind: incremental
partition_by: as_of
publish: true
tags: [plugin, refunds]
params: [m1]
description: >
  Refund applications still open at the end of the as-of date, with the
  working days and calendar days since acceptance and whether the amount
  reaches the first money threshold M1.
tests:
  - unique: [as_of, refund_id]
  - not_null: [as_of, refund_id, accepted_on, workdays_open, days_open]
  - expression: workdays_open BETWEEN 0 AND days_open
  - relationships: {column: officer_id, to: dim_officer, field: officer_id}
    severity: warn
--- */
WITH open_refunds AS (
    SELECT refund_id, decl_no, officer_id, accepted_on, amount
    FROM stg_refunds
    WHERE accepted_on <= getvariable('as_of')
      AND (decided_on IS NULL OR decided_on > getvariable('as_of'))
),
as_of_day AS (
    SELECT workday_index FROM dim_date WHERE date = getvariable('as_of')
)
SELECT
    getvariable('as_of') AS as_of,
    r.refund_id,
    r.decl_no,
    r.officer_id,
    r.accepted_on,
    r.amount,
    r.amount >= getvariable('m1') AS reaches_m1,
    t.workday_index - a.workday_index AS workdays_open,
    getvariable('as_of') - r.accepted_on AS days_open
FROM open_refunds AS r
JOIN dim_date AS a ON a.date = r.accepted_on
CROSS JOIN as_of_day AS t

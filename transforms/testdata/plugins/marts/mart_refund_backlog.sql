/* ---
kind: table
publish: true
tags: [plugin, refunds]
description: >
  The refund backlog per as-of date over every partition of
  mart_open_refunds, so a table downstream of an incremental model is built
  from all its partitions.
tests:
  - unique: [as_of]
  - expression: open_refunds >= reaching_m1
--- */
SELECT
    as_of,
    count(*) AS open_refunds,
    count(*) FILTER (WHERE reaches_m1) AS reaching_m1,
    sum(amount) AS amount,
    max(workdays_open) AS oldest_workdays_open
FROM mart_open_refunds
GROUP BY as_of

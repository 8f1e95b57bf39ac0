/* ---
kind: incremental
partition_by: day
lookback: 180
tags: [facts, integrity]
description: >
  Daily finished inspections per consignee for C07: one row per day an
  inspection finished (finished_at, local date) and consignee of its
  declaration, with the inspections that have a result and the findings
  among them (result mismatch). The partitions of the last 180 days are
  kept filled (C07 compares the 90 days before a transfer up to 90 days old
  with the days since), each built from the inspections finished on its day
  as known at the time.
tests:
  - unique: [day, consignee_code]
  - not_null: [day, consignee_code, inspections, findings]
  - expression: findings <= inspections
--- */
WITH finished AS (
    SELECT finished_at, result, decl_no
    FROM stg_inspections
    WHERE result IS NOT NULL
      AND finished_at >= CAST(getvariable('partition_from') AS TIMESTAMPTZ)
      AND finished_at < getvariable('as_of_end')
)
SELECT
    CAST(i.finished_at AS DATE) AS day,
    d.consignee_code,
    count(*) AS inspections,
    count(*) FILTER (WHERE i.result = 'mismatch') AS findings
FROM finished AS i
JOIN lookup_declarations((SELECT list(decl_no) FROM finished)) AS d ON d.decl_no = i.decl_no
WHERE d.consignee_code IS NOT NULL
GROUP BY ALL

/* ---
kind: incremental
partition_by: work_date
publish: true
tags: [facts, workload]
description: >
  Basic business information (基本业务信息), per enterprise per day: the
  declarations accepted for it as consignee, and as broker (declarant); the
  inspections of its declarations finished that day, and among them the
  findings (result mismatch). The as-of date's partition holds that day's
  figures, read from that day's declarations and inspections only; an
  enterprise with nothing on the day has no row.
tests:
  - unique: [work_date, ent_code]
  - not_null: [work_date, ent_code, declarations, declarations_as_broker, inspections, findings]
  - expression: findings <= inspections
--- */
WITH day_declarations AS (
    SELECT decl_no, consignee_code, declarant_code
    FROM stg_declarations
    WHERE declared_at >= CAST(getvariable('as_of') AS TIMESTAMPTZ)
      AND declared_at < getvariable('as_of_end')
),
day_inspections AS (
    SELECT i.inspection_id, i.result, d.consignee_code
    FROM stg_inspections AS i
    JOIN stg_declarations AS d ON d.decl_no = i.decl_no
    WHERE i.finished_at >= CAST(getvariable('as_of') AS TIMESTAMPTZ)
      AND i.finished_at < getvariable('as_of_end')
),
-- One row per thing that happened to an enterprise today.
happenings AS (
    SELECT consignee_code AS ent_code, 'declaration' AS what
    FROM day_declarations
    WHERE consignee_code IS NOT NULL
    UNION ALL
    SELECT declarant_code, 'brokered'
    FROM day_declarations
    WHERE declarant_code IS NOT NULL
    UNION ALL
    SELECT consignee_code, CASE WHEN result = 'mismatch' THEN 'finding' ELSE 'inspection' END
    FROM day_inspections
    WHERE consignee_code IS NOT NULL
)
SELECT
    getvariable('as_of') AS work_date,
    h.ent_code,
    e.name,
    e.kind,
    e.credit_class,
    count(*) FILTER (WHERE h.what = 'declaration') AS declarations,
    count(*) FILTER (WHERE h.what = 'brokered') AS declarations_as_broker,
    count(*) FILTER (WHERE h.what IN ('inspection', 'finding')) AS inspections,
    count(*) FILTER (WHERE h.what = 'finding') AS findings
FROM happenings AS h
LEFT JOIN stg_enterprises AS e ON e.ent_code = h.ent_code
GROUP BY ALL

/* ---
kind: incremental
partition_by: work_date
lookback: 92
publish: true
tags: [facts, workload]
description: >
  Basic business information (基本业务信息), per enterprise per day: the
  declarations accepted for it as consignee, and as broker (declarant); the
  inspections of its declarations finished that day, and among them the
  findings (result mismatch). One partition per day (the local date of the
  declaration or of the inspection's end), read from that day's
  declarations and inspections only. The lookback of 92 days keeps a
  quarter of daily figures filled from the first run on, for the workload
  trends of the quarterly evaluation and the daily prompt; afterwards a
  night builds only the missing days. A day once built is kept: a record
  that arrives after its day's partition was built counts only when that
  day is built again (the as-of day by a recompute, the window by a full
  refresh). name, kind and credit_class are the register's at the end of
  the day. An enterprise with nothing on a day has no row for it.
tests:
  - unique: [work_date, ent_code]
  - not_null: [work_date, ent_code, declarations, declarations_as_broker, inspections, findings]
  - expression: findings <= inspections
--- */
WITH window_declarations AS (
    SELECT CAST(declared_at AS DATE) AS work_date, decl_no, consignee_code, declarant_code
    FROM stg_declarations
    WHERE (declared_at >= getvariable('partition_from') AND declared_at < getvariable('as_of_end'))
),
finished AS (
    SELECT CAST(finished_at AS DATE) AS work_date, inspection_id, result, decl_no
    FROM stg_inspections
    WHERE (finished_at >= getvariable('partition_from') AND finished_at < getvariable('as_of_end'))
),
window_inspections AS (
    SELECT i.work_date, i.inspection_id, i.result, d.consignee_code
    FROM finished AS i
    JOIN lookup_declarations((SELECT list(decl_no) FROM finished)) AS d ON d.decl_no = i.decl_no
),
-- One row per thing that happened to an enterprise on a day.
happenings AS (
    SELECT work_date, consignee_code AS ent_code, 'declaration' AS what
    FROM window_declarations
    WHERE consignee_code IS NOT NULL
    UNION ALL
    SELECT work_date, declarant_code, 'brokered'
    FROM window_declarations
    WHERE declarant_code IS NOT NULL
    UNION ALL
    SELECT work_date, consignee_code, CASE WHEN result = 'mismatch' THEN 'finding' ELSE 'inspection' END
    FROM window_inspections
    WHERE consignee_code IS NOT NULL
),
-- The register's versions, each valid from its updated_at until the next
-- one's (a deletion ends the enterprise), so every day is labelled as a run
-- on that day saw it.
register_versions AS (
    SELECT ent_code, name, kind, credit_class, deleted, updated_at
    FROM raw.enterprises
    WHERE updated_at < getvariable('as_of_end')
      AND ent_code IN (SELECT ent_code FROM happenings)
    QUALIFY row_number() OVER (PARTITION BY ent_code, updated_at ORDER BY _ingested_at DESC) = 1
),
register AS (
    SELECT
        ent_code, name, kind, credit_class, deleted,
        updated_at AS valid_from,
        lead(updated_at) OVER (PARTITION BY ent_code ORDER BY updated_at) AS valid_to
    FROM register_versions
)
SELECT
    h.work_date,
    h.ent_code,
    e.name,
    e.kind,
    e.credit_class,
    count(*) FILTER (WHERE h.what = 'declaration') AS declarations,
    count(*) FILTER (WHERE h.what = 'brokered') AS declarations_as_broker,
    count(*) FILTER (WHERE h.what IN ('inspection', 'finding')) AS inspections,
    count(*) FILTER (WHERE h.what = 'finding') AS findings
FROM happenings AS h
LEFT JOIN register AS e
    ON e.ent_code = h.ent_code
   AND NOT e.deleted
   AND e.valid_from < CAST(h.work_date + 1 AS TIMESTAMPTZ)
   AND (e.valid_to IS NULL OR e.valid_to >= CAST(h.work_date + 1 AS TIMESTAMPTZ))
GROUP BY ALL

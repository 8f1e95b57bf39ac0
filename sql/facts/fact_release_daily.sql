/* ---
kind: incremental
partition_by: day
lookback: 180
tags: [facts, integrity]
description: >
  Daily releases per officer and consignee for C07 and C08: one row per day
  of release, release officer and consignee, with the number of releases and
  the seconds each took from acceptance (declarations.declared_at) to the
  release step (declaration_events step release), sorted. Rolling windows
  then read these small daily rows instead of the events; the partitions of
  the last 180 days are kept filled (C08 looks back c08_window_days, 90; C07
  counts the releases in the 90 days before a transfer up to 90 days old;
  longer windows need a larger lookback), each built from the release steps
  that occurred on its day. Releases without an officer are not counted.
tests:
  - unique: [day, officer_id, consignee_code]
  - not_null: [day, officer_id, consignee_code, releases, seconds]
  - expression: releases = len(seconds)
--- */
WITH release_steps AS (
    SELECT decl_no, officer_id, occurred_at
    FROM stg_declaration_events
    WHERE step = 'release'
      AND officer_id IS NOT NULL
      AND occurred_at >= CAST(getvariable('partition_from') AS TIMESTAMPTZ)
      AND occurred_at < getvariable('as_of_end')
),
releases AS (
    SELECT
        CAST(e.occurred_at AS DATE) AS day,
        e.officer_id,
        d.consignee_code,
        date_diff('second', d.declared_at, e.occurred_at) AS seconds
    FROM release_steps AS e
    JOIN lookup_declarations((SELECT list(decl_no) FROM release_steps)) AS d ON d.decl_no = e.decl_no
    WHERE d.consignee_code IS NOT NULL
      AND d.declared_at IS NOT NULL
)
SELECT day, officer_id, consignee_code, count(*) AS releases, list(seconds ORDER BY seconds) AS seconds
FROM releases
GROUP BY day, officer_id, consignee_code

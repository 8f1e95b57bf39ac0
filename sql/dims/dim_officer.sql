/* ---
kind: table
publish: true
tags: [dims]
description: >
  Officers as a slowly changing dimension (type 2): one row per version of
  an officer's record up to the as-of date, valid from its updated_at until
  the next version's; a transfer is a new row. A tombstone ends the officer's
  last row without adding one.
tests:
  - unique: [officer_id, valid_from]
  - not_null: [officer_id, valid_from, is_current]
--- */
WITH versions AS (
    SELECT * EXCLUDE (_run_id, _ingested_at, extra)
    FROM raw.officers
    WHERE updated_at < getvariable('as_of_end')
    QUALIFY row_number() OVER (PARTITION BY officer_id, updated_at ORDER BY _ingested_at) = 1
),
spans AS (
    SELECT
        *,
        updated_at AS valid_from,
        lead(updated_at) OVER (PARTITION BY officer_id ORDER BY updated_at) AS valid_to
    FROM versions
)
SELECT
    officer_id, name, dept_id, post, post_since, is_leader, status,
    valid_from, valid_to, valid_to IS NULL AS is_current
FROM spans
WHERE NOT deleted

/* ---
kind: incremental
partition_by: day
lookback: 276
tags: [facts, integrity]
description: >
  Daily officer × enterprise handling counts for the relationship statistics
  (C01, C02): one row per day, post, subordinate customs, officer, consignee
  and declaring broker with the number of declaration steps of that post the
  officer took that day. The posts are declaration_review (manual_review
  steps) and release (release steps); the subordinate customs is the one of
  the department the step was recorded in (the officer's section then). One
  partition per day, built once: a night adds the new day, so the rules sum
  small daily rows instead of rescanning 90 days of events. The lookback of
  276 days keeps the window C02 needs (the as-of quarter and the one before,
  from the start of the quarter two quarters back) and C01's 90 days filled
  from the first run on; a c01_window_days above it would need a longer one.
tests:
  - unique: [day, post, sub_id, officer_id, consignee_code, declarant_code]
  - not_null: [day, post, officer_id, declarations]
--- */
WITH steps AS (
    SELECT
        CAST(e.occurred_at AS DATE) AS day,
        CASE e.step WHEN 'manual_review' THEN 'declaration_review' ELSE 'release' END AS post,
        e.dept_id, e.officer_id, e.decl_no
    FROM stg_declaration_events AS e
    WHERE e.step IN ('manual_review', 'release')
      AND e.officer_id IS NOT NULL
      AND (e.occurred_at >= getvariable('partition_from') AND e.occurred_at < getvariable('as_of_end'))
)
SELECT
    s.day, s.post, dd.subordinate_customs_id AS sub_id, s.officer_id,
    d.consignee_code, d.declarant_code,
    count(*) AS declarations
FROM steps AS s
JOIN lookup_declarations((SELECT list(decl_no) FROM steps)) AS d ON d.decl_no = s.decl_no
LEFT JOIN dim_department AS dd ON dd.dept_id = s.dept_id
GROUP BY ALL

/* ---
kind: table
publish: true
tags: [dims]
description: >
  The department tree as of the as-of date, with each department's path from
  headquarters and the subordinate and direct customs it belongs to, for
  routing warnings and for scoped marts.
tests:
  - unique: [dept_id]
  - not_null: [dept_id, path]
  - expression: "NOT orphan"
    severity: warn
  - accepted_values: {column: level, values: [headquarters, direct_customs, subordinate_customs, section]}
--- */
WITH RECURSIVE tree AS (
    SELECT
        dept_id, name, level, parent_id, customs_code, function,
        0 AS depth,
        dept_id AS path,
        name AS name_path,
        CASE WHEN level = 'direct_customs' THEN dept_id END AS direct_customs_id,
        CASE WHEN level = 'subordinate_customs' THEN dept_id END AS subordinate_customs_id
    FROM stg_departments
    WHERE parent_id IS NULL
    UNION ALL
    SELECT
        d.dept_id, d.name, d.level, d.parent_id, d.customs_code, d.function,
        t.depth + 1,
        t.path || '/' || d.dept_id,
        t.name_path || ' / ' || d.name,
        CASE WHEN d.level = 'direct_customs' THEN d.dept_id ELSE t.direct_customs_id END,
        CASE WHEN d.level = 'subordinate_customs' THEN d.dept_id ELSE t.subordinate_customs_id END
    FROM stg_departments AS d
    JOIN tree AS t ON d.parent_id = t.dept_id
)
SELECT *, false AS orphan FROM tree
UNION ALL
SELECT
    dept_id, name, level, parent_id, customs_code, function,
    NULL, dept_id, name, NULL, NULL,
    true
FROM stg_departments
WHERE dept_id NOT IN (SELECT dept_id FROM tree)

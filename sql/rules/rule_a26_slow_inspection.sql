/* ---
kind: keyed
tags: [rules, inspection]
rule:
  id: A26
  name_zh: 查验超时
  name_en: Inspection started or finished late
  category: a
  area: inspection
  object_type: inspections
  detects: an inspection not started within 1 working day of its assignment, or not finished within 3
  grading: >
    working days from assignment to the start (or the end) from 1× its limit
    yellow, from 2× orange, from 4× red; the worse of the two
  basis: internal control
  method: >
    Limits are counted in dates, as an officer reads them: "within 1 WD" is by
    the end of the first working day after the day of assignment, "within 3
    WD" the third. An inspection not yet started or finished is measured to
    the as-of date. The multiple is the working days in (assignment date, start
    or end date] over the limit. The warning is due the calendar day after the
    first limit passed. The officer answerable is the lead inspector (the first
    of the team).
params: [a26_start_limit_wd, a26_finish_limit_wd, a26_orange_multiple, a26_red_multiple]
parameters:
  - name: a26_start_limit_wd
    default: 1
    unit: working days
    rules: [A26]
    description: an inspection is started within this many working days after the day of its assignment
  - name: a26_finish_limit_wd
    default: 3
    unit: working days
    rules: [A26]
    description: an inspection is finished within this many working days after the day of its assignment
  - name: a26_orange_multiple
    default: 2
    unit: times the limit
    rules: [A26]
    description: working days of this many times the limit or more are orange
  - name: a26_red_multiple
    default: 4
    unit: times the limit
    rules: [A26]
    description: working days of this many times the limit or more are red
tests:
  - unique: [object_key]
scope: |
  -- An inspection not yet started or finished is measured to the as-of
  -- date, and an assignment, start or finish recorded ahead of its time
  -- comes within it once its day is reached; a changed inspection again, or
  -- one whose declaration (consignee) or lead inspector (department)
  -- changed.
  SELECT inspection_id FROM stg_inspections
  WHERE started_at IS NULL OR finished_at IS NULL
     OR assigned_at >= getvariable('changed_since')
     OR started_at >= getvariable('changed_since')
     OR finished_at >= getvariable('changed_since')
  UNION ALL SELECT inspection_id FROM changed.inspections
  UNION ALL SELECT inspection_id FROM stg_inspections WHERE decl_no IN (SELECT decl_no FROM diff.declarations WHERE consignee_code)
  UNION ALL SELECT inspection_id FROM stg_inspections
  WHERE json_extract_string(officers, '$[0]') IN (SELECT officer_id FROM changed.officers)
--- */
WITH assigned AS (
    SELECT
        i.inspection_id, i.decl_no, i.assigned_at, i.started_at, i.finished_at,
        json_extract_string(i.officers, '$[0]') AS lead_officer_id,
        CAST(i.assigned_at AS DATE) AS assigned_on,
        -- Not yet started or finished: measured to the as-of date.
        CASE WHEN i.started_at < getvariable('as_of_end') THEN CAST(i.started_at AS DATE) ELSE getvariable('as_of') END AS start_upto,
        CASE WHEN i.finished_at < getvariable('as_of_end') THEN CAST(i.finished_at AS DATE) ELSE getvariable('as_of') END AS finish_upto
    FROM stg_inspections AS i
    WHERE i.assigned_at < getvariable('as_of_end')
      AND i.inspection_id IN (SELECT key FROM scope)
),
measured AS (
    SELECT
        a.*,
        sb.date AS start_by,
        fb.date AS finish_by,
        su.workday_index - ad.workday_index AS wd_to_start,
        fu.workday_index - ad.workday_index AS wd_to_finish
    FROM assigned AS a
    JOIN dim_date AS ad ON ad.date = a.assigned_on
    JOIN dim_date AS sb ON sb.workday_index = ad.workday_index + getvariable('a26_start_limit_wd') AND sb.is_workday
    JOIN dim_date AS fb ON fb.workday_index = ad.workday_index + getvariable('a26_finish_limit_wd') AND fb.is_workday
    JOIN dim_date AS su ON su.date = a.start_upto
    JOIN dim_date AS fu ON fu.date = a.finish_upto
),
-- Each limit passed, graded on its own: 1 yellow, 2 orange, 3 red.
graded AS (
    SELECT
        *,
        CASE WHEN start_upto > start_by THEN
            CASE
                WHEN wd_to_start >= getvariable('a26_red_multiple') * getvariable('a26_start_limit_wd') THEN 3
                WHEN wd_to_start >= getvariable('a26_orange_multiple') * getvariable('a26_start_limit_wd') THEN 2
                ELSE 1
            END
        END AS start_grade,
        CASE WHEN finish_upto > finish_by THEN
            CASE
                WHEN wd_to_finish >= getvariable('a26_red_multiple') * getvariable('a26_finish_limit_wd') THEN 3
                WHEN wd_to_finish >= getvariable('a26_orange_multiple') * getvariable('a26_finish_limit_wd') THEN 2
                ELSE 1
            END
        END AS finish_grade
    FROM measured
)
SELECT
    '1' AS rule_version,
    g.inspection_id AS object_key,
    g.lead_officer_id AS officer_id,
    o.dept_id,
    d.consignee_code AS ent_code,
    ['yellow', 'orange', 'red'][greatest(g.start_grade, g.finish_grade)] AS colour,
    round(greatest(CASE WHEN g.start_grade IS NOT NULL THEN g.wd_to_start / getvariable('a26_start_limit_wd') END,
                   CASE WHEN g.finish_grade IS NOT NULL THEN g.wd_to_finish / getvariable('a26_finish_limit_wd') END), 2) AS metric,
    CAST(NULL AS DECIMAL(18, 2)) AS amount,
    json_object('decl_no', g.decl_no, 'assigned_at', g.assigned_at, 'started_at', g.started_at, 'finished_at', g.finished_at,
                'start_by', g.start_by, 'finish_by', g.finish_by,
                'workdays_to_start', g.wd_to_start, 'workdays_to_finish', g.wd_to_finish) AS evidence,
    least(CASE WHEN g.start_grade IS NOT NULL THEN g.start_by + 1 END,
          CASE WHEN g.finish_grade IS NOT NULL THEN g.finish_by + 1 END) AS first_due,
    '' AS period
FROM graded AS g
LEFT JOIN stg_officers AS o ON o.officer_id = g.lead_officer_id
LEFT JOIN int_declaration_consignees AS d ON d.decl_no = g.decl_no
WHERE g.start_grade IS NOT NULL OR g.finish_grade IS NOT NULL

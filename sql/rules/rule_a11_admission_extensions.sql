/* ---
kind: keyed
tags: [rules, temporary_admission]
rule:
  id: A11
  name_zh: 暂时进境货物超次数或超期限延期未经总署批准
  name_en: Temporary admission extended too often or too long without GAC approval
  category: a
  area: temporary admission
  object_type: temporary_admissions
  detects: >
    a temporary admission extended more than 3 times, or beyond 18 months from
    its admission, without the approval of the General Administration (GAC)
  grading: orange; red when the admission now runs beyond 24 months
  basis: 署令 233
  method: >
    Every recorded version of the admission is examined: the warning is due
    on the day of the first version that carries a fourth extension or an
    extended date more than 18 months after admission (months added to the
    admission date, a day past the month's end clamped to its last day). An
    admission whose approval level is now gac is not flagged. The colour is
    red when the current due date (the extended date, else the original one)
    lies more than 24 months after admission; metric is the whole months
    from admission to that date.
params: [a11_max_extensions, a11_max_months, a11_red_months]
parameters:
  - name: a11_max_extensions
    default: 3
    unit: extensions
    rules: [A11]
    description: the most extensions customs may grant without GAC approval
  - name: a11_max_months
    default: 18
    unit: months
    rules: [A11]
    description: the longest stay, from admission, customs may allow without GAC approval
  - name: a11_red_months
    default: 24
    unit: months
    rules: [A11]
    description: an unapproved admission running beyond this many months from admission is red
tests:
  - unique: [object_key]
scope: |
  -- Nothing here moves with the as-of date alone: a changed admission (a new
  -- version, a deletion, an approval) is evaluated again, and so is one whose
  -- officer (department) changed. The rule reads every version in raw: a
  -- version landed late that is older than the staged one changes no staged
  -- record but may be an earlier breach; changed.temporary_admissions holds
  -- it too.
  SELECT ta_no FROM changed.temporary_admissions
  UNION ALL SELECT ta_no FROM stg_temporary_admissions WHERE officer_id IN (SELECT officer_id FROM changed.officers)
--- */
WITH breaching_versions AS (
    -- the versions, up to the as-of date, that hold more extensions or a
    -- longer stay than customs may grant alone
    SELECT
        v.ta_no,
        CAST(v.updated_at AS DATE) AS changed_on,
        v.extensions,
        v.extended_until
    FROM raw.temporary_admissions AS v
    WHERE v.updated_at < getvariable('as_of_end')
      AND NOT v.deleted
      AND v.ta_no IN (SELECT key FROM scope)
      AND (v.extensions > getvariable('a11_max_extensions')
           OR v.extended_until > CAST(v.admitted_on + to_months(getvariable('a11_max_months')) AS DATE))
),
first_breach AS (
    SELECT ta_no, changed_on, extensions, extended_until
    FROM breaching_versions
    QUALIFY row_number() OVER (PARTITION BY ta_no ORDER BY changed_on, extensions, extended_until) = 1
),
admissions AS (
    SELECT
        t.ta_no, t.decl_no, t.ent_code, t.officer_id, t.admitted_on, t.due_on, t.extensions, t.extended_until,
        t.approval_level,
        coalesce(t.extended_until, t.due_on) AS due_day,
        date_diff('month', t.admitted_on, coalesce(t.extended_until, t.due_on)) AS month_boundaries
    FROM stg_temporary_admissions AS t
    WHERE coalesce(t.approval_level, '') <> 'gac'
      AND t.ta_no IN (SELECT key FROM scope)
),
terms AS (
    -- whole months from admission to the current due date: the month
    -- boundaries crossed, less one when the last month is not yet complete
    SELECT
        a.*,
        a.month_boundaries
            - CASE WHEN CAST(a.admitted_on + to_months(a.month_boundaries) AS DATE) > a.due_day THEN 1 ELSE 0 END
            AS months_admitted
    FROM admissions AS a
)
SELECT
    '1' AS rule_version,
    a.ta_no AS object_key,
    a.officer_id,
    o.dept_id,
    a.ent_code,
    CASE
        WHEN a.due_day > CAST(a.admitted_on + to_months(getvariable('a11_red_months')) AS DATE) THEN 'red'
        ELSE 'orange'
    END AS colour,
    a.months_admitted AS metric,
    CAST(NULL AS DECIMAL(18, 2)) AS amount,
    json_object('decl_no', a.decl_no, 'admitted_on', a.admitted_on, 'due_on', a.due_on,
                'extensions', a.extensions, 'extended_until', a.extended_until,
                'approval_level', a.approval_level, 'breached_on', b.changed_on,
                'extensions_then', b.extensions, 'extended_until_then', b.extended_until) AS evidence,
    b.changed_on AS first_due,
    '' AS period
FROM terms AS a
JOIN first_breach AS b ON b.ta_no = a.ta_no
LEFT JOIN stg_officers AS o ON o.officer_id = a.officer_id

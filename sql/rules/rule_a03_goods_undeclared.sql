/* ---
kind: keyed
tags: [rules, declaration]
rule:
  id: A03
  name_zh: 超期未报关货物未提取变卖
  name_en: Goods undeclared three months after arrival, not handed over for sale
  category: a
  area: declaration
  object_type: declarations
  detects: >
    imported goods that lay undeclared for more than 90 calendar days after
    the means of transport arrived, and were not handed over for sale
  grading: days since arrival up to 120 yellow, up to 180 orange, more red
  basis: 海关法 30
  method: >
    The contract shows undeclared goods only once they are declared: an import
    whose acceptance (declared_at) comes after the 90-day limit from
    arrival_date was still undeclared at three months, and as the consignee
    could declare it, customs had not taken it over for sale (goods handed
    over are sold by customs and never declared). The limit counts 90 calendar
    days from the day after arrival; one ending on a day off moves to the next
    working day. The warning is due the day after the limit; it is graded on
    the days since arrival (arrival excluded) to the acceptance. Such an import
    is also 14 days late for 滞报金 (A01, A02), which judge the fee on their
    own. The officer answerable is the tariff reviewer, else the manual
    reviewer who accepted the declaration without raising the matter
    (acceptance is a system step).
params: [a03_limit_cd, a03_yellow_max_days, a03_orange_max_days]
parameters:
  - name: a03_limit_cd
    default: 90
    unit: calendar days
    rules: [A03]
    description: goods not declared within this many days of arrival are handed over for sale
  - name: a03_yellow_max_days
    default: 120
    unit: calendar days
    rules: [A03]
    description: days since arrival up to which late goods are yellow
  - name: a03_orange_max_days
    default: 180
    unit: calendar days
    rules: [A03]
    description: days since arrival up to which late goods are orange; red beyond
tests:
  - unique: [object_key]
# The same declarations, read the same way, as A01: its scope.
scope_from: rule_a01_late_declaration_fee
--- */
WITH imports AS (
    SELECT
        d.decl_no, d.consignee_code, d.customs_value, d.arrival_date,
        CAST(d.declared_at AS DATE) AS declared_on,
        lim.next_workday AS limit_day
    FROM lookup_declarations((SELECT list(key) FROM scope)) AS d
    JOIN dim_date AS lim ON lim.date = d.arrival_date + getvariable('a03_limit_cd')
    WHERE d.ie_flag = 'I'
      AND d.declared_at < getvariable('as_of_end')
),
late AS (
    SELECT *, declared_on - arrival_date AS days_since_arrival
    FROM imports
    WHERE declared_on > limit_day
)
SELECT
    '1' AS rule_version,
    l.decl_no AS object_key,
    h.fee_officer_id AS officer_id,
    coalesce(h.fee_officer_dept_id, o.dept_id) AS dept_id,
    l.consignee_code AS ent_code,
    CASE
        WHEN l.days_since_arrival <= getvariable('a03_yellow_max_days') THEN 'yellow'
        WHEN l.days_since_arrival <= getvariable('a03_orange_max_days') THEN 'orange'
        ELSE 'red'
    END AS colour,
    l.days_since_arrival AS metric,
    l.customs_value AS amount,
    json_object('arrival_date', l.arrival_date, 'limit_day', l.limit_day, 'declared_on', l.declared_on,
                'days_since_arrival', l.days_since_arrival) AS evidence,
    l.limit_day + 1 AS first_due,
    '' AS period
FROM late AS l
LEFT JOIN int_declaration_handlers AS h ON h.decl_no = l.decl_no
LEFT JOIN stg_officers AS o ON o.officer_id = h.fee_officer_id

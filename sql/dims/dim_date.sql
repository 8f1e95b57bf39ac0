/* ---
kind: table
publish: true
tags: [dims]
description: >
  Every day from 2020 to 2035 with the official working-day calendar (weekends
  off unless listed as a working day, listed holidays off). workday_index counts
  working days, so the working days in (a, b] are one subtraction;
  next_workday is where a calendar-day limit ending on a day off moves to.
tests:
  - unique: [date]
  - not_null: [date, is_workday, workday_index, next_workday, quarter_label]
--- */
WITH days AS (
    SELECT CAST(d AS DATE) AS date
    FROM range(DATE '2020-01-01', DATE '2036-01-01', INTERVAL 1 DAY) AS t(d)
),
listed_years AS (
    SELECT DISTINCT year(date) AS year FROM ref.calendar
),
marked AS (
    SELECT
        days.date,
        c.kind AS calendar_kind,
        c.name AS festival,
        CASE c.kind WHEN 'holiday' THEN false WHEN 'workday' THEN true ELSE isodow(days.date) < 6 END AS is_workday,
        year(days.date) IN (SELECT year FROM listed_years) AS calendar_listed
    FROM days
    LEFT JOIN ref.calendar AS c ON c.date = days.date
)
SELECT
    date,
    year(date) AS year,
    quarter(date) AS quarter,
    year(date) || 'Q' || quarter(date) AS quarter_label,
    month(date) AS month,
    isodow(date) AS iso_weekday,
    is_workday,
    calendar_kind,
    festival,
    calendar_listed,
    sum(CASE WHEN is_workday THEN 1 ELSE 0 END) OVER (ORDER BY date) AS workday_index,
    min(CASE WHEN is_workday THEN date END) OVER (ORDER BY date ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS next_workday
FROM marked

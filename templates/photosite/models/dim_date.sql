-- description: One row per calendar day, from the first event to a year past the last.
WITH bounds AS (
  SELECT min(event_date) AS first_day, max(event_date) AS last_day FROM raw_events
),
days AS (
  SELECT CAST(unnest(generate_series(first_day, last_day + INTERVAL '365 days', INTERVAL '1 day')) AS DATE) AS date
  FROM bounds
  WHERE first_day IS NOT NULL
),
weeks AS (
  SELECT date,
         CAST(date_trunc('week', date) AS DATE) AS week_start,
         CAST(date_part('dow', date) AS INT) AS sunday_based
  FROM days
)
SELECT
  date,
  CAST(date_part('year', date) AS INT) AS year,
  CAST(date_part('quarter', date) AS INT) AS quarter,
  CAST(date_part('month', date) AS INT) AS month,
  to_char(date, '%B') AS month_name,
  CAST(date_part('year', week_start + INTERVAL '3 days') AS INT) AS iso_year,
  CAST(date_part('week', date) AS INT) AS iso_week,
  week_start,
  CASE WHEN sunday_based = 0 THEN 7 ELSE sunday_based END AS day_of_week,
  to_char(date, '%A') AS day_name,
  sunday_based IN (0, 6) AS is_weekend
FROM weeks

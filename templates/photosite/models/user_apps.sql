-- description: Which mobile app each user sent events from, one row per user, app and day: what dim_users reads instead of every raw event of the warehouse's history.
-- partition_by: event_date
SELECT event_date, user_id, client
FROM raw_events
WHERE user_id IS NOT NULL
  AND client IN ('android', 'iphone')
  AND event_date IN (SELECT day FROM run_days)
GROUP BY event_date, user_id, client

-- description: One row per login, from the API logs.
-- partition_by: event_date
SELECT event_time, event_date, user_id, client
FROM raw_events
WHERE action = 'login'
  AND event_date IN (SELECT day FROM run_days)

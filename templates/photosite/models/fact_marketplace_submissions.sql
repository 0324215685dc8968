-- description: One row per photo submitted to the marketplace, from the API logs.
-- partition_by: event_date
SELECT event_time, event_date, user_id, object_id AS photo_id, client
FROM raw_events
WHERE action = 'marketplace_submit'
  AND event_date IN (SELECT day FROM run_days)

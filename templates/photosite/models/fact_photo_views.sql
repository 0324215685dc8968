-- description: One row per photo view (logged in or not), from the API logs.
-- partition_by: event_date
SELECT event_time, event_date, user_id, visitor_id, object_id AS photo_id, client
FROM raw_events
WHERE action = 'photo_view'
  AND event_date IN (SELECT day FROM run_days)

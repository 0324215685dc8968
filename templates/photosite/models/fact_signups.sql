-- description: One row per signup event, from the API logs.
-- partition_by: event_date
SELECT event_time, event_date, user_id, visitor_id, client, channel
FROM raw_events
WHERE action = 'signup'
  AND event_date IN (SELECT day FROM run_days)

-- description: One row per page view (logged in or not), from the API logs.
-- partition_by: event_date
SELECT event_time, event_date, visitor_id, user_id, client, channel, request
FROM raw_events
WHERE action = 'page_view'
  AND event_date IN (SELECT day FROM run_days)

-- description: One row per follow of one user by another, from the API logs.
-- partition_by: event_date
SELECT event_time, event_date, user_id, object_id AS followed_user_id, client
FROM raw_events
WHERE action = 'follow'
  AND event_date IN (SELECT day FROM run_days)

-- description: The three funnels of metrics.md (engagement, contributor, buyer) per entry week and step: people who reached the step, conversion from the first and from the previous step; by entering client and acquisition channel ('all' = every one).
--
-- A visitor enters at its first page_view in the warehouse; visitors first seen
-- before the warehouse's first day (the sign-up devices of users who joined
-- earlier) are not entered. The signup event carrying the visitor id makes the
-- visitor a user; later steps follow that user on any device. Each step is the
-- earliest qualifying event after the step before it, within the conversion
-- window from entering (30 days; change it in `settings`).
WITH settings AS (
  SELECT INTERVAL '30 days' AS conversion_window
),
warehouse_start AS (
  SELECT min(event_date) AS first_day FROM raw_events
),
earlier_visitors AS (
  SELECT DISTINCT u.visitor_id
  FROM dim_users u CROSS JOIN warehouse_start w
  WHERE u.signup_date < w.first_day AND u.visitor_id IS NOT NULL
),
-- The first page view by aggregation, not row_number(): a hash aggregate
-- instead of sorting every page view of the warehouse.
first_views AS (
  SELECT visitor_id, min(event_time) AS entry_time,
         first_value(client ORDER BY event_time) AS client,
         first_value(channel ORDER BY event_time) AS channel
  FROM fact_page_views
  WHERE visitor_id IS NOT NULL
  GROUP BY visitor_id
),
entered AS (
  SELECT f.visitor_id,
         f.entry_time,
         f.entry_time + s.conversion_window AS window_end,
         CAST(date_trunc('week', f.entry_time) AS DATE) AS entry_week,
         coalesce(f.client, 'unknown') AS client,
         coalesce(f.channel, 'unknown') AS channel
  FROM first_views f
  CROSS JOIN settings s
  LEFT JOIN earlier_visitors e ON e.visitor_id = f.visitor_id
  WHERE e.visitor_id IS NULL
),
signups_in_window AS (
  SELECT e.visitor_id, g.user_id, g.event_time,
         row_number() OVER (PARTITION BY e.visitor_id ORDER BY g.event_time) AS nth
  FROM entered e
  JOIN fact_signups g ON g.visitor_id = e.visitor_id
  WHERE g.event_time > e.entry_time AND g.event_time <= e.window_end AND g.user_id IS NOT NULL
),
people AS (
  SELECT e.*, g.user_id, g.event_time AS signup_time, CAST(g.event_time AS DATE) AS signup_date
  FROM entered e
  LEFT JOIN signups_in_window g ON g.visitor_id = e.visitor_id AND g.nth = 1
),
-- Every later step is an event of the person's user within the window: API
-- events from the logs, payments and sales from the facts, in one timeline.
user_events AS (
  SELECT user_id, 'log' AS source, action, event_date, CAST(event_time AS TIMESTAMP) AS event_time
  FROM raw_events
  WHERE user_id IS NOT NULL AND action <> 'signup'
  UNION ALL
  SELECT user_id, 'subscription_payment', NULL, CAST(paid_time AS DATE), CAST(paid_time AS TIMESTAMP)
  FROM fact_subscription_purchases
  UNION ALL
  SELECT seller_user_id, 'photo_sold', NULL, CAST(purchased_time AS DATE), CAST(purchased_time AS TIMESTAMP)
  FROM fact_stock_purchases
  UNION ALL
  SELECT buyer_user_id, 'stock_purchase', NULL, CAST(purchased_time AS DATE), CAST(purchased_time AS TIMESTAMP)
  FROM fact_stock_purchases
  WHERE buyer_user_id IS NOT NULL
),
timeline AS (
  SELECT p.visitor_id, p.signup_date, e.source, e.action, e.event_date, e.event_time
  FROM people p
  JOIN user_events e ON e.user_id = p.user_id
  WHERE e.event_time > CAST(p.signup_time AS TIMESTAMP) AND e.event_time <= CAST(p.window_end AS TIMESTAMP)
),
-- A step that follows another needs that step's time first: each pass adds the
-- steps whose predecessor the pass before found, all in one scan of the timeline
-- (a CTE per step would recompute the timeline once per reference).
first_steps AS (
  SELECT t.*,
         min(CASE WHEN source = 'log' AND event_date > signup_date THEN event_time END)
           OVER (PARTITION BY visitor_id) AS active_later_time,
         min(CASE WHEN source = 'log' AND action = 'photo_upload' THEN event_time END)
           OVER (PARTITION BY visitor_id) AS upload_time
  FROM timeline t
),
second_steps AS (
  SELECT f.*,
         min(CASE WHEN source = 'log' AND event_time > active_later_time
                   AND action IN ('photo_like', 'photo_favourite', 'photo_comment', 'follow', 'photo_upload')
                  THEN event_time END)
           OVER (PARTITION BY visitor_id) AS engaged_time,
         min(CASE WHEN source = 'log' AND action = 'marketplace_submit' AND event_time > upload_time
                  THEN event_time END)
           OVER (PARTITION BY visitor_id) AS submit_time
  FROM first_steps f
),
reached_steps AS (
  SELECT visitor_id,
         max(active_later_time) AS active_later_time,
         max(engaged_time) AS engaged_time,
         min(CASE WHEN source = 'subscription_payment' AND event_time > engaged_time THEN event_time END) AS paid_time,
         max(upload_time) AS upload_time,
         max(submit_time) AS submit_time,
         min(CASE WHEN source = 'photo_sold' AND event_time > submit_time THEN event_time END) AS sold_time,
         min(CASE WHEN source = 'stock_purchase' THEN event_time END) AS bought_time
  FROM second_steps
  GROUP BY visitor_id
),
journeys AS (
  SELECT p.entry_week, p.client, p.channel,
         p.signup_time IS NOT NULL AS signed_up,
         r.active_later_time IS NOT NULL AS active_later_day,
         r.engaged_time IS NOT NULL AS engagement_event,
         r.paid_time IS NOT NULL AS subscription_payment,
         r.upload_time IS NOT NULL AS photo_upload,
         r.submit_time IS NOT NULL AS marketplace_submit,
         r.sold_time IS NOT NULL AS photo_sold,
         r.bought_time IS NOT NULL AS stock_purchase
  FROM people p
  LEFT JOIN reached_steps r ON r.visitor_id = p.visitor_id
),
funnel_definitions AS (
  SELECT * FROM (VALUES
    ('engagement', 1, 'first_page_view'), ('engagement', 2, 'signup'), ('engagement', 3, 'active_later_day'),
    ('engagement', 4, 'engagement_event'), ('engagement', 5, 'subscription_payment'),
    ('contributor', 1, 'first_page_view'), ('contributor', 2, 'signup'), ('contributor', 3, 'photo_upload'),
    ('contributor', 4, 'marketplace_submit'), ('contributor', 5, 'photo_sold'),
    ('buyer', 1, 'first_page_view'), ('buyer', 2, 'signup'), ('buyer', 3, 'stock_purchase')
  ) AS d(funnel, step_number, step)
),
steps AS (
  SELECT d.funnel, d.step_number, d.step, j.entry_week, j.client, j.channel,
         CASE d.step
           WHEN 'first_page_view' THEN true
           WHEN 'signup' THEN j.signed_up
           WHEN 'active_later_day' THEN j.active_later_day
           WHEN 'engagement_event' THEN j.engagement_event
           WHEN 'subscription_payment' THEN j.subscription_payment
           WHEN 'photo_upload' THEN j.photo_upload
           WHEN 'marketplace_submit' THEN j.marketplace_submit
           WHEN 'photo_sold' THEN j.photo_sold
           WHEN 'stock_purchase' THEN j.stock_purchase
         END AS reached
  FROM journeys j
  CROSS JOIN funnel_definitions d
),
counted AS (
  SELECT funnel, entry_week, step_number, step,
         CASE WHEN grouping(client) = 1 THEN 'all' ELSE client END AS client,
         CASE WHEN grouping(channel) = 1 THEN 'all' ELSE channel END AS channel,
         sum(CASE WHEN reached THEN 1 ELSE 0 END) AS reached
  FROM steps
  GROUP BY GROUPING SETS (
    (funnel, entry_week, step_number, step),
    (funnel, entry_week, step_number, step, client),
    (funnel, entry_week, step_number, step, channel)
  )
)
SELECT funnel, entry_week, client, channel, step_number, step, reached,
       CAST(reached AS DOUBLE) / nullif(CAST(first_value(reached) OVER (
         PARTITION BY funnel, entry_week, client, channel ORDER BY step_number) AS DOUBLE), 0.0) AS conversion_from_first,
       CAST(reached AS DOUBLE) / nullif(CAST(lag(reached) OVER (
         PARTITION BY funnel, entry_week, client, channel ORDER BY step_number) AS DOUBLE), 0.0) AS conversion_from_previous
FROM counted

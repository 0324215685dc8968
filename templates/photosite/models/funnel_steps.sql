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
  SELECT u.visitor_id
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
-- A CTE is computed again wherever it is named, so the work over every visitor
-- (first_views, earlier_visitors) is named once, here; the later steps are
-- found for visitors who signed up only, and joined to it at the end.
entered AS (
  SELECT f.visitor_id,
         CAST(date_trunc('week', f.entry_time) AS DATE) AS entry_week,
         coalesce(f.client, 'unknown') AS client,
         coalesce(f.channel, 'unknown') AS channel
  FROM first_views f
  WHERE NOT EXISTS (SELECT 1 FROM earlier_visitors e WHERE e.visitor_id = f.visitor_id)
),
-- The same entry time, for the few visitors with a signup event.
signup_entries AS (
  SELECT v.visitor_id, min(v.event_time) AS entry_time,
         min(v.event_time) + (SELECT conversion_window FROM settings) AS window_end
  FROM fact_page_views v
  WHERE v.visitor_id IN (SELECT visitor_id FROM fact_signups WHERE user_id IS NOT NULL)
  GROUP BY v.visitor_id
),
signups_in_window AS (
  SELECT e.visitor_id, e.window_end, g.user_id, g.event_time,
         row_number() OVER (PARTITION BY e.visitor_id ORDER BY g.event_time) AS nth
  FROM signup_entries e
  JOIN fact_signups g ON g.visitor_id = e.visitor_id
  WHERE g.event_time > e.entry_time AND g.event_time <= e.window_end AND g.user_id IS NOT NULL
),
people AS (
  SELECT visitor_id, user_id, event_time AS signup_time, CAST(event_time AS DATE) AS signup_date, window_end
  FROM signups_in_window
  WHERE nth = 1
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
-- A person without later events keeps one row (all NULL), so reached_steps
-- holds every person who signed up.
timeline AS (
  SELECT p.visitor_id, p.signup_date, e.source, e.action, e.event_date, e.event_time
  FROM people p
  LEFT JOIN user_events e ON e.user_id = p.user_id
    AND e.event_time > CAST(p.signup_time AS TIMESTAMP) AND e.event_time <= CAST(p.window_end AS TIMESTAMP)
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
-- People counted per entry week, client and channel before they become steps:
-- a few hundred rows times thirteen steps, not every person times thirteen.
cohorts AS (
  SELECT e.entry_week, e.client, e.channel,
         count(*) AS first_page_view,
         count(r.visitor_id) AS signup,
         count(r.active_later_time) AS active_later_day,
         count(r.engaged_time) AS engagement_event,
         count(r.paid_time) AS subscription_payment,
         count(r.upload_time) AS photo_upload,
         count(r.submit_time) AS marketplace_submit,
         count(r.sold_time) AS photo_sold,
         count(r.bought_time) AS stock_purchase
  FROM entered e
  LEFT JOIN reached_steps r ON r.visitor_id = e.visitor_id
  GROUP BY e.entry_week, e.client, e.channel
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
cohort_sets AS (
  SELECT entry_week,
         CASE WHEN grouping(client) = 1 THEN 'all' ELSE client END AS client,
         CASE WHEN grouping(channel) = 1 THEN 'all' ELSE channel END AS channel,
         sum(first_page_view) AS first_page_view, sum(signup) AS signup,
         sum(active_later_day) AS active_later_day, sum(engagement_event) AS engagement_event,
         sum(subscription_payment) AS subscription_payment, sum(photo_upload) AS photo_upload,
         sum(marketplace_submit) AS marketplace_submit, sum(photo_sold) AS photo_sold,
         sum(stock_purchase) AS stock_purchase
  FROM cohorts
  GROUP BY GROUPING SETS ((entry_week), (entry_week, client), (entry_week, channel))
),
counted AS (
  SELECT d.funnel, c.entry_week, d.step_number, d.step, c.client, c.channel,
         CASE d.step
           WHEN 'first_page_view' THEN c.first_page_view
           WHEN 'signup' THEN c.signup
           WHEN 'active_later_day' THEN c.active_later_day
           WHEN 'engagement_event' THEN c.engagement_event
           WHEN 'subscription_payment' THEN c.subscription_payment
           WHEN 'photo_upload' THEN c.photo_upload
           WHEN 'marketplace_submit' THEN c.marketplace_submit
           WHEN 'photo_sold' THEN c.photo_sold
           WHEN 'stock_purchase' THEN c.stock_purchase
         END AS reached
  FROM cohort_sets c
  CROSS JOIN funnel_definitions d
)
SELECT funnel, entry_week, client, channel, step_number, step, reached,
       CAST(reached AS DOUBLE) / nullif(CAST(first_value(reached) OVER (
         PARTITION BY funnel, entry_week, client, channel ORDER BY step_number) AS DOUBLE), 0.0) AS conversion_from_first,
       CAST(reached AS DOUBLE) / nullif(CAST(lag(reached) OVER (
         PARTITION BY funnel, entry_week, client, channel ORDER BY step_number) AS DOUBLE), 0.0) AS conversion_from_previous
FROM counted

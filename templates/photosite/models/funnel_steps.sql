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
page_views AS (
  SELECT visitor_id, event_time, client, channel,
         row_number() OVER (PARTITION BY visitor_id ORDER BY event_time) AS nth
  FROM fact_page_views
  WHERE visitor_id IS NOT NULL
),
entered AS (
  SELECT p.visitor_id,
         p.event_time AS entry_time,
         p.event_time + s.conversion_window AS window_end,
         CAST(date_trunc('week', p.event_time) AS DATE) AS entry_week,
         coalesce(p.client, 'unknown') AS client,
         coalesce(p.channel, 'unknown') AS channel
  FROM page_views p
  CROSS JOIN settings s
  LEFT JOIN earlier_visitors e ON e.visitor_id = p.visitor_id
  WHERE p.nth = 1 AND e.visitor_id IS NULL
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
activity AS (
  SELECT p.visitor_id, r.event_time, r.event_date, r.action
  FROM people p
  JOIN raw_events r ON r.user_id = p.user_id
  WHERE r.event_time > p.signup_time AND r.event_time <= p.window_end AND r.action <> 'signup'
),
active_later AS (
  SELECT p.visitor_id, min(a.event_time) AS step_time
  FROM people p JOIN activity a ON a.visitor_id = p.visitor_id
  WHERE a.event_date > p.signup_date
  GROUP BY p.visitor_id
),
engaged AS (
  SELECT l.visitor_id, min(a.event_time) AS step_time
  FROM active_later l JOIN activity a ON a.visitor_id = l.visitor_id
  WHERE a.event_time > l.step_time
    AND a.action IN ('photo_like', 'photo_favourite', 'photo_comment', 'follow', 'photo_upload')
  GROUP BY l.visitor_id
),
paid AS (
  SELECT g.visitor_id, min(CAST(s.paid_time AS TIMESTAMP)) AS step_time
  FROM engaged g
  JOIN people p ON p.visitor_id = g.visitor_id
  JOIN fact_subscription_purchases s ON s.user_id = p.user_id
  WHERE CAST(s.paid_time AS TIMESTAMP) > CAST(g.step_time AS TIMESTAMP)
    AND CAST(s.paid_time AS TIMESTAMP) <= CAST(p.window_end AS TIMESTAMP)
  GROUP BY g.visitor_id
),
uploaded AS (
  SELECT p.visitor_id, min(a.event_time) AS step_time
  FROM people p JOIN activity a ON a.visitor_id = p.visitor_id
  WHERE a.action = 'photo_upload'
  GROUP BY p.visitor_id
),
submitted AS (
  SELECT u.visitor_id, min(a.event_time) AS step_time
  FROM uploaded u JOIN activity a ON a.visitor_id = u.visitor_id
  WHERE a.action = 'marketplace_submit' AND a.event_time > u.step_time
  GROUP BY u.visitor_id
),
sold AS (
  SELECT m.visitor_id, min(CAST(s.purchased_time AS TIMESTAMP)) AS step_time
  FROM submitted m
  JOIN people p ON p.visitor_id = m.visitor_id
  JOIN fact_stock_purchases s ON s.seller_user_id = p.user_id
  WHERE CAST(s.purchased_time AS TIMESTAMP) > CAST(m.step_time AS TIMESTAMP)
    AND CAST(s.purchased_time AS TIMESTAMP) <= CAST(p.window_end AS TIMESTAMP)
  GROUP BY m.visitor_id
),
bought AS (
  SELECT p.visitor_id, min(CAST(s.purchased_time AS TIMESTAMP)) AS step_time
  FROM people p
  JOIN fact_stock_purchases s ON s.buyer_user_id = p.user_id
  WHERE CAST(s.purchased_time AS TIMESTAMP) > CAST(p.signup_time AS TIMESTAMP)
    AND CAST(s.purchased_time AS TIMESTAMP) <= CAST(p.window_end AS TIMESTAMP)
  GROUP BY p.visitor_id
),
journeys AS (
  SELECT p.entry_week, p.client, p.channel,
         p.signup_time IS NOT NULL AS signed_up,
         l.step_time IS NOT NULL AS active_later_day,
         g.step_time IS NOT NULL AS engagement_event,
         y.step_time IS NOT NULL AS subscription_payment,
         u.step_time IS NOT NULL AS photo_upload,
         m.step_time IS NOT NULL AS marketplace_submit,
         s.step_time IS NOT NULL AS photo_sold,
         b.step_time IS NOT NULL AS stock_purchase
  FROM people p
  LEFT JOIN active_later l ON l.visitor_id = p.visitor_id
  LEFT JOIN engaged g ON g.visitor_id = p.visitor_id
  LEFT JOIN paid y ON y.visitor_id = p.visitor_id
  LEFT JOIN uploaded u ON u.visitor_id = p.visitor_id
  LEFT JOIN submitted m ON m.visitor_id = p.visitor_id
  LEFT JOIN sold s ON s.visitor_id = p.visitor_id
  LEFT JOIN bought b ON b.visitor_id = p.visitor_id
),
steps AS (
  SELECT 'engagement' AS funnel, 1 AS step_number, 'first_page_view' AS step, entry_week, client, channel, true AS reached FROM journeys
  UNION ALL SELECT 'engagement', 2, 'signup', entry_week, client, channel, signed_up FROM journeys
  UNION ALL SELECT 'engagement', 3, 'active_later_day', entry_week, client, channel, active_later_day FROM journeys
  UNION ALL SELECT 'engagement', 4, 'engagement_event', entry_week, client, channel, engagement_event FROM journeys
  UNION ALL SELECT 'engagement', 5, 'subscription_payment', entry_week, client, channel, subscription_payment FROM journeys
  UNION ALL SELECT 'contributor', 1, 'first_page_view', entry_week, client, channel, true FROM journeys
  UNION ALL SELECT 'contributor', 2, 'signup', entry_week, client, channel, signed_up FROM journeys
  UNION ALL SELECT 'contributor', 3, 'photo_upload', entry_week, client, channel, photo_upload FROM journeys
  UNION ALL SELECT 'contributor', 4, 'marketplace_submit', entry_week, client, channel, marketplace_submit FROM journeys
  UNION ALL SELECT 'contributor', 5, 'photo_sold', entry_week, client, channel, photo_sold FROM journeys
  UNION ALL SELECT 'buyer', 1, 'first_page_view', entry_week, client, channel, true FROM journeys
  UNION ALL SELECT 'buyer', 2, 'signup', entry_week, client, channel, signed_up FROM journeys
  UNION ALL SELECT 'buyer', 3, 'stock_purchase', entry_week, client, channel, stock_purchase FROM journeys
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

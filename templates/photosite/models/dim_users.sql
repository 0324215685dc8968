-- description: Every user as production knows them now, with names instead of codes.
-- Apps from user_apps (a row per user, app and day, kept by day), so that this
-- rebuild does not read every raw event of the warehouse's history each night.
WITH apps AS (
  SELECT user_id,
         bool_or(client = 'android') AS has_android_app,
         bool_or(client = 'iphone') AS has_iphone_app
  FROM user_apps
  GROUP BY user_id
),
sellers AS (
  SELECT DISTINCT user_id FROM prod_photos WHERE marketplace_status = 1
),
photo_counts AS (
  SELECT user_id, count(*) AS photos_count FROM prod_photos WHERE deleted_at IS NULL GROUP BY user_id
)
SELECT
  u.id AS user_id,
  u.username,
  u.firstname AS first_name,
  u.lastname AS last_name,
  u.email,
  u.country,
  u.created_at AS signup_time,
  CAST(u.created_at AS DATE) AS signup_date,
  u.registration_client AS signup_client,
  coalesce(u.acquisition_channel, 'unknown') AS acquisition_channel,
  u.visitor_id,
  CASE WHEN s.is_active = 1 THEN s.plan ELSE 'free' END AS subscription_type,
  coalesce(s.is_active = 1, false) AS is_subscriber,
  coalesce(s.is_active = 1 AND s.comped = 1, false) AS is_comped,
  sellers.user_id IS NOT NULL AS is_seller,
  coalesce(apps.has_android_app, false) AS has_android_app,
  coalesce(apps.has_iphone_app, false) AS has_iphone_app,
  coalesce(photo_counts.photos_count, 0) AS photos_count,
  u.deleted_at IS NOT NULL AS is_deleted
FROM prod_users u
LEFT JOIN prod_subscriptions s ON s.user_id = u.id
LEFT JOIN sellers ON sellers.user_id = u.id
LEFT JOIN apps ON apps.user_id = u.id
LEFT JOIN photo_counts ON photo_counts.user_id = u.id

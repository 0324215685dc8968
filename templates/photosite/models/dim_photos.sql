-- description: Every photo as production knows it now, with names instead of codes.
SELECT
  id AS photo_id,
  user_id,
  title,
  CASE category
    WHEN 0 THEN 'uncategorized' WHEN 1 THEN 'abstract' WHEN 2 THEN 'animals' WHEN 3 THEN 'black_and_white'
    WHEN 4 THEN 'celebrities' WHEN 5 THEN 'city_and_architecture' WHEN 6 THEN 'commercial' WHEN 7 THEN 'concert'
    WHEN 8 THEN 'family' WHEN 9 THEN 'fashion' WHEN 10 THEN 'film' WHEN 11 THEN 'fine_art' WHEN 12 THEN 'food'
    WHEN 13 THEN 'journalism' WHEN 14 THEN 'landscapes' WHEN 15 THEN 'macro' WHEN 16 THEN 'nature'
    WHEN 17 THEN 'nude' WHEN 18 THEN 'people' WHEN 19 THEN 'performing_arts' WHEN 20 THEN 'sport'
    WHEN 21 THEN 'still_life' WHEN 22 THEN 'street' WHEN 23 THEN 'transportation' WHEN 24 THEN 'travel'
    WHEN 25 THEN 'underwater' WHEN 26 THEN 'urban_exploration' WHEN 27 THEN 'wedding'
    ELSE 'unknown'
  END AS category,
  CASE privacy WHEN 0 THEN 'public' WHEN 1 THEN 'unlisted' WHEN 2 THEN 'private' ELSE 'unknown' END AS privacy,
  for_sale = 1 AS for_sale,
  CASE marketplace_status
    WHEN 0 THEN 'submitted' WHEN 1 THEN 'accepted' WHEN 2 THEN 'rejected'
    ELSE 'not_submitted'
  END AS marketplace_status,
  marketplace_submitted_at AS marketplace_submitted_time,
  created_at AS upload_time,
  CAST(created_at AS DATE) AS upload_date,
  deleted_at IS NOT NULL AS is_deleted
FROM prod_photos

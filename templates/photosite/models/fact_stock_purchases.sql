-- description: One row per stock photo sale; the site keeps take_cents = price - seller payout.
-- partition_by: purchased_date
SELECT
  s.id AS purchase_id,
  s.purchased_at AS purchased_time,
  CAST(s.purchased_at AS DATE) AS purchased_date,
  s.photo_id,
  p.user_id AS seller_user_id,
  s.buyer_user_id,
  s.license,
  s.price_cents,
  s.seller_payout_cents,
  s.price_cents - s.seller_payout_cents AS take_cents,
  s.currency,
  s.provider,
  s.provider_txn_id
FROM prod_stock_purchases s
LEFT JOIN prod_photos p ON p.id = s.photo_id

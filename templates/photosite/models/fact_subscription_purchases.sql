-- description: One row per subscription payment; purchase_type comes from the subscriber snapshots, not from auto_renewal.
-- partition_by: paid_date
--
-- warehouse.md: a payment on day d is a renewal when its user is in the
-- snapshot of d-1, else a reactivation when the user is in any earlier
-- snapshot, else new. A manual extension by an active subscriber is therefore
-- a renewal, although production marks it auto_renewal = 0.
WITH payments AS (
  SELECT *, CAST(paid_at AS DATE) AS paid_date
  FROM prod_subscription_payments
),
first_snapshot AS (
  SELECT user_id, min(snapshot_date) AS first_date
  FROM fact_subscriber_snapshots
  GROUP BY user_id
)
SELECT
  p.id AS payment_id,
  p.paid_at AS paid_time,
  p.paid_date,
  p.user_id,
  p.plan,
  p.period_months,
  p.amount_cents,
  p.currency,
  p.provider,
  p.provider_txn_id,
  p.auto_renewal = 1 AS is_auto_renewal,
  CASE
    WHEN previous_day.user_id IS NOT NULL THEN 'renewal'
    WHEN f.first_date < p.paid_date - INTERVAL '1 day' THEN 'reactivation'
    ELSE 'new'
  END AS purchase_type,
  p.refunded_at AS refunded_time
FROM payments p
LEFT JOIN fact_subscriber_snapshots previous_day
  ON previous_day.user_id = p.user_id
 AND previous_day.snapshot_date = p.paid_date - INTERVAL '1 day'
LEFT JOIN first_snapshot f ON f.user_id = p.user_id

//! `payments_reconcile`: per day and provider, the warehouse's charges and
//! refunds (subscription payments and stock sales, from production) against
//! the provider's own export: counts, sums, and every transaction id on one
//! side only or with another amount.

use std::collections::BTreeMap;

use datafusion::prelude::SessionContext;

use crate::error::AuditError;
use crate::finding::{Finding, Status};
use crate::query::{date_literal, number, rows, shown};
use crate::settings::PaymentsReconcile;

pub const CHECK: &str = "payments_reconcile";

/// (txn id, charge or refund) -> amount in cents.
type Transactions = BTreeMap<(String, String), f64>;

pub async fn run(ctx: &SessionContext, day: i32, settings: &PaymentsReconcile) -> Result<Vec<Finding>, AuditError> {
    let mut findings = Vec::new();
    for provider in &settings.providers {
        let quoted = provider.replace('\'', "''");
        let d = date_literal(day);
        let warehouse_sql = format!(
            "SELECT provider_txn_id, 'charge', amount_cents FROM fact_subscription_purchases
               WHERE provider = '{quoted}' AND paid_date = {d}
             UNION ALL
             SELECT provider_txn_id, 'refund', amount_cents FROM fact_subscription_purchases
               WHERE provider = '{quoted}' AND CAST(refunded_time AS DATE) = {d}
             UNION ALL
             SELECT provider_txn_id, 'charge', price_cents FROM fact_stock_purchases
               WHERE provider = '{quoted}' AND purchased_date = {d}"
        );
        let export_sql = format!(
            "SELECT provider_txn_id, type, amount_cents FROM ext_payments
             WHERE provider = '{quoted}' AND CAST(created_at AS DATE) = {d}"
        );
        let warehouse = transactions(ctx, "reading the warehouse's payments", &warehouse_sql).await?;
        let export = transactions(ctx, "reading the provider export (ext_payments)", &export_sql).await?;
        findings.push(compare(day, provider, &warehouse, &export, settings.max_listed_ids));
    }
    Ok(findings)
}

async fn transactions(ctx: &SessionContext, doing: &str, sql: &str) -> Result<Transactions, AuditError> {
    Ok(rows(ctx, doing, sql)
        .await?
        .into_iter()
        .filter_map(|row| {
            let id = row[0].clone()?;
            let kind = row[1].clone()?;
            Some(((id, kind), number(&row[2]).unwrap_or(0.0)))
        })
        .collect())
}

fn totals(transactions: &Transactions, kind: &str) -> (usize, f64) {
    let amounts: Vec<f64> = transactions
        .iter()
        .filter(|((_, k), _)| k == kind)
        .map(|(_, a)| *a)
        .collect();
    (amounts.len(), amounts.iter().sum())
}

fn side(transactions: &Transactions) -> String {
    let (charges, charged) = totals(transactions, "charge");
    let (refunds, refunded) = totals(transactions, "refund");
    format!(
        "{charges} charges ${}, {refunds} refunds ${}",
        shown(charged / 100.0, 2),
        shown(refunded / 100.0, 2)
    )
}

fn listed(ids: &[String], at_most: usize) -> String {
    let mut text = ids.iter().take(at_most).cloned().collect::<Vec<_>>().join(", ");
    if ids.len() > at_most {
        text.push_str(&format!(" and {} more", ids.len() - at_most));
    }
    text
}

fn compare(day: i32, provider: &str, warehouse: &Transactions, export: &Transactions, at_most: usize) -> Finding {
    let named = |(id, kind): &(String, String)| format!("{id} ({kind})");
    let only_export: Vec<String> = export
        .keys()
        .filter(|k| !warehouse.contains_key(*k))
        .map(named)
        .collect();
    let only_warehouse: Vec<String> = warehouse
        .keys()
        .filter(|k| !export.contains_key(*k))
        .map(named)
        .collect();
    let other_amount: Vec<String> = warehouse
        .iter()
        .filter_map(|(key, amount)| {
            let theirs = export.get(key)?;
            (theirs.to_bits() != amount.to_bits()).then(|| format!("{} ({amount} vs {theirs} cents)", key.0))
        })
        .collect();
    let mut problems = Vec::new();
    if !only_export.is_empty() {
        problems.push(format!(
            "in the {provider} export but not the warehouse: {} (missing from production, or not yet snapshotted)",
            listed(&only_export, at_most)
        ));
    }
    if !only_warehouse.is_empty() {
        problems.push(format!(
            "in the warehouse but not the {provider} export: {} (a payment the provider never took?)",
            listed(&only_warehouse, at_most)
        ));
    }
    if !other_amount.is_empty() {
        problems.push(format!("amounts differ: {}", listed(&other_amount, at_most)));
    }
    let status = if problems.is_empty() {
        Status::Pass
    } else {
        Status::Fail
    };
    let detail = if problems.is_empty() {
        format!("every {provider} transaction of the day on both sides, same amounts")
    } else {
        problems.join("; ")
    };
    Finding::new(day, CHECK, provider, status)
        .observed(format!("warehouse: {}", side(warehouse)))
        .expected(format!("{provider} export: {}", side(export)))
        .detail(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transactions(list: &[(&str, &str, f64)]) -> Transactions {
        list.iter()
            .map(|(id, kind, amount)| (((*id).to_owned(), (*kind).to_owned()), *amount))
            .collect()
    }

    #[test]
    fn a_charge_missing_from_the_warehouse_fails_naming_its_id() {
        let export = transactions(&[
            ("ch_1", "charge", 999.0),
            ("ch_2", "charge", 499.0),
            ("ch_1", "refund", 999.0),
        ]);
        let warehouse = transactions(&[("ch_1", "charge", 999.0), ("ch_1", "refund", 999.0)]);
        let finding = compare(16_500, "stripe", &warehouse, &export, 20);
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.detail.contains("ch_2 (charge)"), "{}", finding.detail);
        assert_eq!(finding.observed, "warehouse: 1 charges $9.99, 1 refunds $9.99");
        assert_eq!(finding.expected, "stripe export: 2 charges $14.98, 1 refunds $9.99");
        let same = compare(16_500, "stripe", &export, &export, 20);
        assert_eq!(same.status, Status::Pass);
    }
}

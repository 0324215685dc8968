//! One module per check of metrics.md's audit table, plus `unknown_actions`.

pub mod anomaly;
pub mod cross_reference;
pub mod freshness;
pub mod ga_visitors;
pub mod log_completeness;
pub mod parse_errors;
pub mod payments_reconcile;
pub mod snapshot_gap;
pub mod unknown_actions;

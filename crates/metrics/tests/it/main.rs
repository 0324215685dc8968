//! The catalog, the plan, daily computation and the tearsheet, on small
//! hand-made tables whose right answers are plain to see.

mod catalog;
mod compute;
mod plan;
mod tearsheet;

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use darkroom_metrics::Catalog;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

pub const TEMPLATE_CATALOG: &str = include_str!("../../../../templates/photosite/metrics.toml");

pub fn template_catalog() -> Catalog {
    Catalog::parse(
        Path::new("metrics.toml"),
        TEMPLATE_CATALOG,
        &SessionContext::new().state(),
    )
    .expect("template catalog")
}

pub fn catalog(text: &str) -> Catalog {
    Catalog::parse(Path::new("metrics.toml"), text, &SessionContext::new().state()).expect("catalog")
}

pub fn register(ctx: &SessionContext, name: &str, columns: Vec<(&str, ArrayRef)>) {
    let batch = RecordBatch::try_from_iter(columns).expect("batch");
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]]).expect("table");
    ctx.register_table(name, Arc::new(table)).expect("register");
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Days since 1970 of `YYYY-MM-DD`.
pub fn day(text: &str) -> i32 {
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date");
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    i32::try_from((date - epoch).num_days()).expect("days")
}

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use darkroom_logs::LogArchiveTable;
use darkroom_sim::{AdvanceOptions, Fault, Outputs, advance};
use datafusion::prelude::SessionContext;

pub struct SimProject {
    pub dir: tempfile::TempDir,
}

impl SimProject {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Logs, SQLite production, exports and plan, as a project would have them.
    pub fn outputs(&self) -> Outputs {
        let dir = self.dir.path();
        Outputs {
            logs: self.logs(),
            production_url: Some(format!("sqlite://{}", dir.join("production.db").display())),
            google_analytics: Some(dir.join("external/ga_daily.csv")),
            stripe: Some(dir.join("external/stripe.csv")),
            paypal: Some(dir.join("external/paypal.csv")),
            plan: Some(dir.join("plan.csv")),
        }
    }

    pub fn logs(&self) -> PathBuf {
        self.dir.path().join("logs")
    }

    pub fn advance(&self, days: u32, faults: &str) -> darkroom_sim::AdvanceReport {
        self.try_advance(days, faults).expect("advance")
    }

    pub fn advance_world(&self, days: u32, users: u64) {
        let options = AdvanceOptions {
            days,
            users,
            start: "2015-02-02".into(),
            ..AdvanceOptions::default()
        };
        advance(self.dir.path(), &Outputs::logs_only(self.logs()), &options).expect("advance");
    }

    pub fn try_advance(&self, days: u32, faults: &str) -> Result<darkroom_sim::AdvanceReport, darkroom_sim::SimError> {
        let options = AdvanceOptions {
            days,
            seed: 7,
            users: 400,
            start: "2015-02-02".into(),
            faults: Fault::parse_list(faults)?,
        };
        advance(self.dir.path(), &self.outputs(), &options)
    }

    /// `date -> metric -> value` from truth/daily_metrics.csv.
    pub fn truth(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        let text = std::fs::read_to_string(self.dir.path().join("truth/daily_metrics.csv")).expect("truth file");
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("date,metric,value"));
        let mut truth: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for line in lines {
            let mut parts = line.splitn(3, ',');
            let (date, metric, value) = (parts.next(), parts.next(), parts.next());
            truth
                .entry(date.expect("date").to_owned())
                .or_default()
                .insert(metric.expect("metric").to_owned(), value.expect("value").to_owned());
        }
        truth
    }

    /// Every file below the logs root with its bytes.
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        let mut files = BTreeMap::new();
        collect(&self.logs(), &self.logs(), &mut files);
        files
    }
}

fn collect(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let name = path
                .strip_prefix(root)
                .expect("below root")
                .to_string_lossy()
                .into_owned();
            files.insert(name, std::fs::read(&path).expect("read"));
        }
    }
}

/// Runs `sql` over the project's archives; first column a date, second a number.
pub fn per_day(logs: &Path, sql: &str) -> BTreeMap<String, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(per_day_async(logs, sql))
}

async fn per_day_async(logs: &Path, sql: &str) -> BTreeMap<String, String> {
    let ctx = SessionContext::new();
    ctx.register_table("logs", Arc::new(LogArchiveTable::try_new(logs).expect("table")))
        .expect("register");
    let batches = ctx.sql(sql).await.expect("plan").collect().await.expect("run");
    let mut out = BTreeMap::new();
    for batch in batches {
        let dates = arrow::compute::cast(batch.column(0), &arrow::datatypes::DataType::Utf8).expect("cast");
        let values = arrow::compute::cast(batch.column(1), &arrow::datatypes::DataType::Utf8).expect("cast");
        let (dates, values) = (dates.as_string::<i32>(), values.as_string::<i32>());
        for i in 0..batch.num_rows() {
            let value = if values.is_null(i) {
                String::new()
            } else {
                values.value(i).to_owned()
            };
            out.insert(dates.value(i).to_owned(), value);
        }
    }
    out
}

//! What a delivery says, before it is an email or a Slack post: a dashboard's
//! charts drawn as PNG from the same spec as the page, each with its metric's
//! definition, owner and audit status; or the tearsheet; or, when the night
//! failed, that plain fact with the failed task instead of stale numbers.

use chrono::NaiveDate;
use darkroom_dashboards::{DataVersion, FilterValues, ResultCache, latest_audit_status, run_chart};
use darkroom_pipeline::{Project, StateDb, open_query_session, project_catalog, project_tearsheet};

use crate::config::{Attachment, TEARSHEET};
use crate::error::DeliveryError;

/// Results a delivery may hold while it draws: one dashboard's answers.
const CACHE_BYTES: usize = 256 << 20;

#[derive(Debug, Clone)]
pub struct DrawnChart {
    pub id: String,
    pub title: String,
    pub png: Vec<u8>,
    /// The metric's definition and owning team, when the chart is a catalog metric's.
    pub definition: Option<String>,
    pub owner: Option<String>,
    /// The latest audit's checks that feed the metric: (check, pass | warn | fail).
    pub audits: Vec<(String, String)>,
    /// The latest value as people read it.
    pub headline: Option<String>,
    pub link: String,
    pub files: Vec<(String, &'static str, Vec<u8>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedTask {
    pub task: String,
    pub error: String,
    pub log_tail: Option<String>,
}

/// A night that did not finish: what people get instead of numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NightProblem {
    pub day: String,
    pub run_id: Option<i64>,
    /// What happened, in one sentence.
    pub summary: String,
    pub failed: Vec<FailedTask>,
    pub rerun: String,
}

#[derive(Debug, Clone)]
pub enum Body {
    Charts(Vec<DrawnChart>),
    Tearsheet {
        html: String,
        files: Vec<(String, &'static str, Vec<u8>)>,
    },
    NotUpdated(NightProblem),
    /// A failed night or a failed audit check, for the Pipeline and Audit subscribers.
    Alert(NightProblem),
}

#[derive(Debug, Clone)]
pub struct Report {
    pub slug: String,
    pub title: String,
    pub description: Option<String>,
    /// The last day with numbers.
    pub day: Option<NaiveDate>,
    pub link: String,
    pub body: Body,
}

impl Report {
    pub fn subject(&self) -> String {
        match (&self.body, self.day) {
            (Body::NotUpdated(problem), _) => {
                format!("{}: not updated, the night of {} failed", self.title, problem.day)
            }
            (Body::Alert(_), _) => self.title.clone(),
            (_, Some(day)) => format!("{}: the numbers to {}", self.title, day.format("%a %-d %b %Y")),
            (_, None) => format!("{}: no numbers yet", self.title),
        }
    }
}

pub const CSV: &str = "text/csv";
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The dashboard `slug` (or the tearsheet) as it reads now, every chart drawn.
/// A chart whose query fails or that cannot be drawn fails the whole report,
/// naming the chart: never a mail with a hole in it.
pub async fn build_report(
    project: &Project,
    slug: &str,
    attach: &[Attachment],
    public_url: &str,
) -> Result<Report, DeliveryError> {
    let session = open_query_session(project).await?;
    let ctx = session.context();
    let day = darkroom_metrics::last_metric_day(ctx).await.ok().flatten();
    if slug == TEARSHEET {
        let link = format!("{public_url}/tearsheet");
        let tearsheet = project_tearsheet(project, &session, None).await?;
        let Some(tearsheet) = tearsheet else {
            return Err(DeliveryError::NoTearsheet);
        };
        let mut files = Vec::new();
        if attach.contains(&Attachment::Csv) {
            files.push(("tearsheet.csv".to_owned(), CSV, tearsheet.to_csv().into_bytes()));
        }
        if attach.contains(&Attachment::Xlsx) {
            let bytes = tearsheet
                .xlsx_bytes()
                .map_err(|e| DeliveryError::Pipeline(darkroom_pipeline::PipelineError::from(e)))?;
            files.push(("tearsheet.xlsx".to_owned(), XLSX, bytes));
        }
        return Ok(Report {
            slug: slug.into(),
            title: tearsheet.title(),
            description: None,
            day,
            link,
            body: Body::Tearsheet {
                html: tearsheet.to_html(),
                files,
            },
        });
    }
    let dashboard = darkroom_dashboards::load_dir(&project.dir.join(darkroom_dashboards::DASHBOARDS_DIR))
        .into_iter()
        .filter_map(Result::ok)
        .find(|d| d.slug == slug)
        .ok_or_else(|| DeliveryError::NoSuchDashboard { slug: slug.into() })?;
    let catalog = project_catalog(project, &session)?;
    let cache = ResultCache::new(CACHE_BYTES);
    let version = DataVersion::default();
    let last_day = day.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let values = FilterValues::resolve(&dashboard, &Default::default(), last_day)?;
    let metrics: Vec<String> = dashboard.charts.iter().filter_map(|c| c.metric.clone()).collect();
    let audit_status = match &catalog {
        Some(catalog) => latest_audit_status(&session, &cache, &version, catalog, &metrics).await,
        None => Default::default(),
    };
    let link = format!("{public_url}/d/{slug}");
    let mut charts = Vec::new();
    for chart in &dashboard.charts {
        let failed = |message: String| DeliveryError::Chart {
            dashboard: slug.into(),
            chart: chart.id.clone(),
            message,
        };
        if let Some(problem) = &chart.problem {
            return Err(failed(problem.clone()));
        }
        let rows = run_chart(&session, &cache, &version, &dashboard, chart, &values)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let spec = chart.spec(catalog.as_ref());
        let table = chart.drawn_table(&rows).map_err(|e| failed(e.to_string()))?;
        let png = darkroom_charts::render_png(&spec, &table).map_err(|e| failed(e.to_string()))?;
        let metric = chart.metric.as_deref().and_then(|m| catalog.as_ref()?.metric(m));
        // The latest row's first number after the x axis or label: a line's
        // actual (before its plan), a number chart's value.
        let headline = table.rows.last().and_then(|row| {
            row.iter()
                .skip(1)
                .find(|cell| cell.number().is_some())
                .map(|cell| cell.label(spec.format))
        });
        let mut files = Vec::new();
        if attach.contains(&Attachment::Csv) {
            files.push((format!("{}.csv", chart.id), CSV, darkroom_dashboards::to_csv(&rows)?));
        }
        if attach.contains(&Attachment::Xlsx) {
            files.push((
                format!("{}.xlsx", chart.id),
                XLSX,
                darkroom_dashboards::to_xlsx(&rows, &chart.title)?,
            ));
        }
        charts.push(DrawnChart {
            id: chart.id.clone(),
            title: chart.title.clone(),
            png,
            definition: metric
                .map(|m| m.definition.clone())
                .or_else(|| chart.description.clone()),
            owner: metric.map(|m| format!("{} team", m.team.name())),
            audits: chart
                .metric
                .as_ref()
                .and_then(|m| audit_status.get(m).cloned())
                .unwrap_or_default(),
            headline,
            link: format!("{link}#chart-{}", chart.id),
            files,
        });
    }
    Ok(Report {
        slug: slug.into(),
        title: dashboard.title.clone(),
        description: dashboard.description.clone(),
        day,
        link,
        body: Body::Charts(charts),
    })
}

/// Whether the night for `day` is done: `None` when its latest run succeeded,
/// else what went wrong (no run yet, a run still going, a failed run and its failed tasks).
pub fn night_problem(project: &Project, day: NaiveDate) -> Result<Option<NightProblem>, DeliveryError> {
    let day_text = day.format("%Y-%m-%d").to_string();
    let rerun = format!("darkroom run --project {} --date {day_text}", project.dir.display());
    let state = StateDb::open(&project.dir)?;
    let latest = state
        .runs()?
        .into_iter()
        .filter(|r| r.day == day_text)
        .max_by_key(|r| r.run_id);
    let Some(run) = latest else {
        return Ok(Some(NightProblem {
            day: day_text.clone(),
            run_id: None,
            summary: format!("There is no run for {day_text}: the nightly run did not happen."),
            failed: Vec::new(),
            rerun,
        }));
    };
    if run.state == "succeeded" {
        return Ok(None);
    }
    let failed: Vec<FailedTask> = state
        .task_runs()?
        .into_iter()
        .filter(|t| t.run_id == run.run_id && t.state == "failed")
        .map(|t| FailedTask {
            task: t.task,
            error: t.error.unwrap_or_default(),
            log_tail: t.log_tail,
        })
        .collect();
    let summary = match (run.state.as_str(), failed.len()) {
        ("running", _) => format!("The run for {day_text} (run {}) has not finished.", run.run_id),
        (_, 0) => format!(
            "The run for {day_text} (run {}) failed: {}",
            run.run_id,
            run.error.clone().unwrap_or_else(|| "no task ran".into())
        ),
        (_, n) => format!(
            "The run for {day_text} (run {}) failed: {n} task(s) failed ({}).",
            run.run_id,
            failed.iter().map(|t| t.task.as_str()).collect::<Vec<_>>().join(", ")
        ),
    };
    Ok(Some(NightProblem {
        day: day_text,
        run_id: Some(run.run_id),
        summary,
        failed,
        rerun,
    }))
}

//! The app's view of the project, kept current: the query session (each Delta
//! table registered at its latest commit, the run history), the metric catalog,
//! the dashboards, and the data version the result cache keys on.
//!
//! Before a request is answered, at most every [`CHECK_EVERY`], the commit
//! files and the dashboards folder are looked at (names and times only); a
//! table whose version moved is registered again, so a dashboard is current
//! the moment a nightly run has committed, and a query already running keeps
//! the snapshot it started with. While a run holds the project's lock the
//! tables are not looked at: a reader sees the last whole night, never half of one.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use chrono::NaiveDate;
use darkroom_dashboards::{DASHBOARDS_DIR, Dashboard, DashboardError, DataVersion, ResultCache};
use darkroom_metrics::Catalog;
use darkroom_pipeline::{Project, STATE_FILE, open_query_session, project_catalog, register_history, run_in_progress};
use darkroom_warehouse::{QuerySession, Warehouse};

use crate::error::WebError;
use crate::history::{FROM_FILE, History};

/// How often the commit files and dashboard files are looked at, at most.
pub const CHECK_EVERY: Duration = Duration::from_millis(250);

/// One consistent view: what a request reads from start to end.
#[derive(Debug)]
pub struct View {
    /// Shared with the Postgres endpoint, which answers from the same view.
    pub session: Arc<QuerySession>,
    pub version: DataVersion,
    pub catalog: Option<Catalog>,
    /// The last day with daily metrics (relative date filters end there), else today.
    pub last_day: NaiveDate,
}

#[derive(Debug)]
pub struct Dashboards {
    /// By slug, in file order; a file that did not load is its error.
    pub loaded: Vec<Result<Dashboard, DashboardError>>,
    stamp: Vec<(PathBuf, Option<SystemTime>)>,
}

impl Dashboards {
    pub fn get(&self, slug: &str) -> Option<&Dashboard> {
        self.loaded
            .iter()
            .filter_map(|d| d.as_ref().ok())
            .find(|d| d.slug == slug)
    }

    /// The dashboard holding chart `id`, and the chart.
    pub fn chart(&self, id: &str) -> Option<(&Dashboard, &darkroom_dashboards::Chart)> {
        self.loaded
            .iter()
            .filter_map(|d| d.as_ref().ok())
            .find_map(|d| d.chart(id).map(|c| (d, c)))
    }
}

#[derive(Debug)]
pub struct Live {
    pub project: Project,
    pub cache: ResultCache,
    /// Every version of every dashboard file.
    pub history: History,
    view: RwLock<Arc<View>>,
    dashboards: RwLock<Arc<Dashboards>>,
    last_check: Mutex<Instant>,
    refreshing: tokio::sync::Mutex<()>,
}

fn dashboards_stamp(dir: &std::path::Path) -> Vec<(PathBuf, Option<SystemTime>)> {
    let mut stamp: Vec<(PathBuf, Option<SystemTime>)> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| (e.path(), e.metadata().ok().and_then(|m| m.modified().ok())))
                .filter(|(p, _)| p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    stamp.sort();
    stamp
}

fn history_stamp(project: &Project) -> u64 {
    let Ok(meta) = std::fs::metadata(project.dir.join(STATE_FILE)) else {
        return 0;
    };
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64);
    // The write-ahead log changes while the main file's time may not.
    let wal = std::fs::metadata(project.dir.join(format!("{STATE_FILE}-wal")))
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64);
    modified ^ wal.rotate_left(17) ^ meta.len()
}

impl Live {
    pub async fn open(project: Project, cache_limit_mb: usize) -> Result<Self, WebError> {
        let view = load_view(&project, None).await?;
        let history = History::open(&project.dir.join(STATE_FILE))?;
        let dir = project.dir.join(DASHBOARDS_DIR);
        let dashboards = load_dashboards(&dir, &history);
        Ok(Self {
            project,
            cache: ResultCache::new(cache_limit_mb * 1024 * 1024),
            history,
            view: RwLock::new(Arc::new(view)),
            dashboards: RwLock::new(Arc::new(dashboards)),
            last_check: Mutex::new(Instant::now()),
            refreshing: tokio::sync::Mutex::new(()),
        })
    }

    pub fn dashboards(&self) -> Arc<Dashboards> {
        self.dashboards.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The current view, refreshed first if a table or a dashboard file changed.
    pub async fn view(&self) -> Result<Arc<View>, WebError> {
        let due = {
            let mut last = self.last_check.lock().unwrap_or_else(PoisonError::into_inner);
            if last.elapsed() >= CHECK_EVERY {
                *last = Instant::now();
                true
            } else {
                false
            }
        };
        // A refresh already running (a night's many commits take a while to
        // register) is not waited for: this request reads the view it has.
        if due && let Ok(refreshing) = self.refreshing.try_lock() {
            self.refresh_holding(refreshing).await?;
        }
        Ok(self.view.read().unwrap_or_else(PoisonError::into_inner).clone())
    }

    /// Looks at the commit files and dashboard files now, and takes in what changed.
    pub async fn refresh(&self) -> Result<(), WebError> {
        let refreshing = self.refreshing.lock().await;
        self.refresh_holding(refreshing).await
    }

    async fn refresh_holding(&self, _one_at_a_time: tokio::sync::MutexGuard<'_, ()>) -> Result<(), WebError> {
        let dir = self.project.dir.join(DASHBOARDS_DIR);
        let stamp = dashboards_stamp(&dir);
        if stamp != self.dashboards().stamp {
            self.reload_dashboards();
        }
        // A night is taken in whole: while a run commits table after table,
        // the app keeps answering from the last finished one.
        if run_in_progress(&self.project.dir) {
            return Ok(());
        }
        let current = self.view.read().unwrap_or_else(PoisonError::into_inner).clone();
        let tables = committed_versions(&self.project)?;
        let history = history_stamp(&self.project);
        if tables == current.version.tables && history == current.version.history {
            return Ok(());
        }
        let view = load_view(&self.project, Some((&current, tables, history))).await?;
        *self.view.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(view);
        Ok(())
    }
}

impl Live {
    /// Reads the dashboard files again now (after the app wrote one).
    pub fn reload_dashboards(&self) {
        let dashboards = load_dashboards(&self.project.dir.join(DASHBOARDS_DIR), &self.history);
        *self.dashboards.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(dashboards);
    }
}

fn committed_versions(project: &Project) -> Result<BTreeMap<String, i64>, WebError> {
    let dir = project.resolve(&project.config.warehouse.path);
    if !dir.is_dir() {
        return Ok(BTreeMap::new());
    }
    let warehouse = Warehouse::open(&dir).map_err(darkroom_pipeline::PipelineError::from)?;
    Ok(warehouse
        .committed_versions()
        .map_err(darkroom_pipeline::PipelineError::from)?)
}

/// A view of the project now. With the previous view, only what changed is
/// registered again: the tables whose version moved, the history if its stamp did.
async fn load_view(
    project: &Project,
    previous: Option<(&Arc<View>, BTreeMap<String, i64>, u64)>,
) -> Result<View, WebError> {
    let (session, tables, history) = match previous {
        None => {
            let tables = committed_versions(project)?;
            let history = history_stamp(project);
            (open_query_session(project).await?, tables, history)
        }
        Some((previous, tables, history)) => {
            // A new session, so that queries running on the old one keep their snapshot.
            let session = previous
                .session
                .fresh_copy()
                .await
                .map_err(darkroom_pipeline::PipelineError::from)?;
            let dir = project.resolve(&project.config.warehouse.path);
            let warehouse = Warehouse::open(&dir).map_err(darkroom_pipeline::PipelineError::from)?;
            // Together: each is its commit log read and replayed, and a night changes most tables.
            let changed = tables
                .iter()
                .filter(|(table, version)| previous.version.tables.get(*table) != Some(*version))
                .map(|(table, _)| warehouse.register(session.context(), table));
            for registered in futures::future::join_all(changed).await {
                registered.map_err(darkroom_pipeline::PipelineError::from)?;
            }
            if project.dir.join(STATE_FILE).is_file() {
                register_history(project, &session)?;
            }
            (session, tables, history)
        }
    };
    let catalog = project_catalog(project, &session)?;
    let last_day = darkroom_metrics::last_metric_day(session.context())
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    tracing::info!(tables = tables.len(), %last_day, "data view refreshed");
    Ok(View {
        session: Arc::new(session),
        version: DataVersion { tables, history },
        catalog,
        last_day,
    })
}

/// The dashboard files of `dir`; a file whose text is new (edited by hand, or
/// pulled from git) becomes the next version in `history`.
fn load_dashboards(dir: &std::path::Path, history: &History) -> Dashboards {
    let stamp = dashboards_stamp(dir);
    let loaded = darkroom_dashboards::load_dir(dir);
    for result in &loaded {
        match result {
            Ok(dashboard) => {
                let kept = std::fs::read_to_string(&dashboard.path)
                    .map_err(|e| e.to_string())
                    .and_then(|text| {
                        history
                            .record(&dashboard.slug, &text, FROM_FILE, "changed on disk")
                            .map_err(|e| e.to_string())
                    });
                if let Err(error) = kept {
                    tracing::warn!(dashboard = %dashboard.slug, %error, "dashboard version not kept");
                }
                for problem in dashboard
                    .problems
                    .iter()
                    .chain(dashboard.charts.iter().filter_map(|c| c.problem.as_ref()))
                {
                    tracing::warn!(dashboard = %dashboard.slug, problem = %problem, "dashboard file");
                }
            }
            Err(e) => tracing::warn!(error = %e, "dashboard file did not load"),
        }
    }
    Dashboards { loaded, stamp }
}

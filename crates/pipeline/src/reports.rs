//! What people read, assembled from a project and its query session: the data
//! dictionary and the executive tearsheet. `darkroom docs`, `darkroom
//! tearsheet` and the web app all build them here, so they read the same.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use darkroom_metrics::{
    CATALOG_FILE, Catalog, DICTIONARY_FILE, Descriptions, Dictionary, Plan, Tearsheet, last_metric_day,
    week_after_last_complete,
};
use darkroom_warehouse::QuerySession;

use crate::dag::TaskKind;
use crate::error::PipelineError;
use crate::project::Project;
use crate::runner::project_dag;

/// Tables of the session that are not warehouse tables: the raw archives (reading them all is a full scan).
const LEFT_OUT: [&str; 1] = ["logs"];

/// The metric catalog of `project`, if it has one.
pub fn project_catalog(project: &Project, session: &QuerySession) -> Result<Option<Catalog>, PipelineError> {
    let path = project.dir.join(CATALOG_FILE);
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(Catalog::load(&path, &session.context().state())?))
}

/// The data dictionary of every table `session` can read.
pub async fn project_dictionary(project: &Project, session: &QuerySession) -> Result<Dictionary, PipelineError> {
    let words_path = project.dir.join(DICTIONARY_FILE);
    let words = if words_path.exists() {
        Descriptions::load(&words_path)?
    } else {
        Descriptions::default()
    };
    let dag = project_dag(project)?;
    let model_descriptions: BTreeMap<String, String> = dag
        .tasks
        .iter()
        .filter_map(|t| match &t.kind {
            TaskKind::Model(model) => model.description.clone().map(|d| (model.name.clone(), d)),
            _ => None,
        })
        .collect();
    let ctx = session.context();
    let (catalog_name, schema_name) = {
        let state = ctx.state();
        let options = &state.config().options().catalog;
        (options.default_catalog.clone(), options.default_schema.clone())
    };
    let mut tables: Vec<String> = ctx
        .catalog(&catalog_name)
        .and_then(|c| c.schema(&schema_name))
        .map(|s| s.table_names())
        .unwrap_or_default();
    tables.retain(|t| !LEFT_OUT.contains(&t.as_str()));
    tables.sort();
    let catalog = project_catalog(project, session)?;
    Ok(Dictionary::build(ctx, &tables, &words, &model_descriptions, catalog.as_ref()).await?)
}

/// The tearsheet of the five weeks before `end` (a Monday), by default the
/// weeks up to the latest complete week of data; `None` before the first night.
pub async fn project_tearsheet(
    project: &Project,
    session: &QuerySession,
    end: Option<NaiveDate>,
) -> Result<Option<Tearsheet>, PipelineError> {
    let ctx = session.context();
    let catalog = Catalog::load(&project.dir.join(CATALOG_FILE), &ctx.state())?;
    let plan = match project.external().plan {
        Some(path) if path.exists() => Plan::load(&path, &catalog)?,
        _ => Plan::default(),
    };
    let end = match end {
        Some(end) => end,
        None => match last_metric_day(ctx).await? {
            Some(last) => week_after_last_complete(last),
            None => return Ok(None),
        },
    };
    Ok(Some(Tearsheet::build(ctx, &catalog, &plan, end).await?))
}

pub mod dag;
pub mod demo;
pub mod docs;
pub mod init;
pub mod run;
pub mod sim;
pub mod sql;
pub mod tearsheet;

use std::path::PathBuf;

use darkroom_pipeline::Project;

/// `--project DIR`, defaulting to the current folder.
pub fn load_project(dir: Option<&PathBuf>) -> anyhow::Result<Project> {
    let dir = dir.cloned().unwrap_or_else(|| PathBuf::from("."));
    Ok(Project::load(&dir)?)
}

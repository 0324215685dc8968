//! The project and its nightly run.
//!
//! A project is a folder of files; [`Project::load`] reads and validates its
//! `darkroom.toml`, resolving every path against the project folder. The DAG
//! runner will live here too (issue 4).

mod project;

pub use project::{LogFormat, PROJECT_FILE, Project, ProjectConfig, ProjectError};

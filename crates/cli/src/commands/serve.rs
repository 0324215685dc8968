use std::path::PathBuf;

use darkroom_web::DEFAULT_LISTEN;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder (default: the current folder).
    #[arg(long)]
    project: Option<PathBuf>,
    /// The address to listen on, HOST:PORT.
    #[arg(long, default_value = DEFAULT_LISTEN)]
    listen: String,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let project = super::load_project(args.project.as_ref())?;
    serve(project, &args.listen, None)
}

/// Serves `project` until Ctrl-C; `login` is printed with the URL (the demo's).
pub fn serve(project: darkroom_pipeline::Project, listen: &str, login: Option<(&str, &str)>) -> anyhow::Result<()> {
    darkroom_web::serve(project, listen, |addr| {
        crate::say(&format!("\ndarkroom is serving on http://{addr}/  (Ctrl-C stops it)"));
        if let Some((user, password)) = login {
            crate::say(&format!("log in as {user} with the password {password}"));
        }
    })?;
    Ok(())
}

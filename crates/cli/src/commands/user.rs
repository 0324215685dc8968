use std::io::{BufRead as _, IsTerminal as _};
use std::path::PathBuf;

use darkroom_pipeline::STATE_FILE;
use darkroom_web::{Accounts, Role};

/// The web app's (and the Postgres endpoint's) accounts.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder (default: the current folder).
    #[arg(long, global = true)]
    project: Option<PathBuf>,
    #[command(subcommand)]
    command: UserCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input.
    Add {
        name: String,
        #[arg(long, value_parser = ["admin", "editor", "viewer"])]
        role: String,
    },
    /// Set a user's password (read from standard input); their sessions end.
    Passwd { name: String },
    /// Change a user's role.
    Role {
        name: String,
        #[arg(value_parser = ["admin", "editor", "viewer"])]
        role: String,
    },
    /// Remove a user, their sessions and tokens.
    Remove { name: String },
    /// List the users and their roles.
    List,
    /// Print a new API token for scripts (`Authorization: Bearer TOKEN`).
    Token { name: String },
}

fn accounts(args: &Args) -> anyhow::Result<Accounts> {
    let project = super::load_project(args.project.as_ref())?;
    Ok(Accounts::open(&project.dir.join(STATE_FILE))?)
}

/// A password from standard input: asked for without echo on a terminal, else its first line.
pub fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(rpassword::prompt_password("Password: ")?);
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let accounts = accounts(args)?;
    match &args.command {
        UserCommand::Add { name, role } => {
            let role = Role::parse(role)?;
            accounts.add_user(name, role, &read_password()?)?;
            crate::say(&format!("added {name} ({})", role.name()));
        }
        UserCommand::Passwd { name } => {
            accounts.set_password(name, &read_password()?)?;
            crate::say(&format!("changed the password of {name}; their sessions ended"));
        }
        UserCommand::Role { name, role } => {
            let role = Role::parse(role)?;
            accounts.set_role(name, role)?;
            crate::say(&format!("{name} is now {}", role.name()));
        }
        UserCommand::Remove { name } => {
            accounts.remove_user(name)?;
            crate::say(&format!("removed {name}"));
        }
        UserCommand::List => {
            for user in accounts.users()? {
                crate::say(&format!("{}\t{}", user.name, user.role.name()));
            }
        }
        UserCommand::Token { name } => crate::say(&accounts.new_token(name)?),
    }
    Ok(())
}

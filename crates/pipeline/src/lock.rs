//! One run per project at a time: an exclusive lock on `run.lock` in the project.
//!
//! The operating system releases the lock when the process ends, however it
//! ends, so a crashed run never leaves the project locked.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::PipelineError;

pub const LOCK_FILE: &str = "run.lock";

/// Held for the whole run; dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    file: File,
}

/// Empties the holder's line, so that [`run_in_progress`] says no at once; the
/// operating system releases the lock itself as the file closes.
impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
    }
}

/// Whether a run holds the project's lock now: the lock file names a live
/// process. Read without taking the lock, so a run starting at this moment is
/// never refused because someone looked; a run killed outright leaves its
/// line behind, but no live process.
pub fn run_in_progress(project_dir: &Path) -> bool {
    let Ok(holder) = std::fs::read_to_string(project_dir.join(LOCK_FILE)) else {
        return false;
    };
    let pid = holder
        .strip_prefix("pid ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|pid| pid.parse::<u32>().ok());
    pid.is_some_and(|pid| Path::new("/proc").join(pid.to_string()).exists())
}

impl RunLock {
    /// Takes the lock, or fails at once naming who holds it.
    pub fn acquire(project_dir: &Path) -> Result<Self, PipelineError> {
        let path = project_dir.join(LOCK_FILE);
        let io = |source| PipelineError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(PipelineError::Locked {
                    holder: if holder.trim().is_empty() {
                        "a process that has not written its id yet".into()
                    } else {
                        holder.trim().to_owned()
                    },
                });
            }
            Err(TryLockError::Error(source)) => return Err(io(source)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        write!(file, "pid {} since {}", std::process::id(), crate::state::now()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(Self { file })
    }
}

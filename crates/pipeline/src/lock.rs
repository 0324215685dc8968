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
    _file: File,
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
        Ok(Self { _file: file })
    }
}

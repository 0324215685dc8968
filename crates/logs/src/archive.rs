//! Finding archive files under a log root: `<root>/YYYY/MM/DD/HH/<server>.log[.gz]`.

use std::path::{Path, PathBuf};

use crate::error::LogsError;
use crate::line::days_from_civil;

/// One archive file and what its path says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveFile {
    pub path: PathBuf,
    /// The path below the root with `/` separators: `2015/02/10/10/api-03.log.gz`.
    pub source_file: String,
    /// The file name up to its first `.` (`api-03.retry.log.gz` is from `api-03`).
    pub server: String,
    /// The start of the hour the file was written in, in microseconds since the epoch,
    /// when the path has the `YYYY/MM/DD/HH` layout.
    pub file_hour: Option<i64>,
    pub gzip: bool,
    /// The size on disk.
    pub bytes: u64,
}

impl ArchiveFile {
    /// Describes `path`, found below `root`.
    pub fn new(root: &Path, path: PathBuf, bytes: u64) -> Self {
        let relative = path.strip_prefix(root).unwrap_or(&path);
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let name = parts.last().cloned().unwrap_or_default();
        let server = name.split('.').next().unwrap_or_default().to_owned();
        let file_hour = match parts.as_slice() {
            [.., y, m, d, h, _] => hour_of(y, m, d, h),
            _ => None,
        };
        Self {
            gzip: name.ends_with(".gz"),
            source_file: parts.join("/"),
            server,
            file_hour,
            path,
            bytes,
        }
    }
}

fn hour_of(year: &str, month: &str, day: &str, hour: &str) -> Option<i64> {
    let number = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let (year, month, day, hour) = (number(year, 4)?, number(month, 2)?, number(day, 2)?, number(hour, 2)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 {
        return None;
    }
    let days = i64::from(days_from_civil(year as i32, month, day));
    Some((days * 24 + i64::from(hour)) * 3_600_000_000)
}

/// True for the names the reader accepts: `.log` and `.log.gz`.
pub fn is_archive_name(name: &str) -> bool {
    name.ends_with(".log") || name.ends_with(".log.gz")
}

/// The root exists and is a folder: what a reader can check without listing it.
pub fn check_root(root: &Path) -> Result<(), LogsError> {
    if !root.exists() {
        return Err(LogsError::MissingRoot { path: root.to_owned() });
    }
    if !root.is_dir() {
        return Err(LogsError::RootNotAFolder { path: root.to_owned() });
    }
    Ok(())
}

/// Every archive file below `root`, sorted by path.
pub fn list_archives(root: &Path) -> Result<Vec<ArchiveFile>, LogsError> {
    check_root(root)?;
    let mut files = Vec::new();
    // Shippers often link archives in; a broken link must be an error, not a silent skip.
    for entry in walkdir::WalkDir::new(root).follow_links(true).sort_by_file_name() {
        let entry = entry.map_err(|source| LogsError::List {
            path: source.path().unwrap_or(root).to_owned(),
            source,
        })?;
        if !entry.file_type().is_file() || !is_archive_name(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let bytes = entry
            .metadata()
            .map_err(|source| LogsError::List {
                path: entry.path().to_owned(),
                source,
            })?
            .len();
        files.push(ArchiveFile::new(root, entry.into_path(), bytes));
    }
    Ok(files)
}

//! Each fault changes the written files as cli.md says, and never the truth.

use std::io::Read;

use darkroom_logs::{ArchiveFile, ColumnSet, FileReader};

use crate::support::SimProject;

fn clean_and_faulty(days: u32, faults: &str) -> (SimProject, SimProject) {
    let clean = SimProject::new();
    clean.advance(days, "");
    let faulty = SimProject::new();
    faulty.advance(days, faults);
    assert_eq!(
        clean.truth(),
        faulty.truth(),
        "the truth describes what happened, faults or not"
    );
    (clean, faulty)
}

fn gunzip_lines(bytes: &[u8]) -> usize {
    let mut text = Vec::new();
    let _ = flate2::read::MultiGzDecoder::new(bytes).read_to_end(&mut text);
    text.iter().filter(|&&b| b == b'\n').count()
}

fn read_stats(project: &SimProject, name: &str) -> darkroom_logs::FileStats {
    let path = project.logs().join(name);
    let bytes = std::fs::metadata(&path).expect("file").len();
    let file = ArchiveFile::new(&project.logs(), path, bytes);
    let mut reader = FileReader::open(&file, ColumnSet::all(), 8192).expect("open");
    while let Some(chunk) = reader.next_chunk() {
        chunk.expect("chunk");
    }
    reader.stats().clone()
}

#[test]
fn dead_server_leaves_out_exactly_that_file() {
    let (clean, faulty) = clean_and_faulty(2, "dead_server=api-02@2015-02-03T14");
    let (clean_files, faulty_files) = (clean.files(), faulty.files());
    assert!(clean_files.contains_key("2015/02/03/14/api-02.log.gz"));
    assert!(!faulty_files.contains_key("2015/02/03/14/api-02.log.gz"));
    assert_eq!(clean_files.len(), faulty_files.len() + 1);
}

#[test]
fn lossy_day_drops_about_a_tenth_of_that_days_lines_only() {
    let (clean, faulty) = clean_and_faulty(2, "lossy_day=2015-02-03");
    let lines = |p: &SimProject, prefix: &str| -> usize {
        p.files()
            .iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .map(|(_, b)| gunzip_lines(b))
            .sum()
    };
    assert_eq!(lines(&clean, "2015/02/02"), lines(&faulty, "2015/02/02"));
    let (all, kept) = (lines(&clean, "2015/02/03") as f64, lines(&faulty, "2015/02/03") as f64);
    let lost = 1.0 - kept / all;
    assert!((0.07..0.13).contains(&lost), "lost {lost}");
}

#[test]
fn duplicate_upload_writes_a_byte_identical_retry_file() {
    let (_, faulty) = clean_and_faulty(1, "duplicate_upload=2015-02-02");
    let files = faulty.files();
    let retries: Vec<&String> = files.keys().filter(|n| n.contains(".retry.")).collect();
    assert_eq!(retries.len(), 1);
    let original = retries[0].replace(".retry", "");
    assert_eq!(files[retries[0]], files[&original]);
}

#[test]
fn corrupt_gzip_cuts_one_file_which_the_reader_marks_corrupt() {
    let (clean, faulty) = clean_and_faulty(1, "corrupt_gzip=2015-02-02");
    let (clean_files, faulty_files) = (clean.files(), faulty.files());
    let cut: Vec<&String> = faulty_files
        .keys()
        .filter(|n| faulty_files[*n] != clean_files[*n])
        .collect();
    assert_eq!(cut.len(), 1);
    assert_eq!(faulty_files[cut[0]].len(), clean_files[cut[0]].len() / 2);
    let stats = read_stats(&faulty, cut[0]);
    assert!(stats.corrupt.is_some());
    assert!(stats.lines > 0 && stats.lines as usize <= gunzip_lines(&clean_files[cut[0]]));
}

#[test]
fn bad_lines_are_quarantined_by_the_reader_in_every_kind() {
    let (_, faulty) = clean_and_faulty(1, "bad_lines=0.05");
    let mut reasons = std::collections::BTreeSet::new();
    let (mut lines, mut rejected) = (0, 0);
    for name in faulty.files().keys() {
        let path = faulty.logs().join(name);
        let file = ArchiveFile::new(&faulty.logs(), path.clone(), 0);
        let mut reader = FileReader::open(&file, ColumnSet::all(), 8192).expect("open");
        while let Some(chunk) = reader.next_chunk() {
            reasons.extend(chunk.expect("chunk").rejected.iter().map(|r| r.reason.code()));
        }
        lines += reader.stats().lines;
        rejected += reader.stats().rejected_lines;
    }
    let share = rejected as f64 / lines as f64;
    assert!((0.035..0.065).contains(&share), "share {share}");
    let expected = [
        "bad_date",
        "bad_time",
        "bad_user_id",
        "binary",
        "field_count",
        "impossible_date",
        "invalid_utf8",
        "missing_user",
        "request_too_long",
    ];
    // The non-ASCII dash is a bad_date too, so ten kinds give nine reasons.
    assert_eq!(reasons.into_iter().collect::<Vec<_>>(), expected);
}

#[test]
fn unknown_and_out_of_range_faults_write_nothing() {
    let project = SimProject::new();
    let err = project.try_advance(2, "cosmic_ray=1").expect_err("unknown");
    assert_eq!(err.to_string(), "unknown fault `cosmic_ray`");
    let err = project.try_advance(2, "lossy_day=2016-01-01").expect_err("outside");
    assert!(
        err.to_string()
            .contains("not one of the days this call generates (2015-02-02 to 2015-02-03)")
    );
    assert!(project.files().is_empty());
    assert!(!project.dir.path().join("truth").exists());
}

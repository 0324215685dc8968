//! Whole files: fields of good lines, gzip members, corruption, batching, late lines.

use darkroom_logs::{ArchiveFile, days_from_civil};
use std::path::Path;

use crate::support::{GOOD, assert_accounted, gzip, read_file_bytes, read_plain};

const DAY_MICROS: i64 = 86_400_000_000;

#[test]
fn good_line_fills_every_column() {
    let result = read_file_bytes("api-03.log.gz", &gzip(format!("{GOOD}\n").as_bytes()), 8192);
    assert_accounted(&result);
    let day = days_from_civil(2015, 2, 10);
    assert_eq!(result.dates(), [day]);
    let expected_time = i64::from(day) * DAY_MICROS + ((10 * 60 + 24) * 60 + 31) * 1_000_000 + 324_440;
    assert_eq!(result.times(), [expected_time]);
    assert_eq!(result.ints("user_id"), [Some(23_432_423)]);
    assert_eq!(result.ints("object_id"), [Some(423_223)]);
    assert_eq!(result.strings("action"), [Some("photo_like".into())]);
    assert_eq!(result.strings("ip"), [Some("123.132.62.123".into())]);
    assert_eq!(result.strings("client"), [Some("iphone".into())]);
    assert_eq!(result.strings("visitor_id"), [Some("9f1c2a7be04d4c11".into())]);
    assert_eq!(result.strings("channel"), [None]);
    assert_eq!(
        result.strings("request"),
        [Some("/v2/photos/423223/vote?client=iphone&vid=9f1c2a7be04d4c11".into())]
    );
    assert_eq!(result.strings("server"), [Some("api-03".into())]);
    assert_eq!(
        result.strings("source_file"),
        [Some("2015/02/10/10/api-03.log.gz".into())]
    );
    assert_eq!(result.stats.min_event_time, Some(expected_time));
    assert_eq!(result.stats.max_event_time, Some(expected_time));
    assert_eq!(result.stats.corrupt, None);
}

#[test]
fn query_parameters_count_by_first_occurrence_and_bad_values_leave_nulls() {
    let lines = [
        "2015-02-10 00:00:00 - page_view - 1.2.3.4 /?ref=social&client=web&ref=email&vid=0123456789abcdef&client=iphone",
        "2015-02-10 00:00:00 - page_view - 1.2.3.4 /?client=blackberry&vid=0123456789ABCDEF&ref=tv",
        "2015-02-10 00:00:00 - page_view - 1.2.3.4 /?vid=short&vid=0123456789abcdef",
        "2015-02-10 00:00:00 - page_view - 1.2.3.4 /home",
        "2015-02-10 00:00:00 - page_view - ::1 /?client=mobile_web&vid=0123456789abcdef0123456789abcdef&ref=paid_search",
    ];
    let result = read_plain(format!("{}\n", lines.join("\n")).as_bytes());
    assert_accounted(&result);
    assert_eq!(
        result.strings("client"),
        ["web", "unknown", "unknown", "unknown", "mobile_web"].map(|s| Some(s.to_owned()))
    );
    assert_eq!(
        result.strings("visitor_id"),
        [
            Some("0123456789abcdef".to_owned()),
            None,
            None,
            None,
            Some("0123456789abcdef0123456789abcdef".to_owned())
        ]
    );
    assert_eq!(
        result.strings("channel"),
        [
            Some("social".to_owned()),
            None,
            None,
            None,
            Some("paid_search".to_owned())
        ]
    );
    assert_eq!(result.strings("ip")[4], Some("::1".to_owned()));
    assert_eq!(result.ints("user_id"), [None; 5]);
}

#[test]
fn unknown_action_is_kept_as_an_event() {
    let result = read_plain(b"2015-02-10 00:00:00 - gallery_create - 1.2.3.4 /g\n");
    assert_eq!(result.strings("action"), [Some("gallery_create".into())]);
}

#[test]
fn carriage_return_before_newline_is_tolerated() {
    let result = read_plain(format!("{GOOD}\r\n{GOOD}\r\n").as_bytes());
    assert_accounted(&result);
    assert_eq!(result.stats.events, 2);
    assert!(
        result
            .strings("request")
            .iter()
            .all(|r| !r.as_deref().unwrap_or_default().ends_with('\r'))
    );
}

#[test]
fn every_member_of_a_multi_member_gzip_is_read() {
    let mut bytes = gzip(format!("{GOOD}\n{GOOD}\n").as_bytes());
    bytes.extend(gzip(format!("{GOOD}\n").as_bytes()));
    bytes.extend(gzip(b""));
    bytes.extend(gzip(format!("{GOOD}\n").as_bytes()));
    let result = read_file_bytes("api-01.log.gz", &bytes, 8192);
    assert_accounted(&result);
    assert_eq!(result.stats.events, 4);
    assert_eq!(result.stats.corrupt, None);
}

/// Regression: the file an outside check found, ten good lines as two gzip
/// members that each inflate to the same size, loaded as its first five lines.
#[test]
fn two_gzip_members_of_equal_size_keep_all_ten_lines() {
    let five = format!("{GOOD}\n").repeat(5);
    let mut compressed = gzip(five.as_bytes());
    compressed.extend(gzip(five.as_bytes()));
    let result = read_file_bytes("api-01.log.gz", &compressed, 100);
    assert_accounted(&result);
    assert_eq!(
        (result.stats.lines, result.stats.events, result.stats.corrupt.clone()),
        (10, 10, None)
    );
}

#[test]
fn corrupt_gzip_keeps_the_lines_before_the_damage_and_marks_the_file() {
    let text: String = (0..20_000).map(|_| format!("{GOOD}\n")).collect();
    let whole = gzip(text.as_bytes());
    let cut = &whole[..whole.len() / 2];
    let result = read_file_bytes("api-01.log.gz", cut, 4096);
    assert_accounted(&result);
    assert!(result.stats.corrupt.is_some(), "the file is marked corrupt");
    assert!(
        result.stats.events > 5_000,
        "lines before the damage are loaded: {}",
        result.stats.events
    );
    assert!(result.stats.events < 20_000);
    // The line the damage cut in two is quarantined, not dropped, unless the cut fell on a line end.
    assert!(result.reasons().iter().all(|r| *r == "truncated_line"));
    assert!(result.rejected.len() <= 1);
}

/// Small one-member files are inflated whole (libdeflate), the rest streamed (flate2):
/// the reader sees the same lines either way.
#[test]
fn a_file_inflated_whole_reads_as_its_plain_text_does() {
    let text: String = (0..3_000)
        .map(|i| {
            if i % 7 == 0 {
                "not an api-v1 line\n".to_owned()
            } else {
                format!("{GOOD}\n")
            }
        })
        .collect();
    let zipped = read_file_bytes("api-01.log.gz", &gzip(text.as_bytes()), 1000);
    let plain = read_file_bytes("api-01.log", text.as_bytes(), 1000);
    assert_accounted(&zipped);
    assert_eq!(zipped.stats.lines, 3_000);
    assert_eq!(zipped.stats.decompressed_bytes, text.len() as u64);
    assert_eq!(zipped.stats.corrupt, None);
    assert_eq!(zipped.stats.events, plain.stats.events);
    assert_eq!(zipped.times(), plain.times());
    assert_eq!(zipped.reasons(), plain.reasons());
}

/// A file inflated whole is parsed where it lies (its bytes are the reader's
/// buffer, already full): an over-long line inside it, and a last line cut short
/// or over-long with no newline, end up as they do when read through the buffer.
#[test]
fn a_file_parsed_where_it_was_inflated_ends_as_a_streamed_file_does() {
    let long = "x".repeat(darkroom_logs::MAX_LINE_BYTES * 3);
    for ending in [&GOOD[..40], long.as_str(), ""] {
        let text = format!("{GOOD}\n{long}\n{GOOD}\n{ending}");
        let zipped = read_file_bytes("api-01.log.gz", &gzip(text.as_bytes()), 1000);
        let plain = read_file_bytes("api-01.log", text.as_bytes(), 1000);
        assert_accounted(&zipped);
        assert_eq!(zipped.stats.decompressed_bytes, text.len() as u64);
        assert_eq!(zipped.stats.corrupt, None);
        assert_eq!(zipped.stats.events, 2);
        assert_eq!(zipped.rejected, plain.rejected, "ending of {} bytes", ending.len());
        assert_eq!(zipped.times(), plain.times());
    }
}

/// A trailer stating the wrong size makes the whole-file inflater decline; the
/// streaming reader then keeps every line and reports the mismatch.
#[test]
fn a_gzip_trailer_that_misstates_the_size_keeps_the_lines_and_marks_the_file_corrupt() {
    let text: String = (0..100).map(|_| format!("{GOOD}\n")).collect();
    let mut bytes = gzip(text.as_bytes());
    let end = bytes.len();
    bytes[end - 4..].copy_from_slice(&7u32.to_le_bytes());
    let result = read_file_bytes("api-01.log.gz", &bytes, 8192);
    assert_accounted(&result);
    assert_eq!(result.stats.events, 100);
    assert!(result.stats.corrupt.is_some(), "the size mismatch is reported");
}

#[test]
fn garbage_after_a_good_member_marks_the_file_corrupt() {
    let mut bytes = gzip(format!("{GOOD}\n").as_bytes());
    bytes.extend_from_slice(&[0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad]);
    let result = read_file_bytes("api-01.log.gz", &bytes, 8192);
    assert_accounted(&result);
    assert_eq!(result.stats.events, 1);
    assert!(result.stats.corrupt.is_some());
}

#[test]
fn plain_text_named_gz_is_corrupt_not_a_crash() {
    let result = read_file_bytes("api-01.log.gz", format!("{GOOD}\n").as_bytes(), 8192);
    assert_accounted(&result);
    assert_eq!(result.stats.events, 0);
    assert!(result.stats.corrupt.is_some());
}

#[test]
fn empty_files_have_no_lines() {
    for (name, bytes) in [("api-01.log", Vec::new()), ("api-01.log.gz", gzip(b""))] {
        let result = read_file_bytes(name, &bytes, 8192);
        assert_eq!(result.stats.lines, 0, "{name}");
        assert_eq!(result.stats.corrupt, None, "{name}");
    }
}

#[test]
fn batches_split_at_the_requested_size_without_losing_rows() {
    let text: String = (0..1000)
        .map(|i| format!("2015-02-10 10:00:00 {} login - 1.2.3.4 /login\n", i + 1))
        .collect();
    let result = read_file_bytes("api-01.log", text.as_bytes(), 64);
    assert_accounted(&result);
    let ids: Vec<i64> = result.ints("user_id").into_iter().flatten().collect();
    assert_eq!(ids, (1..=1000).collect::<Vec<_>>());
    // Built once per file and sliced per batch: still one value for every row of every batch, the short last one too.
    assert_eq!(result.strings("server"), vec![Some("api-01".to_owned()); 1000]);
    let files = result.strings("source_file");
    assert_eq!(files.len(), 1000);
    assert!(files.iter().all(|f| f == &files[0] && f.is_some()));
}

#[test]
fn late_line_belongs_to_the_day_of_its_own_timestamp() {
    // Written in hour 00 of the 11th, about the 10th.
    let text = "2015-02-10 23:59:58.5 7 login - 1.2.3.4 /login\n2015-02-11 00:00:01 7 login - 1.2.3.4 /login\n";
    let dir = tempfile::tempdir().expect("temp dir");
    let path = crate::support::write_archive(dir.path(), "2015/02/11/00/api-02.log", text.as_bytes());
    let file = ArchiveFile::new(dir.path(), path, text.len() as u64);
    assert_eq!(
        file.file_hour,
        Some(i64::from(days_from_civil(2015, 2, 11)) * DAY_MICROS)
    );
    let result = read_plain(text.as_bytes());
    assert_eq!(
        result.dates(),
        [days_from_civil(2015, 2, 10), days_from_civil(2015, 2, 11)]
    );
}

#[test]
fn server_is_the_file_name_up_to_its_first_dot() {
    let file = ArchiveFile::new(Path::new("/logs"), "/logs/2015/02/10/10/api-03.retry.log.gz".into(), 1);
    assert_eq!(file.server, "api-03");
    assert_eq!(file.source_file, "2015/02/10/10/api-03.retry.log.gz");
    assert!(file.gzip);
    let stray = ArchiveFile::new(Path::new("/logs"), "/logs/misc/api-09.log".into(), 1);
    assert_eq!(stray.file_hour, None);
}

#[test]
fn listing_finds_archives_and_names_a_missing_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    crate::support::write_archive(dir.path(), "2015/02/10/10/api-01.log.gz", &gzip(b""));
    crate::support::write_archive(dir.path(), "2015/02/10/10/api-02.log", b"");
    crate::support::write_archive(dir.path(), "2015/02/10/10/README.txt", b"not a log");
    let files = darkroom_logs::list_archives(dir.path()).expect("list");
    let names: Vec<&str> = files.iter().map(|f| f.source_file.as_str()).collect();
    assert_eq!(names, ["2015/02/10/10/api-01.log.gz", "2015/02/10/10/api-02.log"]);

    let missing = dir.path().join("nope");
    let err = darkroom_logs::list_archives(&missing).expect_err("missing folder");
    assert_eq!(
        err.to_string(),
        format!("log folder {} does not exist", missing.display())
    );
    assert!(err.hint().contains("[sources.logs] path"));
}

#[test]
fn unreadable_file_is_an_error_naming_the_path() {
    let file = ArchiveFile::new(
        Path::new("/nonexistent"),
        "/nonexistent/2015/02/10/10/api-01.log".into(),
        0,
    );
    let err = darkroom_logs::FileReader::open(&file, darkroom_logs::ColumnSet::all(), 10).expect_err("no such file");
    assert!(
        err.to_string()
            .starts_with("cannot open log archive /nonexistent/2015/02/10/10/api-01.log:"),
        "{err}"
    );
}

/// Files read one after another on a thread share a buffer (`spare_buffer.rs`):
/// a short file read after a long one, gzip or plain, holds its own lines only,
/// its cut-short last line included, and nothing the long file left behind.
#[test]
fn a_file_read_after_a_longer_one_on_the_same_thread_holds_only_its_own_lines() {
    let long: String = (0..20_000)
        .map(|i| format!("{GOOD}\n").replace("423223", &(i + 1).to_string()))
        .collect();
    let short = format!("{GOOD}\n{}", &GOOD[..40]);
    for name in ["api-01.log.gz", "api-01.log"] {
        let bytes = |text: &str| {
            if name.ends_with(".gz") {
                gzip(text.as_bytes())
            } else {
                text.as_bytes().to_vec()
            }
        };
        let first = read_file_bytes(name, &bytes(&long), 8192);
        assert_eq!(first.stats.events, 20_000, "{name}");
        let second = read_file_bytes(name, &bytes(&short), 8192);
        assert_accounted(&second);
        assert_eq!(second.stats.decompressed_bytes, short.len() as u64, "{name}");
        assert_eq!((second.stats.lines, second.stats.events), (2, 1), "{name}");
        assert_eq!(second.reasons(), ["truncated_line"], "{name}");
        assert_eq!(second.rejected[0].raw_line, &GOOD[..40], "{name}");
        assert_eq!(second.ints("object_id"), [Some(423_223)], "{name}");
    }
}

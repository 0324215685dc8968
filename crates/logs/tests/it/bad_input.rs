//! One test per kind of bad input in log-format.md, each showing its reason code,
//! and that the good lines around it survive.

use crate::support::{GOOD, ReadResult, assert_accounted, read_plain};

/// A bad line between two good ones: exactly one rejection, both good lines kept.
fn sandwich(bad: &[u8]) -> ReadResult {
    let mut text = Vec::new();
    text.extend_from_slice(GOOD.as_bytes());
    text.push(b'\n');
    text.extend_from_slice(bad);
    text.push(b'\n');
    text.extend_from_slice(GOOD.as_bytes());
    text.push(b'\n');
    let result = read_plain(&text);
    assert_accounted(&result);
    assert_eq!(result.stats.lines, 3);
    assert_eq!(result.stats.events, 2, "the good lines around the bad one are kept");
    assert_eq!(result.rejected.len(), 1);
    assert_eq!(result.rejected[0].line_number, 2);
    result
}

fn reason_of(bad: &str) -> &'static str {
    let result = sandwich(bad.as_bytes());
    let kept = &bad[..bad.len().min(darkroom_logs::MAX_RAW_LINE_BYTES)];
    assert_eq!(
        result.rejected[0].raw_line, kept,
        "the raw line is kept as it was, up to 4096 bytes"
    );
    result.reasons()[0]
}

fn good_with(field: usize, value: &str) -> String {
    let mut fields: Vec<&str> = GOOD.split(' ').collect();
    fields[field] = value;
    fields.join(" ")
}

#[test]
fn wrong_field_count_is_field_count() {
    assert_eq!(
        reason_of("2015-02-10 10:24:31 23432423 photo_like 423223 1.2.3.4"),
        "field_count"
    );
    assert_eq!(reason_of(&format!("{GOOD} extra")), "field_count");
    assert_eq!(reason_of(&GOOD.replacen(' ', "  ", 1)), "field_count");
    assert_eq!(reason_of(""), "field_count");
}

#[test]
fn malformed_date_is_bad_date() {
    assert_eq!(reason_of(&good_with(0, "2015/02/10")), "bad_date");
    assert_eq!(reason_of(&good_with(0, "15-02-10")), "bad_date");
    assert_eq!(reason_of(&good_with(0, "2015-2-10x")), "bad_date");
}

#[test]
fn non_ascii_dash_in_date_is_bad_date() {
    // U+2011 NON-BREAKING HYPHEN and U+2013 EN DASH look like '-' in a terminal.
    assert_eq!(reason_of(&good_with(0, "2015\u{2011}02\u{2011}10")), "bad_date");
    assert_eq!(reason_of(&good_with(0, "2015\u{2013}02-10")), "bad_date");
}

#[test]
fn calendar_impossible_date_is_impossible_date() {
    assert_eq!(reason_of(&good_with(0, "2015-02-29")), "impossible_date");
    assert_eq!(reason_of(&good_with(0, "2015-13-01")), "impossible_date");
    assert_eq!(reason_of(&good_with(0, "2015-04-31")), "impossible_date");
    assert_eq!(reason_of(&good_with(0, "2015-00-10")), "impossible_date");
}

#[test]
fn leap_day_is_a_date() {
    let text = format!("{}\n", good_with(0, "2016-02-29"));
    let result = read_plain(text.as_bytes());
    assert_eq!(result.stats.events, 1);
    assert_eq!(result.dates(), [darkroom_logs::days_from_civil(2016, 2, 29)]);
}

#[test]
fn bad_time_is_bad_time() {
    for time in [
        "24:00:00",
        "10:60:00",
        "10:00:60",
        "10:24",
        "10:24:31.",
        "10:24:31.1234567",
        "10-24-31",
    ] {
        assert_eq!(reason_of(&good_with(1, time)), "bad_time", "{time}");
    }
}

#[test]
fn non_numeric_ids_are_bad_ids() {
    for user in ["abc", "+1", "-1", "0", "9223372036854775808", "12a"] {
        assert_eq!(reason_of(&good_with(2, user)), "bad_user_id", "{user}");
    }
    for object in ["photo", "+5", "0", "99999999999999999999"] {
        assert_eq!(reason_of(&good_with(4, object)), "bad_object_id", "{object}");
    }
}

#[test]
fn largest_id_is_an_id() {
    let line = good_with(2, "9223372036854775807");
    let mut text = line.clone().into_bytes();
    text.push(b'\n');
    let result = read_plain(&text);
    assert_eq!(result.ints("user_id"), [Some(i64::MAX)]);
}

#[test]
fn anonymous_user_on_an_action_that_needs_one_is_missing_user() {
    for action in [
        "signup",
        "login",
        "photo_like",
        "photo_favourite",
        "photo_comment",
        "follow",
        "photo_upload",
        "marketplace_submit",
    ] {
        let line = good_with(2, "-").replacen("photo_like", action, 1);
        assert_eq!(reason_of(&line), "missing_user", "{action}");
    }
}

#[test]
fn bad_action_is_bad_action() {
    assert_eq!(reason_of(&good_with(3, "Photo_Like")), "bad_action");
    assert_eq!(reason_of(&good_with(3, "photo-like")), "bad_action");
    assert_eq!(reason_of(&good_with(3, &"a".repeat(33))), "bad_action");
}

#[test]
fn over_long_request_is_request_too_long() {
    let request = format!("/v2/photos?{}", "a".repeat(4096));
    assert_eq!(reason_of(&good_with(6, &request)), "request_too_long");
}

#[test]
fn request_that_is_not_a_path_is_bad_request() {
    assert_eq!(reason_of(&good_with(6, "v2/photos")), "bad_request");
    assert_eq!(reason_of(&good_with(6, "/v2/phötos")), "bad_request");
}

#[test]
fn invalid_utf8_is_invalid_utf8() {
    let mut bad = good_with(6, "/v2/photos").into_bytes();
    bad.extend_from_slice(&[0xff, 0xfe]);
    let result = sandwich(&bad);
    assert_eq!(result.reasons(), ["invalid_utf8"]);
    assert!(
        result.rejected[0].raw_line.ends_with("/v2/photos\u{fffd}\u{fffd}"),
        "lossily decoded"
    );
}

#[test]
fn binary_garbage_is_binary() {
    let garbage: Vec<u8> = (0u8..=255).filter(|&b| b != b'\n').collect();
    let result = sandwich(&garbage);
    assert_eq!(result.reasons(), ["binary"]);
    let nul = sandwich(&[0, 0, 0, b'a']);
    assert_eq!(nul.reasons(), ["binary"]);
}

#[test]
fn truncated_last_line_is_truncated_line() {
    let text = format!("{GOOD}\n{}", &GOOD[..40]);
    let result = read_plain(text.as_bytes());
    assert_accounted(&result);
    assert_eq!(result.stats.events, 1);
    assert_eq!(result.reasons(), ["truncated_line"]);
    assert_eq!(result.rejected[0].line_number, 2);
    assert_eq!(result.rejected[0].raw_line, &GOOD[..40]);
}

#[test]
fn line_longer_than_any_valid_line_is_quarantined_in_bounded_memory() {
    let long = "x".repeat(darkroom_logs::MAX_LINE_BYTES * 3);
    let text = format!("{GOOD}\n{long}\n{GOOD}\n");
    let result = read_plain(text.as_bytes());
    assert_accounted(&result);
    assert_eq!(result.stats.lines, 3);
    assert_eq!(result.reasons(), ["line_too_long"]);
    assert_eq!(result.rejected[0].line_number, 2);
    assert_eq!(result.rejected[0].raw_line.len(), darkroom_logs::MAX_RAW_LINE_BYTES);
}

#[test]
fn raw_line_is_kept_to_4096_bytes() {
    let result = sandwich(format!("{} {}", "y".repeat(5000), "z").as_bytes());
    assert_eq!(result.reasons(), ["field_count"]);
    assert_eq!(result.rejected[0].raw_line.len(), 4096);
}

#[test]
fn invalid_ip_is_an_event_with_a_warning() {
    let text = format!("{}\n{GOOD}\n", good_with(5, "123.132.623.123"));
    let result = read_plain(text.as_bytes());
    assert_accounted(&result);
    assert_eq!(result.stats.events, 2);
    assert_eq!(result.stats.ip_warnings, 1);
    assert_eq!(result.strings("ip"), [None, Some("123.132.62.123".to_owned())]);
}

/// Lines with non-ASCII bytes take the slow path (the whole-line check fails):
/// each field must still be judged on its own, as on the fast path.
#[test]
fn non_ascii_text_is_judged_by_the_field_it_is_in() {
    let text = format!("{}\n{GOOD}\n", good_with(5, "1.2.3.\u{ff14}"));
    let result = read_plain(text.as_bytes());
    assert_accounted(&result);
    assert_eq!(
        result.stats.events, 2,
        "a non-ASCII digit in IP is an address warning, not a bad line"
    );
    assert_eq!(result.stats.ip_warnings, 1);
    assert_eq!(reason_of(&good_with(3, "phöto_like")), "bad_action");
    assert_eq!(reason_of(&good_with(2, "\u{0661}2")), "bad_user_id");
    assert_eq!(reason_of(&good_with(6, "/v2/photos /x\u{e9}")), "field_count");
}

#[test]
fn every_reason_code_is_distinct_and_snake_case() {
    let codes: std::collections::BTreeSet<&str> = darkroom_logs::RejectReason::ALL.iter().map(|r| r.code()).collect();
    assert_eq!(codes.len(), darkroom_logs::RejectReason::ALL.len());
    assert!(codes.iter().all(|c| {
        c.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    }));
}

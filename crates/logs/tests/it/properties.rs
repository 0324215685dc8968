//! No input makes the reader panic, and every line is accounted for.

use proptest::prelude::*;

use darkroom_logs::LineParser;

use crate::support::{GOOD, assert_accounted, gzip, read_file_bytes, read_plain};

/// Lines that are near-misses of good ones: mutations find the edge cases random bytes miss.
fn mutated_line() -> impl Strategy<Value = Vec<u8>> {
    (any::<usize>(), any::<u8>(), 0..4u8).prop_map(|(at, byte, op)| {
        let mut line = GOOD.as_bytes().to_vec();
        let at = at % line.len();
        match op {
            0 => line[at] = byte,
            1 => line.insert(at, byte),
            2 => {
                line.remove(at);
            }
            _ => line.truncate(at),
        }
        line
    })
}

/// A good line, or one with a byte that is not UTF-8 (`0xff`), a character of
/// two or three bytes (`é`, `€`), a `\r` or a space put in or swapped in.
fn line_with_odd_bytes() -> impl Strategy<Value = Vec<u8>> {
    let odd = prop_oneof![
        Just(vec![0xff]),
        Just("é".as_bytes().to_vec()),
        Just("€".as_bytes().to_vec()),
        Just(vec![b'\r']),
        Just(vec![b' ']),
    ];
    (any::<usize>(), odd, any::<bool>(), any::<bool>()).prop_map(|(at, odd, replace, keep_good)| {
        let mut line = GOOD.as_bytes().to_vec();
        if keep_good {
            return line;
        }
        let at = at % line.len();
        let tail = line.split_off(at);
        line.extend_from_slice(&odd);
        line.extend_from_slice(if replace { &tail[1..] } else { &tail });
        line
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The reader finds each line's end and shape in one pass and checks UTF-8
    /// for many lines at once; whatever lies next to a line, its verdict is
    /// the one the line parser gives it alone.
    #[test]
    fn the_reader_judges_every_line_as_the_line_parser_does(
        lines in proptest::collection::vec(line_with_odd_bytes(), 1..60),
        batch_rows in 1usize..40,
    ) {
        let mut text = Vec::new();
        for line in &lines {
            text.extend_from_slice(line);
            text.push(b'\n');
        }
        let result = read_file_bytes("api-01.log", &text, batch_rows);
        assert_accounted(&result);
        let mut parser = LineParser::new();
        let mut requests = Vec::new();
        let mut reasons = Vec::new();
        for line in &lines {
            match parser.parse(line) {
                Ok(event) => requests.push(Some(event.request.to_owned())),
                Err(reason) => reasons.push(reason.code()),
            }
        }
        prop_assert_eq!(result.strings("request"), requests);
        prop_assert_eq!(result.reasons(), reasons);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_every_line_is_counted(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let result = read_plain(&bytes);
        assert_accounted(&result);
        let newlines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        let unterminated = u64::from(!bytes.is_empty() && bytes.last() != Some(&b'\n'));
        prop_assert_eq!(result.stats.lines, newlines + unterminated);
    }

    #[test]
    fn mutated_lines_are_events_or_quarantined(lines in proptest::collection::vec(mutated_line(), 1..50)) {
        let mut text = Vec::new();
        for line in &lines {
            text.extend_from_slice(line);
            text.push(b'\n');
        }
        let result = read_plain(&text);
        assert_accounted(&result);
        prop_assert_eq!(result.stats.lines as usize, lines.len() + lines.iter().map(|l| l.iter().filter(|&&b| b == b'\n').count()).sum::<usize>());
    }

    /// Regression for a file of two gzip members of equal inflated size, which
    /// was read as its first member alone: whatever the members' number and
    /// sizes (equal ones included, up to a whole member repeated), every line
    /// is read back, in order.
    #[test]
    fn every_gzip_member_is_read_whatever_their_sizes(
        lines in proptest::collection::vec(line_with_odd_bytes(), 1..40),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
        repeat_first_member in any::<bool>(),
    ) {
        let mut text = Vec::new();
        for line in &lines {
            text.extend_from_slice(line);
            text.push(b'\n');
        }
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (text.len() + 1)).collect();
        cuts.push(0);
        cuts.push(text.len());
        cuts.sort_unstable();
        let mut members: Vec<&[u8]> = cuts.windows(2).map(|w| &text[w[0]..w[1]]).collect();
        if repeat_first_member {
            // Two identical members: equal sizes and equal checksums.
            members.insert(0, members[0]);
        }
        let plain: Vec<u8> = members.concat();
        let compressed: Vec<u8> = members.iter().flat_map(|m| gzip(m)).collect();
        let from_gzip = read_file_bytes("api-01.log.gz", &compressed, 7);
        let from_plain = read_file_bytes("api-01.log", &plain, 7);
        assert_accounted(&from_gzip);
        prop_assert_eq!(from_gzip.stats.corrupt.as_deref(), None);
        prop_assert_eq!(from_gzip.stats.lines, from_plain.stats.lines);
        prop_assert_eq!(from_gzip.strings("request"), from_plain.strings("request"));
        prop_assert_eq!(from_gzip.reasons(), from_plain.reasons());
    }

    #[test]
    fn arbitrary_bytes_as_gzip_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), cut in any::<usize>()) {
        let compressed = gzip(&bytes);
        let cut = cut % (compressed.len() + 1);
        let result = read_file_bytes("api-01.log.gz", &compressed[..cut], 100);
        assert_accounted(&result);
        let raw = read_file_bytes("api-01.log.gz", &bytes, 100);
        assert_accounted(&raw);
    }
}

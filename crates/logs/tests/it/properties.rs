//! No input makes the reader panic, and every line is accounted for.

use proptest::prelude::*;

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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

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

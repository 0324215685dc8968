//! Gzip input: a whole file inflated at once where that is safe, streaming otherwise.
//!
//! libdeflate inflates about 1.5x as fast as zlib-rs (`read_archives --mode
//! inflate` against `--mode decompress`), but only a whole gzip member held in
//! memory. So a file is inflated whole when it is small (on disk, and
//! decompressed by its gzip trailer) and one member; anything else (a large
//! file, several members, a damaged stream) streams through flate2, which reads
//! every member and keeps the lines before damage. The bytes already read are
//! reused, so nothing is read twice from disk; a declined file is inflated
//! twice up to where libdeflate stopped, which only rare files pay.

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};

use flate2::read::MultiGzDecoder;

/// Files up to this size, on disk and decompressed, are inflated whole; a
/// reading thread holds at most twice this. Hourly files of a 1 GB day across
/// four servers are about 11 MB each.
pub const WHOLE_FILE_INFLATE_MAX_BYTES: u64 = 64 << 20;

const STREAM_BUFFER_BYTES: usize = 256 * 1024;

/// The decompressed bytes of a gzip file: all of them, or a stream.
pub enum GzipInput {
    /// A small one-member file, inflated whole: the reader parses it where it
    /// lies instead of copying it through its read buffer. Hand it to
    /// [`crate::recycle_buffer`] when done, so the next file inflates into it.
    Whole(Vec<u8>),
    /// Anything else, through flate2.
    Stream(Box<dyn Read + Send>),
}

impl std::fmt::Debug for GzipInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Whole(plain) => f.debug_tuple("Whole").field(&plain.len()).finish(),
            Self::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// The decompressed bytes of a gzip file.
pub fn gzip_input(file: File) -> GzipInput {
    let stream = |reader: Box<dyn Read + Send>| GzipInput::Stream(Box::new(MultiGzDecoder::new(reader)));
    let size = file.metadata().map_or(u64::MAX, |m| m.len());
    if size > WHOLE_FILE_INFLATE_MAX_BYTES {
        return stream(Box::new(BufReader::with_capacity(STREAM_BUFFER_BYTES, file)));
    }
    let mut compressed = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // Bounded even if the file grew since its size was read: past the bound, stream.
    let mut head = file.take(WHOLE_FILE_INFLATE_MAX_BYTES + 1);
    let read = head.read_to_end(&mut compressed);
    let file = head.into_inner();
    if let Err(error) = read {
        // The bytes before a read error still count, as when streaming.
        let rest = FailOnce(Some(error));
        return stream(Box::new(Cursor::new(compressed).chain(rest)));
    }
    if compressed.len() as u64 > WHOLE_FILE_INFLATE_MAX_BYTES {
        let rest = BufReader::with_capacity(STREAM_BUFFER_BYTES, file);
        return stream(Box::new(Cursor::new(compressed).chain(rest)));
    }
    match inflate_whole(&compressed) {
        Some(plain) => GzipInput::Whole(plain),
        None => stream(Box::new(Cursor::new(compressed))),
    }
}

/// The file inflated by libdeflate, if it is one member within the size bound and
/// decompresses cleanly to the size its trailer states.
///
/// libdeflate inflates the first member only and does not say how much input it
/// consumed (the `_ex` call that would is not in the safe wrapper), so a file of
/// several members whose first and last inflate to the same size once passed as
/// whole and lost every later member. Such a file has, right after its first
/// member, that member's size (equal to `written`) followed by the next member's
/// magic; a file with that pattern anywhere goes to the streaming reader, which
/// reads every member. A chance match inside compressed data only costs speed.
fn inflate_whole(compressed: &[u8]) -> Option<Vec<u8>> {
    let trailer: [u8; 4] = compressed.get(compressed.len().checked_sub(4)?..)?.try_into().ok()?;
    let stated = u64::from(u32::from_le_bytes(trailer));
    if stated > WHOLE_FILE_INFLATE_MAX_BYTES {
        return None;
    }
    // libdeflate writes every byte it reports, and anything short of `stated` is declined.
    let mut plain = crate::spare_buffer::buffer_of_len(usize::try_from(stated).ok()?);
    // Several members, damage, or a trailer size that wrapped past 4 GiB: all errors here.
    match libdeflater::Decompressor::new().gzip_decompress(compressed, &mut plain) {
        Ok(written) if written == plain.len() && !has_member_after_one_of(compressed, written) => Some(plain),
        _ => {
            crate::spare_buffer::recycle(plain);
            None
        }
    }
}

/// Whether a member that inflated to `size` bytes may be followed by another:
/// its trailer's size field directly before a gzip magic.
fn has_member_after_one_of(compressed: &[u8], size: usize) -> bool {
    let mut boundary = [0u8; 6];
    boundary[..4].copy_from_slice(&(size as u32).to_le_bytes());
    boundary[4..].copy_from_slice(&GZIP_MAGIC);
    memchr::memmem::find(compressed, &boundary).is_some()
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A reader that fails with the error it holds, once, then ends.
struct FailOnce(Option<io::Error>);

impl Read for FailOnce {
    fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        self.0.take().map_or(Ok(0), Err)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(text).expect("compress");
        encoder.finish().expect("finish")
    }

    #[test]
    fn one_member_inflates_whole() {
        let text = b"a line\nanother line\n".repeat(1000);
        assert_eq!(inflate_whole(&gzip(&text)), Some(text));
    }

    #[test]
    fn several_members_are_left_to_the_streaming_reader() {
        let mut two = gzip(b"first member\n");
        two.extend(gzip(b"second member\n"));
        assert_eq!(inflate_whole(&two), None);
    }

    /// Regression: two members that inflate to the same size (571 and 571 bytes
    /// in the file an outside check found) passed libdeflate's size check and
    /// the second member's lines were silently lost.
    #[test]
    fn two_members_of_equal_size_are_left_to_the_streaming_reader() {
        let mut two = gzip(b"first member, five more words\n");
        two.extend(gzip(b"other member, five more words\n"));
        assert_eq!(inflate_whole(&two), None);
        let mut same = gzip(b"the same member twice\n");
        same.extend(gzip(b"the same member twice\n"));
        assert_eq!(inflate_whole(&same), None);
    }

    #[test]
    fn damage_and_truncation_are_left_to_the_streaming_reader() {
        let whole = gzip(&b"a line\n".repeat(5000));
        let mut damaged = whole.clone();
        let middle = damaged.len() / 2;
        damaged[middle] ^= 0xff;
        assert_eq!(inflate_whole(&damaged), None);
        assert_eq!(inflate_whole(&whole[..whole.len() - 9]), None);
        assert_eq!(inflate_whole(&[]), None);
        assert_eq!(inflate_whole(&[0x1f, 0x8b]), None);
    }

    #[test]
    fn a_trailer_claiming_more_than_the_bound_is_not_allocated() {
        let mut lying = gzip(b"short\n");
        let end = lying.len();
        lying[end - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(inflate_whole(&lying), None);
    }
}

//! One byte buffer per thread, handed from each file read to the next.
//!
//! Why: a large allocation comes back from jemalloc (the binary's allocator) as
//! pages the process has not touched yet, and each one faults in as it is first
//! written. Inflating a fresh buffer per file took 78,000 page faults for a
//! 303 MB day (`perf record -e page-faults`: 95% of them inside libdeflate),
//! 5,000 with this. glibc's allocator, which reuses its heap, likely hid them.

use std::cell::RefCell;

use crate::gzip::WHOLE_FILE_INFLATE_MAX_BYTES;

thread_local! {
    static SPARE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of `len` bytes: this thread's spare one when there is one. Bytes
/// past the zeroed growth hold what the last file left; every caller writes
/// before it reads.
pub(crate) fn buffer_of_len(len: usize) -> Vec<u8> {
    let mut buffer = SPARE.with(|spare| spare.take());
    if buffer.capacity() < len {
        // Growing it would copy bytes nobody reads; the new one becomes the spare.
        return vec![0; len];
    }
    buffer.resize(len, 0);
    buffer
}

/// Keeps `buffer` as this thread's spare when it is larger than the one kept
/// and within the bound a reading thread already holds while it reads a file
/// ([`WHOLE_FILE_INFLATE_MAX_BYTES`]).
pub fn recycle(buffer: Vec<u8>) {
    if buffer.capacity() as u64 > WHOLE_FILE_INFLATE_MAX_BYTES {
        return;
    }
    SPARE.with(|spare| {
        let mut spare = spare.borrow_mut();
        if buffer.capacity() > spare.capacity() {
            *spare = buffer;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recycled_buffer_comes_back_at_the_length_asked_with_its_growth_zeroed() {
        recycle(vec![7u8; 1000]);
        let shorter = buffer_of_len(600);
        assert_eq!((shorter.len(), shorter.capacity()), (600, 1000));
        recycle(shorter);
        let longer = buffer_of_len(800);
        assert_eq!(longer.len(), 800);
        assert!(longer[..600].iter().all(|&b| b == 7), "reused bytes are not cleared");
        assert!(longer[600..].iter().all(|&b| b == 0), "growth is zeroed");
        // Only one spare is kept per thread, and a smaller one does not replace it.
        recycle(longer);
        recycle(vec![1u8; 10]);
        assert_eq!(buffer_of_len(0).capacity(), 1000);
        // More than the spare holds: a new buffer, all zeros.
        recycle(vec![7u8; 1000]);
        assert_eq!(buffer_of_len(1500), vec![0u8; 1500]);
    }

    #[test]
    fn a_buffer_past_the_whole_file_bound_is_not_kept() {
        let huge = Vec::with_capacity(usize::try_from(WHOLE_FILE_INFLATE_MAX_BYTES).unwrap_or(usize::MAX) + 1);
        recycle(huge);
        assert_eq!(buffer_of_len(0).capacity(), 0);
    }
}

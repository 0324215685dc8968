//! Sixteen bytes at a time: which bytes of a block equal one byte, as a bit
//! mask, the first such byte of a slice, and a slice's tail as a block. A
//! line's fields and its request's parameters are a few dozen bytes: too short
//! for a `memchr` call to pay, too long for a loop over single bytes. (The
//! newline ending a line is found by the line pass of `line.rs`, in the blocks
//! it reads anyway: searched for on its own, block by block, it ran 3% more
//! instructions than `memchr`; found in that pass, 3% fewer.)
//!
//! They are `#[inline]`: the parser calls them from another module, which may
//! land in another codegen unit, and called rather than inlined they cost it
//! 5% more instructions.

/// Bit `i` set where `block[i] == byte`: a compare and a byte mask (SSE2).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn byte_mask(block: &[u8; 16], byte: u8) -> u32 {
    use safe_arch::{cmp_eq_mask_i8_m128i, m128i, move_mask_i8_m128i, set_splat_i8_m128i};
    let equal = cmp_eq_mask_i8_m128i(m128i::from(*block), set_splat_i8_m128i(byte as i8));
    move_mask_i8_m128i(equal) as u32
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
pub(crate) fn byte_mask(block: &[u8; 16], byte: u8) -> u32 {
    let mut mask = 0;
    for (bit, &b) in block.iter().enumerate() {
        mask |= u32::from(b == byte) << bit;
    }
    mask
}

/// Bit `i` set where `a[i] == b[i]`: a compare and a byte mask (SSE2).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn equal_mask(a: &[u8; 16], b: &[u8; 16]) -> u32 {
    use safe_arch::{cmp_eq_mask_i8_m128i, m128i, move_mask_i8_m128i};
    move_mask_i8_m128i(cmp_eq_mask_i8_m128i(m128i::from(*a), m128i::from(*b))) as u32
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
pub(crate) fn equal_mask(a: &[u8; 16], b: &[u8; 16]) -> u32 {
    let mut mask = 0;
    for (bit, (x, y)) in a.iter().zip(b).enumerate() {
        mask |= u32::from(x == y) << bit;
    }
    mask
}

/// Bit `i` set where `lo <= block[i] <= hi`, for ASCII bounds: two compares
/// and a byte mask (SSE2). Signed compares: bytes from 0x80 up are negative,
/// so below any ASCII `lo`.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn range_mask(block: &[u8; 16], lo: u8, hi: u8) -> u32 {
    use safe_arch::{
        bitand_m128i, cmp_gt_mask_i8_m128i, cmp_lt_mask_i8_m128i, m128i, move_mask_i8_m128i, set_splat_i8_m128i,
    };
    debug_assert!(lo.is_ascii() && hi.is_ascii() && lo > 0 && hi < 0x7f);
    let bytes = m128i::from(*block);
    let within = bitand_m128i(
        cmp_gt_mask_i8_m128i(bytes, set_splat_i8_m128i((lo - 1) as i8)),
        cmp_lt_mask_i8_m128i(bytes, set_splat_i8_m128i((hi + 1) as i8)),
    );
    move_mask_i8_m128i(within) as u32
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
pub(crate) fn range_mask(block: &[u8; 16], lo: u8, hi: u8) -> u32 {
    let mut mask = 0;
    for (bit, &b) in block.iter().enumerate() {
        mask |= u32::from((lo..=hi).contains(&b)) << bit;
    }
    mask
}

/// The index of the first `byte` in `bytes` at or after `from`.
#[inline]
pub(crate) fn position(bytes: &[u8], from: usize, byte: u8) -> Option<usize> {
    let searched = &bytes[from..];
    let (blocks, rest) = searched.as_chunks::<16>();
    for (i, block) in blocks.iter().enumerate() {
        let mask = byte_mask(block, byte);
        if mask != 0 {
            return Some(from + i * 16 + mask.trailing_zeros() as usize);
        }
    }
    if rest.is_empty() {
        return None;
    }
    let (tail, overlap) = tail_block(searched, !byte);
    let tail_mask = byte_mask(&tail, byte) >> overlap;
    (tail_mask != 0).then(|| from + blocks.len() * 16 + tail_mask.trailing_zeros() as usize)
}

/// The bytes after a slice's last whole block, as a block, and how many low
/// bits of its masks to drop. A slice of sixteen bytes or more gives its last
/// sixteen, overlapping blocks already read (a fixed-size copy, where padding
/// would be a `memcpy` call); a shorter one is padded with `pad`, which adds no
/// bits when it matches nothing sought.
#[inline]
pub(crate) fn tail_block(bytes: &[u8], pad: u8) -> ([u8; 16], usize) {
    let rest = bytes.len() % 16;
    match bytes.last_chunk::<16>() {
        Some(last) => (*last, 16 - rest),
        None => {
            let mut padded = [pad; 16];
            padded[..rest].copy_from_slice(bytes);
            (padded, 0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The sixteen-bytes-at-a-time search agrees with a loop over single bytes,
        /// across block boundaries, in tails shorter than a block, and for bytes
        /// with the high bit set.
        #[test]
        fn position_finds_what_a_byte_loop_finds(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
            from in 0usize..80,
            byte in proptest::prelude::any::<u8>(),
        ) {
            let from = from.min(bytes.len());
            let by_loop = bytes[from..].iter().position(|&b| b == byte).map(|i| from + i);
            proptest::prop_assert_eq!(position(&bytes, from, byte), by_loop);
        }
    }

    proptest::proptest! {
        /// The vector range mask is the byte loop's, for every byte and the ranges the parser asks.
        #[test]
        fn range_mask_finds_what_a_byte_loop_finds(
            block in proptest::prelude::any::<[u8; 16]>(),
            (lo, hi) in proptest::sample::select(vec![(b'0', b'9'), (b'3', b'9'), (b'6', b'9'), (b'a', b'f')]),
        ) {
            let mut by_loop = 0;
            for (bit, &b) in block.iter().enumerate() {
                by_loop |= u32::from((lo..=hi).contains(&b)) << bit;
            }
            proptest::prop_assert_eq!(range_mask(&block, lo, hi), by_loop);
        }
    }

    /// Edge cases: a byte that differs from the one sought only in its lowest bit
    /// (`' '`, `'!'`) or its highest (`0xa0`), a match in a tail shorter than a
    /// block after a whole block, a search that starts inside the slice, and an
    /// empty slice.
    #[test]
    fn position_is_exact_next_to_a_match() {
        assert_eq!(position(b"ab !cdefgh", 0, b'!'), Some(3));
        assert_eq!(position(b"abcdefg!", 0, b' '), None);
        assert_eq!(position(b"\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0 ", 0, b' '), Some(8));
        assert_eq!(position(b"0123456789 12345678", 3, b' '), Some(10));
        assert_eq!(position(b"", 0, b' '), None);
        assert_eq!(position(b"0123456789abcdef0123 5", 0, b' '), Some(20));
        assert_eq!(position(b"0123456789abcdef 1234", 17, b' '), None);
    }
}

//! One api-v1 line to a borrowed event, or the reason it is not one.
//!
//! Hand-written rather than a regex or CSV crate: the grammar is fixed, every
//! field needs its own validation, and the hot path must not allocate.

use crate::blocks::{byte_mask, position, tail_block};
use crate::reason::RejectReason;
use crate::vocab::{Action, Channel, Client};

/// The longest REQUEST the grammar allows, in bytes.
pub const MAX_REQUEST_BYTES: usize = 4096;

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// A valid line, borrowing from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    /// Microseconds since the Unix epoch, UTC.
    pub event_time: i64,
    /// Days since the Unix epoch (the UTC date of `event_time`).
    pub event_date: i32,
    pub user_id: Option<i64>,
    pub action: &'a str,
    pub object_id: Option<i64>,
    /// The client address as written, or `None` when it is not a valid address.
    pub ip: Option<&'a str>,
    pub client: Client,
    pub visitor_id: Option<&'a str>,
    pub channel: Option<Channel>,
    pub request: &'a str,
}

/// Remembers the last date seen: consecutive lines nearly always share it.
#[derive(Debug, Default, Clone)]
pub struct LineParser {
    last_date: Option<([u8; 10], i32)>,
}

impl LineParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses one line without its `\n` (a trailing `\r` is tolerated).
    pub fn parse<'a>(&mut self, line: &'a [u8]) -> Result<Event<'a>, RejectReason> {
        self.parse_shaped(line, LineShape::of(line))
    }

    /// Parses a line whose shape [`LineShape::next_line`] found while looking for its end.
    pub(crate) fn parse_shaped<'a>(&mut self, line: &'a [u8], shape: LineShape) -> Result<Event<'a>, RejectReason> {
        let (line, shape) = without_carriage_return(line, shape);
        if !shape.printable {
            classify_non_ascii(line)?;
        }
        let text = simdutf8::basic::from_utf8(line).map_err(|_| RejectReason::InvalidUtf8)?;
        self.event(text, shape)
    }

    /// As [`LineParser::parse_shaped`], for a line already known to be UTF-8:
    /// the reader checks many lines at once, which costs a fraction of a check
    /// per line.
    pub(crate) fn parse_text<'a>(&mut self, line: &'a str, shape: LineShape) -> Result<Event<'a>, RejectReason> {
        let (bytes, shape) = without_carriage_return(line.as_bytes(), shape);
        if !shape.printable {
            classify_non_ascii(bytes)?;
        }
        self.event(&line[..bytes.len()], shape)
    }

    /// The event of a UTF-8 line, without its line end. The fields are sliced
    /// from it at byte offsets, which are char boundaries because they sit next
    /// to spaces.
    fn event<'a>(&mut self, text: &'a str, shape: LineShape) -> Result<Event<'a>, RejectReason> {
        let LineShape {
            printable,
            spaces,
            space_at: ends,
        } = shape;
        if spaces != 6 {
            return Err(RejectReason::FieldCount);
        }
        let start = ends[5] + 1;
        let field = |i: usize| {
            let from = if i == 0 { 0 } else { ends[i - 1] + 1 };
            &text[from..ends[i]]
        };
        let (date, time, user, action, object, ip) = (field(0), field(1), field(2), field(3), field(4), field(5));
        let request = &text[start..];

        let event_date = self.parse_date(date.as_bytes())?;
        let time_of_day = parse_time(time.as_bytes()).ok_or(RejectReason::BadTime)?;
        let user_id = parse_id(user.as_bytes()).ok_or(RejectReason::BadUserId)?;
        if action.is_empty() || action.len() > 32 || !action.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(RejectReason::BadAction);
        }
        if user_id.is_none() && Action::from_name(action).is_some_and(Action::needs_user) {
            return Err(RejectReason::MissingUser);
        }
        let object_id = parse_id(object.as_bytes()).ok_or(RejectReason::BadObjectId)?;
        if request.len() > MAX_REQUEST_BYTES {
            return Err(RejectReason::RequestTooLong);
        }
        if !request.starts_with('/') || (!printable && !is_printable_ascii(request.as_bytes())) {
            return Err(RejectReason::BadRequest);
        }
        let params = QueryParams::of(request);
        Ok(Event {
            event_time: i64::from(event_date) * MICROS_PER_DAY + time_of_day,
            event_date,
            user_id,
            action,
            object_id,
            ip: is_ip_address(ip).then_some(ip),
            client: params.client,
            visitor_id: params.visitor_id,
            channel: params.channel,
            request,
        })
    }

    fn parse_date(&mut self, date: &[u8]) -> Result<i32, RejectReason> {
        let bytes: [u8; 10] = date.try_into().map_err(|_| RejectReason::BadDate)?;
        if let Some((last, days)) = self.last_date
            && last == bytes
        {
            return Ok(days);
        }
        let days = parse_date(&bytes)?;
        self.last_date = Some((bytes, days));
        Ok(days)
    }
}

/// A line without the `\r` it may end with. Rare: the `\r` made the shape
/// non-printable, so the line is shaped again without it.
#[inline]
fn without_carriage_return(line: &[u8], shape: LineShape) -> (&[u8], LineShape) {
    match line {
        [stripped @ .., b'\r'] => (stripped, LineShape::of(stripped)),
        _ => (line, shape),
    }
}

/// What one pass over a line finds: whether every byte is printable ASCII, how
/// many spaces it holds, and where the first six are (the ends of the fields
/// before REQUEST). Sixteen bytes at a time: a block's spaces and bytes outside
/// printable ASCII become bit masks in a few vector instructions, and a field
/// end costs a few instructions rather than a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineShape {
    printable: bool,
    spaces: usize,
    space_at: [usize; 6],
}

impl LineShape {
    const EMPTY: Self = Self {
        printable: true,
        spaces: 0,
        space_at: [0; 6],
    };

    /// The shape of a whole line, without its `\n`. (Handed a `\n` inside, it
    /// notes the bytes before it, and is not printable: such a line is binary.)
    fn of(line: &[u8]) -> Self {
        let mut shape = Self::EMPTY;
        if shape.scan(line).is_some() {
            shape.printable = false;
        }
        shape
    }

    /// The length of the line that starts `bytes` (up to its first `\n`) and its
    /// shape, or `None` when `bytes` holds no `\n`. One pass finds the line's end
    /// and its shape, where a separate `memchr` call cost about 150 instructions
    /// a line.
    #[inline]
    pub(crate) fn next_line(bytes: &[u8]) -> Option<(usize, Self)> {
        let mut shape = Self::EMPTY;
        let end = shape.scan(bytes)?;
        Some((end, shape))
    }

    /// Notes the bytes of `bytes` up to its first `\n` and returns where that is;
    /// with no `\n`, notes all of them.
    #[inline]
    fn scan(&mut self, bytes: &[u8]) -> Option<usize> {
        let (blocks, rest) = bytes.as_chunks::<16>();
        for (i, block) in blocks.iter().enumerate() {
            if let Some(end) = self.note_block(i * 16, block, 0) {
                return Some(end);
            }
        }
        if rest.is_empty() {
            return None;
        }
        // A printable non-space byte pads a short slice.
        let (tail, overlap) = tail_block(bytes, b'x');
        self.note_block(blocks.len() * 16, &tail, overlap)
    }

    /// Notes the block of bytes from `offset` (bytes before `offset` that it
    /// repeats, `overlap` of them at its start, are not noted again), up to a
    /// newline in it, whose place it returns. A newline is outside printable
    /// ASCII, so only a block with such a byte is searched for one: in a
    /// printable line, the last block alone.
    #[inline]
    fn note_block(&mut self, offset: usize, block: &[u8; 16], overlap: usize) -> Option<usize> {
        let masks = BlockMasks::of(block).shifted_right(overlap);
        if masks.outside_printable != 0 {
            let newlines = byte_mask(block, b'\n') >> overlap;
            if newlines != 0 {
                let newline = newlines.trailing_zeros();
                let in_line = (1u32 << newline) - 1;
                self.printable &= masks.outside_printable & in_line == 0;
                self.note_spaces(offset, masks.spaces & in_line);
                return Some(offset + newline as usize);
            }
            self.printable = false;
        }
        self.note_spaces(offset, masks.spaces);
        None
    }

    /// Counts the spaces of one block (bit `i` of `mask` is byte `offset + i`),
    /// keeping the places of the first six.
    fn note_spaces(&mut self, offset: usize, mut mask: u32) {
        while mask != 0 {
            if let Some(at) = self.space_at.get_mut(self.spaces) {
                *at = offset + mask.trailing_zeros() as usize;
            }
            self.spaces += 1;
            mask &= mask - 1;
        }
    }
}

/// Bit `i` of each mask stands for byte `i` of a 16-byte block.
#[derive(Debug, PartialEq, Eq)]
struct BlockMasks {
    spaces: u32,
    outside_printable: u32,
}

impl BlockMasks {
    /// SSE2, which every x86-64 processor has.
    #[cfg(target_arch = "x86_64")]
    #[inline]
    fn of(block: &[u8; 16]) -> Self {
        use safe_arch::{
            bitand_m128i, cmp_gt_mask_i8_m128i, cmp_lt_mask_i8_m128i, m128i, move_mask_i8_m128i, set_splat_i8_m128i,
        };
        let bytes = m128i::from(*block);
        // Signed compares: bytes from 0x80 up are negative, so outside 0x20..=0x7e too.
        let printable = bitand_m128i(
            cmp_gt_mask_i8_m128i(bytes, set_splat_i8_m128i(0x1f)),
            cmp_lt_mask_i8_m128i(bytes, set_splat_i8_m128i(0x7f)),
        );
        Self {
            spaces: byte_mask(block, b' '),
            outside_printable: !(move_mask_i8_m128i(printable) as u32) & 0xffff,
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn of(block: &[u8; 16]) -> Self {
        Self::by_bytes(block)
    }

    fn shifted_right(self, bits: usize) -> Self {
        Self {
            spaces: self.spaces >> bits,
            outside_printable: self.outside_printable >> bits,
        }
    }

    /// The definition the vector version must match.
    #[cfg_attr(target_arch = "x86_64", allow(dead_code))]
    fn by_bytes(block: &[u8; 16]) -> Self {
        let mut masks = Self {
            spaces: 0,
            outside_printable: 0,
        };
        for (bit, &b) in block.iter().enumerate() {
            masks.spaces |= u32::from(b == b' ') << bit;
            masks.outside_printable |= u32::from(!(0x20..=0x7e).contains(&b)) << bit;
        }
        masks
    }
}

/// No short-circuit, so the loop vectorises: a whole line costs a few instructions per 16 bytes.
fn is_printable_ascii(bytes: &[u8]) -> bool {
    let mut outside = 0u8;
    for &b in bytes {
        outside |= u8::from(b.wrapping_sub(0x20) >= 0x5f);
    }
    outside == 0
}

/// A line with bytes outside printable ASCII: binary garbage, invalid UTF-8, or
/// valid UTF-8 that the field checks will reject (a non-ASCII dash in the date).
fn classify_non_ascii(line: &[u8]) -> Result<(), RejectReason> {
    if line.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(RejectReason::Binary);
    }
    if std::str::from_utf8(line).is_err() {
        return Err(RejectReason::InvalidUtf8);
    }
    Ok(())
}

fn digit(b: u8) -> Option<u32> {
    let d = b.wrapping_sub(b'0');
    (d < 10).then_some(u32::from(d))
}

fn two_digits(bytes: &[u8]) -> Option<u32> {
    Some(digit(bytes[0])? * 10 + digit(bytes[1])?)
}

fn parse_date(b: &[u8; 10]) -> Result<i32, RejectReason> {
    if b[4] != b'-' || b[7] != b'-' {
        return Err(RejectReason::BadDate);
    }
    let year = two_digits(&b[0..2])
        .zip(two_digits(&b[2..4]))
        .map(|(hi, lo)| hi * 100 + lo)
        .ok_or(RejectReason::BadDate)?;
    let month = two_digits(&b[5..7]).ok_or(RejectReason::BadDate)?;
    let day = two_digits(&b[8..10]).ok_or(RejectReason::BadDate)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(RejectReason::ImpossibleDate);
    }
    Ok(days_from_civil(year as i32, month, day))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400) as u32;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era as i32 - 719_468
}

/// `HH:MM:SS` with an optional `.` and 1 to 6 fraction digits, to microseconds of the day.
fn parse_time(t: &[u8]) -> Option<i64> {
    if t.len() < 8 || t[2] != b':' || t[5] != b':' {
        return None;
    }
    let (hours, minutes, seconds) = (two_digits(&t[0..2])?, two_digits(&t[3..5])?, two_digits(&t[6..8])?);
    if hours > 23 || minutes > 59 || seconds > 59 {
        return None;
    }
    let mut micros = 0i64;
    match &t[8..] {
        [] => {}
        [b'.', fraction @ ..] if (1..=6).contains(&fraction.len()) => {
            for &b in fraction {
                micros = micros * 10 + i64::from(digit(b)?);
            }
            micros *= 10i64.pow(6 - fraction.len() as u32);
        }
        _ => return None,
    }
    let seconds_of_day = i64::from(hours * 3600 + minutes * 60 + seconds);
    Some(seconds_of_day * MICROS_PER_SECOND + micros)
}

/// `-` is `Some(None)`; a decimal in 1..2^63-1 is `Some(Some(id))`; anything else `None`.
#[inline]
fn parse_id(field: &[u8]) -> Option<Option<i64>> {
    if field == b"-" {
        return Some(None);
    }
    if field.is_empty() || field.len() > 19 {
        return None;
    }
    let mut value: u64 = 0;
    for &b in field {
        value = value * 10 + u64::from(digit(b)?);
    }
    let value = i64::try_from(value).ok()?;
    (value >= 1).then_some(Some(value))
}

fn is_ip_address(field: &str) -> bool {
    // IPv4 first: nearly every address is one, and its check stops at a ':'.
    is_ipv4(field.as_bytes()) || (field.contains(':') && field.parse::<std::net::Ipv6Addr>().is_ok())
}

/// Dotted quad, each octet 0..=255 without leading zeros (as `std::net::Ipv4Addr`
/// reads it): octet by octet rather than byte by byte, so a digit costs no
/// branch on whether it is a dot.
fn is_ipv4(field: &[u8]) -> bool {
    let mut at = 0;
    for octet in 0..4 {
        if octet > 0 {
            if field.get(at) != Some(&b'.') {
                return false;
            }
            at += 1;
        }
        let Some(len) = octet_len(&field[at..]) else {
            return false;
        };
        at += len;
    }
    at == field.len()
}

/// The length of the octet that starts `bytes`: 1 to 3 digits, 0..=255, no
/// leading zero. A fourth digit is left for the caller, which wants a dot there.
fn octet_len(bytes: &[u8]) -> Option<usize> {
    let digit_at = |i: usize| bytes.get(i).copied().and_then(digit);
    let first = digit_at(0)?;
    let Some(second) = digit_at(1) else {
        return Some(1);
    };
    if first == 0 {
        return None;
    }
    let Some(third) = digit_at(2) else {
        return Some(2);
    };
    (first * 100 + second * 10 + third <= 255).then_some(3)
}

/// The query parameters of REQUEST that carry meaning; first occurrence wins.
#[derive(Debug, Default)]
struct QueryParams<'a> {
    client: Client,
    visitor_id: Option<&'a str>,
    channel: Option<Channel>,
}

impl<'a> QueryParams<'a> {
    fn of(request: &'a str) -> Self {
        let mut params = Self::default();
        // Pairs and values are cut as bytes; only a visitor id, which is kept,
        // becomes text again, at offsets next to ASCII bytes (char boundaries).
        let bytes = request.as_bytes();
        let Some(question) = position(bytes, 0, b'?') else {
            return params;
        };
        let (mut seen_client, mut seen_vid, mut seen_ref) = (false, false, false);
        let mut start = question + 1;
        while start <= bytes.len() {
            let end = position(bytes, start, b'&').unwrap_or(bytes.len());
            // One scan per pair: a key is recognised by its prefix, so the `=` of
            // the pairs nobody reads is never looked for. A key with no `=` has
            // the empty value, as `split_once('=')` would give.
            let pair = &bytes[start..end];
            let pair_start = start;
            start = end + 1;
            if let Some(value) = value_of(pair, b"client")
                && !std::mem::replace(&mut seen_client, true)
            {
                params.client = Client::from_param(value);
            } else if let Some(value) = value_of(pair, b"vid")
                && !std::mem::replace(&mut seen_vid, true)
            {
                let value_start = pair_start + (pair.len() - value.len());
                params.visitor_id = is_visitor_id(value).then(|| request.get(value_start..end)).flatten();
            } else if let Some(value) = value_of(pair, b"ref")
                && !std::mem::replace(&mut seen_ref, true)
            {
                params.channel = Channel::from_param(value);
            }
        }
        params
    }
}

/// The value of a `key=value` pair (or of a bare `key`) when its key is `key`.
/// The key's length is a constant, so the comparison is a few instructions, not a `memcmp` call.
fn value_of<'a, const N: usize>(pair: &'a [u8], key: &[u8; N]) -> Option<&'a [u8]> {
    if pair.first_chunk::<N>() != Some(key) {
        return None;
    }
    match pair.get(N) {
        None => Some(&[]),
        Some(b'=') => Some(&pair[N + 1..]),
        Some(_) => None,
    }
}

/// No short-circuit, so the loop vectorises, as in `is_printable_ascii`.
fn is_visitor_id(value: &[u8]) -> bool {
    if !(16..=32).contains(&value.len()) {
        return false; // without reading a value of up to 4 KB
    }
    let mut outside = 0u8;
    for &b in value {
        outside |= u8::from((b.wrapping_sub(b'0') >= 10) & (b.wrapping_sub(b'a') >= 6));
    }
    outside == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_from_civil_matches_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2015, 2, 10), 16_476);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }

    #[test]
    fn fraction_digits_scale_to_microseconds() {
        assert_eq!(parse_time(b"00:00:00.32444"), Some(324_440));
        assert_eq!(parse_time(b"00:00:01.5"), Some(1_500_000));
        assert_eq!(parse_time(b"23:59:59.999999"), Some(86_399_999_999));
        assert_eq!(parse_time(b"00:00:00."), None);
        assert_eq!(parse_time(b"00:00:00.1234567"), None);
    }

    /// The scan by bytes reads parameters as `split('&')` and `split_once('=')` do.
    #[test]
    fn query_parameters_read_as_splitting_does() {
        fn by_splitting(request: &str) -> (Client, Option<&str>, Option<Channel>) {
            let Some((_, query)) = request.split_once('?') else {
                return (Client::default(), None, None);
            };
            let mut pairs: Vec<(&str, &str)> = query.split('&').map(|p| p.split_once('=').unwrap_or((p, ""))).collect();
            pairs.reverse(); // the first occurrence wins
            let mut found = (Client::default(), None, None);
            for (key, value) in pairs {
                match key {
                    "client" => found.0 = Client::from_param(value.as_bytes()),
                    "vid" => found.1 = is_visitor_id(value.as_bytes()).then_some(value),
                    "ref" => found.2 = Channel::from_param(value.as_bytes()),
                    _ => {}
                }
            }
            found
        }
        for request in [
            "/popular",
            "/popular?",
            "/popular?&",
            "/p?client=web&vid=c06a3ffbdb8f6ce4",
            "/p?client=iphone&client=web",
            "/p?vid&client=android",
            "/p?=web&client=",
            "/p?ref=google&vid=c06a3ffbdb8f6ce4c06a3ffbdb8f6ce4&ref=facebook",
            "/p?client=web=web&vid=zz",
            "/p?a=1&&client=mobile_web&",
            "/p??client=web",
            "/p?clientx=web&client=iphone&vidx=c06a3ffbdb8f6ce4&refer=email&ref=social",
            "/p?client&client=web&vid&ref",
            "/p?cli=web&vi=c06a3ffbdb8f6ce4&re=email",
        ] {
            let params = QueryParams::of(request);
            assert_eq!(
                (params.client, params.visitor_id, params.channel),
                by_splitting(request),
                "{request}"
            );
        }
    }

    proptest::proptest! {
        /// The branch-free check reads a visitor id as the spec states it: 16 to 32
        /// lowercase hex characters. Ids of every length, some with one byte
        /// swapped for a neighbour of the hex ranges.
        #[test]
        fn visitor_id_is_16_to_32_lowercase_hex_characters(
            hex in proptest::collection::vec(proptest::sample::select(b"0123456789abcdef".to_vec()), 0..40),
            swap in proptest::option::of((0usize..40, proptest::sample::select(b"/:@`gAFG\xff".to_vec()))),
        ) {
            let mut value = hex;
            if let Some((at, byte)) = swap && at < value.len() {
                value[at] = byte;
            }
            let by_rule = (16..=32).contains(&value.len())
                && value.iter().all(|b| b"0123456789abcdef".contains(b));
            proptest::prop_assert_eq!(is_visitor_id(&value), by_rule);
        }
    }

    proptest::proptest! {
        /// The octet-by-octet check reads an address as `std::net::Ipv4Addr` does,
        /// on strings of digits and dots (and a few bytes that are neither).
        #[test]
        fn ipv4_agrees_with_std_on_digits_and_dots(
            text in proptest::collection::vec(proptest::sample::select(b"0123456789....:a/".to_vec()), 0..20),
        ) {
            let text = String::from_utf8(text).expect("ASCII");
            proptest::prop_assert_eq!(is_ipv4(text.as_bytes()), text.parse::<std::net::Ipv4Addr>().is_ok(), "{}", text);
        }
    }

    proptest::proptest! {
        /// The vector masks are the byte-by-byte definition, for every kind of byte.
        #[test]
        fn block_masks_agree_with_the_byte_loop(block in proptest::prelude::any::<[u8; 16]>()) {
            proptest::prop_assert_eq!(BlockMasks::of(&block), BlockMasks::by_bytes(&block));
        }

        /// One pass over a line finds what separate searches find: printable
        /// ASCII, the number of spaces and the first six of them, on lines of any
        /// length (tails shorter than a block included) with spaces anywhere.
        #[test]
        fn line_shape_agrees_with_separate_searches(
            line in proptest::collection::vec(proptest::sample::select(b"  a0.\x7f\x1f\xc3~".to_vec()), 0..100),
        ) {
            let shape = LineShape::of(&line);
            let spaces: Vec<usize> = line.iter().enumerate().filter(|(_, b)| **b == b' ').map(|(i, _)| i).collect();
            proptest::prop_assert_eq!(shape.printable, line.iter().all(|b| (0x20..=0x7e).contains(b)));
            proptest::prop_assert_eq!(shape.spaces, spaces.len());
            for (at, expected) in shape.space_at.iter().zip(&spaces) {
                proptest::prop_assert_eq!(at, expected);
            }
        }
    }

    proptest::proptest! {
        /// The pass that looks for a line's end finds where the first newline is
        /// and the shape of the line before it, as a search for the newline and
        /// a pass over that line alone find them: newlines in any block, next to
        /// spaces and bytes outside printable ASCII, in tails shorter than a block.
        #[test]
        fn next_line_agrees_with_a_newline_search_and_the_line_shape(
            bytes in proptest::collection::vec(proptest::sample::select(b"  a\n.\x7f\xc3~\r0".to_vec()), 0..120),
        ) {
            let expected = bytes.iter().position(|&b| b == b'\n').map(|end| (end, LineShape::of(&bytes[..end])));
            proptest::prop_assert_eq!(LineShape::next_line(&bytes), expected);
        }
    }

    /// The reader never hands the parser a `\n`, but a caller of `parse` may:
    /// the shape stops at it, and the line is binary, as any control byte makes it.
    #[test]
    fn a_newline_inside_a_line_makes_it_binary() {
        let good =
            "2015-02-10 10:24:31.32444 23432423 photo_like 423223 123.132.62.123 /v2/photos/423223/vote?client=iphone";
        assert!(LineParser::new().parse(good.as_bytes()).is_ok());
        for at in [0, 5, 30, good.len() - 1] {
            let mut line = good.as_bytes().to_vec();
            line.insert(at, b'\n');
            assert_eq!(
                LineParser::new().parse(&line),
                Err(RejectReason::Binary),
                "newline at {at}"
            );
        }
    }

    #[test]
    fn ipv4_agrees_with_std_on_edge_cases() {
        for text in [
            "0.0.0.0",
            "255.255.255.255",
            "1.2.3",
            "1.2.3.4.5",
            "01.2.3.4",
            "256.1.1.1",
            "1..2.3",
            "",
            "a.b.c.d",
            "00.1.2.3",
            "1.2.3.04",
            "1.2.3.",
            ".1.2.3",
            "1.2.3.255",
            "10.0.0.0",
            "1.2.3.2555",
            "255.255.255.256",
            "1.2.3.25a",
            "1.2.3.4.",
            "100.200.250.099",
            "249.1.1.1",
        ] {
            assert_eq!(
                is_ipv4(text.as_bytes()),
                text.parse::<std::net::Ipv4Addr>().is_ok(),
                "{text}"
            );
        }
    }
}

//! One api-v1 line to a borrowed event, or the reason it is not one.
//!
//! Hand-written rather than a regex or CSV crate: the grammar is fixed, every
//! field needs its own validation, and the hot path must not allocate.

use crate::blocks::{byte_mask, position, range_mask, tail_block};
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
        self.parse_shaped(line, line, LineShape::of(line))
    }

    /// Parses a line whose shape [`LineShape::next_line`] found while looking
    /// for its end. `tail` is the bytes from the line's start to the end of
    /// what the reader holds (see [`LineParser::event`]).
    pub(crate) fn parse_shaped<'a>(
        &mut self,
        line: &'a [u8],
        tail: &[u8],
        shape: LineShape,
    ) -> Result<Event<'a>, RejectReason> {
        let (line, shape) = without_carriage_return(line, shape);
        if !shape.printable {
            classify_non_ascii(line)?;
        }
        let text = simdutf8::basic::from_utf8(line).map_err(|_| RejectReason::InvalidUtf8)?;
        self.event(text, tail, shape)
    }

    /// As [`LineParser::parse_shaped`], for a line already known to be UTF-8:
    /// the reader checks many lines at once, which costs a fraction of a check
    /// per line.
    pub(crate) fn parse_text<'a>(
        &mut self,
        line: &'a str,
        tail: &[u8],
        shape: LineShape,
    ) -> Result<Event<'a>, RejectReason> {
        let (bytes, shape) = without_carriage_return(line.as_bytes(), shape);
        if !shape.printable {
            classify_non_ascii(bytes)?;
        }
        self.event(&line[..bytes.len()], tail, shape)
    }

    /// The event of a UTF-8 line, without its line end. The fields are sliced
    /// from it at byte offsets, which are char boundaries because they sit next
    /// to spaces.
    ///
    /// `tail` starts where the line does and runs on past its end, to the end
    /// of the reader's buffer: short fields are read sixteen bytes at a time
    /// from it ([`bytes_at`]), and past the line there are more bytes to read.
    fn event<'a>(&mut self, text: &'a str, tail: &[u8], shape: LineShape) -> Result<Event<'a>, RejectReason> {
        let printable = shape.printable;
        let ends = shape.field_ends(text.as_bytes()).ok_or(RejectReason::FieldCount)?;
        let start = ends[5] + 1;
        let field = |i: usize| {
            let from = if i == 0 { 0 } else { ends[i - 1] + 1 };
            &text[from..ends[i]]
        };
        let (date, time, user, action, object, ip) = (field(0), field(1), field(2), field(3), field(4), field(5));
        let request = &text[start..];

        let event_date = self.parse_date(date.as_bytes())?;
        let time_of_day = parse_time(time.as_bytes(), tail, ends[0] + 1).ok_or(RejectReason::BadTime)?;
        let user_id = parse_id(user.as_bytes(), tail, ends[1] + 1).ok_or(RejectReason::BadUserId)?;
        let known_action = Action::from_field(action.as_bytes(), &bytes_at(tail, ends[2] + 1));
        if known_action.is_none() && !is_action_name(action.as_bytes()) {
            return Err(RejectReason::BadAction);
        }
        if user_id.is_none() && known_action.is_some_and(Action::needs_user) {
            return Err(RejectReason::MissingUser);
        }
        let object_id = parse_id(object.as_bytes(), tail, ends[3] + 1).ok_or(RejectReason::BadObjectId)?;
        if request.len() > MAX_REQUEST_BYTES {
            return Err(RejectReason::RequestTooLong);
        }
        if !request.starts_with('/') || (!printable && !is_printable_ascii(request.as_bytes())) {
            return Err(RejectReason::BadRequest);
        }
        let params = QueryParams::of(request, start, tail);
        Ok(Event {
            event_time: i64::from(event_date) * MICROS_PER_DAY + time_of_day,
            event_date,
            user_id,
            action,
            object_id,
            ip: is_ip_address(tail, ends[4] + 1, ip).then_some(ip),
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

/// What one pass over a line finds: whether every byte is printable ASCII, and
/// where its spaces are (the ends of the fields before REQUEST). Sixteen bytes
/// at a time: a block's spaces and bytes outside printable ASCII become bit
/// masks in a few vector instructions, and a block's spaces are kept as its
/// mask, to be read when the line is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineShape {
    printable: bool,
    /// The space masks of the first [`EARLY_BLOCKS`] blocks: bit `i` of
    /// `early_spaces[b]` is byte `16 * b + i` of the line.
    early_spaces: [u16; EARLY_BLOCKS],
    /// Whether a block after those holds a space.
    late_spaces: bool,
}

/// The fields before REQUEST fit in 128 bytes but for long ids or an IPv6
/// address; such a line is read again, byte by byte.
const EARLY_BLOCKS: usize = 8;

impl LineShape {
    const EMPTY: Self = Self {
        printable: true,
        early_spaces: [0; EARLY_BLOCKS],
        late_spaces: false,
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
            if let Some(end) = self.note_block(i, block, 0) {
                return Some(i * 16 + end);
            }
        }
        if rest.is_empty() {
            return None;
        }
        // A printable non-space byte pads a short slice.
        let (tail, overlap) = tail_block(bytes, b'x');
        self.note_block(blocks.len(), &tail, overlap)
            .map(|end| blocks.len() * 16 + end)
    }

    /// Notes block number `index` (bytes of earlier blocks that it repeats,
    /// `overlap` of them at its start, are not noted again), up to a newline in
    /// it, whose place in the block it returns. A newline is outside printable
    /// ASCII, so only a block with such a byte is searched for one: in a
    /// printable line, the last block alone.
    #[inline]
    fn note_block(&mut self, index: usize, block: &[u8; 16], overlap: usize) -> Option<usize> {
        let masks = BlockMasks::of(block).shifted_right(overlap);
        let mut end = None;
        let mut spaces = masks.spaces;
        if masks.outside_printable != 0 {
            let newlines = byte_mask(block, b'\n') >> overlap;
            let in_line = if newlines != 0 {
                let newline = newlines.trailing_zeros();
                end = Some(newline as usize);
                (1u32 << newline) - 1
            } else {
                u32::MAX
            };
            self.printable &= masks.outside_printable & in_line == 0;
            spaces &= in_line;
        }
        // A block's mask is stored whole rather than its spaces counted one by
        // one: their number per block varies, and a loop over them cost a
        // mispredicted branch or two per line.
        match self.early_spaces.get_mut(index) {
            Some(slot) => *slot = spaces as u16,
            None => self.late_spaces |= spaces != 0,
        }
        end
    }

    /// Where the six spaces of `line` (the line this is the shape of) are, or
    /// `None` when it does not have exactly six.
    #[inline]
    fn field_ends(&self, line: &[u8]) -> Option<[usize; 6]> {
        let mut spaces = self
            .early_spaces
            .iter()
            .rev()
            .fold(0u128, |all, &block| (all << 16) | u128::from(block));
        let mut ends = [0; 6];
        // Six times the lowest set bit, cleared as it is taken: no branch on where they are.
        for end in &mut ends {
            *end = spaces.trailing_zeros() as usize;
            spaces &= spaces.wrapping_sub(1);
        }
        if ends[5] < 128 && spaces == 0 && !self.late_spaces {
            return Some(ends);
        }
        // Fewer than six spaces in the early blocks, or some after them: rare enough to count.
        let mut spaces = line.iter().enumerate().filter(|(_, b)| **b == b' ').map(|(at, _)| at);
        for end in &mut ends {
            *end = spaces.next()?;
        }
        spaces.next().is_none().then_some(ends)
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

/// `HH:MM:SS` with an optional `.` and 1 to 6 fraction digits, to microseconds
/// of the day. `t` starts at byte `from` of `tail` (see [`LineParser::event`]).
///
/// Eight bytes at a time, as words: the digits are checked and read without a
/// loop, whose length (the fraction's, from one digit to six) the processor
/// mispredicts.
fn parse_time(t: &[u8], tail: &[u8], from: usize) -> Option<i64> {
    if t.len() < 8 || t.len() == 9 || t.len() > 15 {
        return None;
    }
    let clock = word_at(tail, from);
    // Colons at bytes 2 and 5; in their place, zeros make the word all digits.
    const COLONS: u64 = 0x0000_ff00_00ff_0000;
    if clock & COLONS != 0x0000_3a00_003a_0000 {
        return None;
    }
    let digits = (clock & !COLONS) | (0x3030_3030_3030_3030 & COLONS);
    if !all_digits(digits) {
        return None;
    }
    // Byte `i` becomes ten times digit `i` plus digit `i + 1`: the hours at
    // byte 0, the minutes at byte 3, the seconds at byte 6.
    let values = digits - 0x3030_3030_3030_3030;
    let pairs = values.wrapping_mul(10).wrapping_add(values >> 8);
    let (hours, minutes, seconds) = (pairs & 0xff, (pairs >> 24) & 0xff, (pairs >> 48) & 0xff);
    if hours > 23 || minutes > 59 || seconds > 59 {
        return None;
    }
    let micros = match t.len() {
        8 => 0,
        len => {
            if t[8] != b'.' {
                return None;
            }
            // The fraction's digits after two zeros, then zeros to six digits:
            // `.32444` reads as the eight digits 00324440.
            let kept = ((1u64 << (8 * (len - 9))) - 1) << 16;
            let fraction = ((word_at(tail, from + 9) << 16) & kept) | (0x3030_3030_3030_3030 & !kept);
            if !all_digits(fraction) {
                return None;
            }
            eight_digits(fraction)
        }
    };
    let seconds_of_day = (hours * 3600 + minutes * 60 + seconds) as i64;
    Some(seconds_of_day * MICROS_PER_SECOND + micros as i64)
}

/// `-` is `Some(None)`; a decimal in 1..2^63-1 is `Some(Some(id))`; anything
/// else `None`. `field` starts at byte `from` of `tail`. Up to eight digits (any
/// id below 100 million) as one word, as in [`parse_time`].
#[inline]
fn parse_id(field: &[u8], tail: &[u8], from: usize) -> Option<Option<i64>> {
    if field == b"-" {
        return Some(None);
    }
    let value = match field.len() {
        1..=8 => {
            // The digits moved to the word's top, zeros before them: `423` reads as 00000423.
            let shift = 8 * (8 - field.len());
            let word = (word_at(tail, from) << shift) | (0x3030_3030_3030_3030 & ((1u64 << shift) - 1));
            if !all_digits(word) {
                return None;
            }
            eight_digits(word)
        }
        9..=19 => {
            let mut value: u64 = 0;
            for &b in field {
                value = value * 10 + u64::from(digit(b)?);
            }
            value
        }
        _ => return None,
    };
    let value = i64::try_from(value).ok()?;
    (value >= 1).then_some(Some(value))
}

/// The `N` bytes of `tail` from `from`, where a short field starts, with
/// zeros past the end of `tail`: the field and what follows it, to read as a
/// word or a block. Every reader masks off the bytes past its field.
#[inline]
fn bytes_at<const N: usize>(tail: &[u8], from: usize) -> [u8; N] {
    let rest = tail.get(from..).unwrap_or_default();
    match rest.first_chunk::<N>() {
        Some(bytes) => *bytes,
        None => {
            let mut bytes = [0; N];
            bytes[..rest.len()].copy_from_slice(rest);
            bytes
        }
    }
}

/// [`bytes_at`] as a little-endian word: byte `from` is the lowest.
#[inline]
fn word_at(tail: &[u8], from: usize) -> u64 {
    u64::from_le_bytes(bytes_at(tail, from))
}

/// Whether every byte of `word` is an ASCII digit: its high half is 3, and
/// adding 6 leaves it 3 (from simdjson). A carry out of a byte comes only from
/// one that already fails.
#[inline]
fn all_digits(word: u64) -> bool {
    const HIGH_HALVES: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    (word & HIGH_HALVES) | ((word.wrapping_add(0x0606_0606_0606_0606) & HIGH_HALVES) >> 4) == 0x3333_3333_3333_3333
}

/// The number eight ASCII digits spell, byte 0 the most significant (from
/// simdjson): pairs, then fours, then the whole, in three multiplies.
#[inline]
fn eight_digits(word: u64) -> u64 {
    let values = word - 0x3030_3030_3030_3030;
    let pairs = values.wrapping_mul(10).wrapping_add(values >> 8);
    const PAIRS: u64 = 0x0000_00ff_0000_00ff;
    ((pairs & PAIRS).wrapping_mul(100 + (1_000_000 << 32)) + ((pairs >> 16) & PAIRS).wrapping_mul(1 + (10_000 << 32)))
        >> 32
}

/// `[a-z_]{1,32}`: an action outside the vocabulary, which is valid and kept raw.
fn is_action_name(field: &[u8]) -> bool {
    (1..=32).contains(&field.len()) && field.iter().all(|&b| b.is_ascii_lowercase() || b == b'_')
}

/// `field` is the IP of the line `tail` starts with, at byte `from`.
fn is_ip_address(tail: &[u8], from: usize, field: &str) -> bool {
    // IPv4 first: nearly every address is one.
    is_ipv4(field.len(), &bytes_at(tail, from)) || (field.contains(':') && field.parse::<std::net::Ipv6Addr>().is_ok())
}

/// Whether the first `len` bytes of `block` are a dotted quad, each octet
/// 0..=255 without leading zeros (as `std::net::Ipv4Addr` reads it). From
/// byte masks alone, without a branch on the digits: an octet's length (one to
/// three digits, at random) cost a mispredicted branch or two per address
/// when the octets were read one by one.
fn is_ipv4(len: usize, block: &[u8; 16]) -> bool {
    if !(7..=15).contains(&len) {
        return false;
    }
    let field = (1u32 << len) - 1;
    let dots = byte_mask(block, b'.') & field;
    let digits = range_mask(block, b'0', b'9') & field;
    // Exactly three dots: clearing the lowest set bit three times leaves nothing.
    let after_one = dots & dots.wrapping_sub(1);
    let after_two = after_one & after_one.wrapping_sub(1);
    let three_dots = after_two != 0 && after_two & after_two.wrapping_sub(1) == 0;
    // Octets of one to three digits: digits at both ends, no two dots together,
    // no four digits together.
    let octet_lengths = digits & 1 != 0
        && digits >> (len - 1) != 0
        && dots & (dots >> 1) == 0
        && digits & (digits >> 1) & (digits >> 2) & (digits >> 3) == 0;
    // An octet's first byte: the field's first, and every byte after a dot.
    let starts = (1 | (dots << 1)) & field;
    let leading_zero = byte_mask(block, b'0') & starts & (digits >> 1);
    // Over 255: three digits, and more than 2 at the front, or 2 then more than
    // 5, or 25 then more than 5.
    let three_digits = starts & (digits >> 1) & (digits >> 2);
    let (over_2, over_5) = (range_mask(block, b'3', b'9'), range_mask(block, b'6', b'9'));
    let twos = byte_mask(block, b'2');
    let twenty_five = twos & (byte_mask(block, b'5') >> 1);
    let over_255 = three_digits & (over_2 | (twos & (over_5 >> 1)) | (twenty_five & (over_5 >> 2)));
    (dots | digits) == field && three_dots & octet_lengths & (leading_zero | over_255 == 0)
}

/// The query parameters of REQUEST that carry meaning; first occurrence wins.
#[derive(Debug, Default)]
struct QueryParams<'a> {
    client: Client,
    visitor_id: Option<&'a str>,
    channel: Option<Channel>,
}

impl<'a> QueryParams<'a> {
    /// `request` starts at byte `at` of `tail` (see [`LineParser::event`]).
    fn of(request: &'a str, at: usize, tail: &[u8]) -> Self {
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
            // A value ends the pair: where it starts in the request, and its block.
            let value_start = |value: &[u8]| pair_start + (pair.len() - value.len());
            let value_block = |value: &[u8]| bytes_at(tail, at + value_start(value));
            if let Some(value) = value_of(pair, b"client")
                && !std::mem::replace(&mut seen_client, true)
            {
                params.client = Client::from_field(value, &value_block(value));
            } else if let Some(value) = value_of(pair, b"vid")
                && !std::mem::replace(&mut seen_vid, true)
            {
                params.visitor_id = is_visitor_id(value)
                    .then(|| request.get(value_start(value)..end))
                    .flatten();
            } else if let Some(value) = value_of(pair, b"ref")
                && !std::mem::replace(&mut seen_ref, true)
            {
                params.channel = Channel::from_field(value, &value_block(value));
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
        let time = |t: &[u8]| parse_time(t, t, 0);
        assert_eq!(time(b"00:00:00.32444"), Some(324_440));
        assert_eq!(time(b"00:00:01.5"), Some(1_500_000));
        assert_eq!(time(b"23:59:59.999999"), Some(86_399_999_999));
        assert_eq!(time(b"00:00:00."), None);
        assert_eq!(time(b"00:00:00.1234567"), None);
    }

    /// The definitions the word-at-a-time readers must match: a byte at a time.
    fn time_by_bytes(t: &[u8]) -> Option<i64> {
        let two_digits = |b: &[u8]| Some(digit(b[0])? * 10 + digit(b[1])?);
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
        Some(i64::from(hours * 3600 + minutes * 60 + seconds) * MICROS_PER_SECOND + micros)
    }

    fn id_by_bytes(field: &[u8]) -> Option<Option<i64>> {
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

    /// `field` with the byte at `swap`'s place (if inside it) swapped for
    /// `swap`'s byte, alone and followed by `after`, as a line holds it.
    fn swapped_and_followed(mut field: Vec<u8>, swap: Option<(usize, u8)>, after: &str) -> (Vec<u8>, Vec<u8>) {
        if let Some((at, byte)) = swap
            && let Some(swapped) = field.get_mut(at)
        {
            *swapped = byte;
        }
        let line = [field.as_slice(), after.as_bytes()].concat();
        (field, line)
    }

    proptest::proptest! {
        /// Times read as words agree with the byte loop: near-times of digits,
        /// colons and dots with a byte swapped anywhere, followed in the line by
        /// anything (which must not count) or by nothing.
        #[test]
        fn time_words_agree_with_the_byte_loop(
            clock in (0u32..30, 0u32..70, 0u32..70),
            fraction in proptest::option::of("[0-9]{0,8}"),
            swap in proptest::option::of((0usize..16, proptest::sample::select(b"0:9./ a\xff".to_vec()))),
            after in "[ 0-9:.a-z]{0,10}",
        ) {
            let mut t = format!("{:02}:{:02}:{:02}", clock.0, clock.1, clock.2).into_bytes();
            if let Some(fraction) = fraction {
                t.push(b'.');
                t.extend_from_slice(fraction.as_bytes());
            }
            let (t, line) = swapped_and_followed(t, swap, &after);
            proptest::prop_assert_eq!(parse_time(&t, &line, 0), time_by_bytes(&t));
            proptest::prop_assert_eq!(parse_time(&t, &t, 0), time_by_bytes(&t));
        }

        /// Ids read as a word agree with the byte loop, for every length up to
        /// twenty digits, with a byte swapped anywhere, and whatever follows.
        #[test]
        fn id_words_agree_with_the_byte_loop(
            digits in "[0-9]{0,20}",
            swap in proptest::option::of((0usize..20, proptest::sample::select(b"-/:a \xff0".to_vec()))),
            after in "[ 0-9a-z-]{0,10}",
        ) {
            let (id, line) = swapped_and_followed(digits.into_bytes(), swap, &after);
            proptest::prop_assert_eq!(parse_id(&id, &line, 0), id_by_bytes(&id));
            proptest::prop_assert_eq!(parse_id(&id, &id, 0), id_by_bytes(&id));
        }
    }

    #[test]
    fn ids_at_the_edges_of_a_word_and_of_i64() {
        for id in [
            "1",
            "0",
            "00000001",
            "99999999",
            "100000000",
            "9223372036854775807",
            "9223372036854775808",
            "-",
            "--",
            "",
        ] {
            assert_eq!(
                parse_id(id.as_bytes(), id.as_bytes(), 0),
                id_by_bytes(id.as_bytes()),
                "{id}"
            );
        }
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
            let params = QueryParams::of(request, 0, request.as_bytes());
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

    /// The mask check of `text`, followed in its block by digits and dots (which
    /// must not count) and alone in a padded block, which must agree.
    fn is_ipv4_text(text: &str) -> bool {
        let in_line = format!("{text}9.99.9.99.9.99.9");
        let followed = in_line
            .as_bytes()
            .first_chunk::<16>()
            .map(|block| is_ipv4(text.len(), block));
        let alone = is_ipv4(text.len(), &bytes_at(text.as_bytes(), 0));
        if let Some(followed) = followed {
            assert_eq!(followed, alone, "{text}: the bytes after the field changed the verdict");
        }
        alone
    }

    proptest::proptest! {
        /// The mask check reads an address as `std::net::Ipv4Addr` does, on
        /// strings of digits and dots (and a few bytes that are neither).
        #[test]
        fn ipv4_agrees_with_std_on_digits_and_dots(
            text in proptest::collection::vec(proptest::sample::select(b"0123456789....:a/".to_vec()), 0..20),
        ) {
            let text = String::from_utf8(text).expect("ASCII");
            proptest::prop_assert_eq!(is_ipv4_text(&text), text.parse::<std::net::Ipv4Addr>().is_ok(), "{}", text);
        }

        /// As above, on near-addresses: three to five octets of up to four
        /// digits, some with a leading zero, so that most are valid or nearly.
        #[test]
        fn ipv4_agrees_with_std_on_near_addresses(
            octets in proptest::collection::vec((0u32..1000, proptest::bool::weighted(0.1), proptest::bool::weighted(0.05)), 3..6),
        ) {
            let text = octets
                .iter()
                .map(|(value, zero, wide)| match (zero, wide) {
                    (true, _) => format!("0{value}"),
                    (_, true) => format!("{value}0"),
                    _ => value.to_string(),
                })
                .collect::<Vec<_>>()
                .join(".");
            proptest::prop_assert_eq!(is_ipv4_text(&text), text.parse::<std::net::Ipv4Addr>().is_ok(), "{}", text);
        }
    }

    proptest::proptest! {
        /// The vector masks are the byte-by-byte definition, for every kind of byte.
        #[test]
        fn block_masks_agree_with_the_byte_loop(block in proptest::prelude::any::<[u8; 16]>()) {
            proptest::prop_assert_eq!(BlockMasks::of(&block), BlockMasks::by_bytes(&block));
        }

        /// One pass over a line finds what separate searches find: printable
        /// ASCII, and the six spaces of a line that has six, on lines of any
        /// length (tails shorter than a block included) with spaces anywhere,
        /// before and after the first 128 bytes.
        #[test]
        fn line_shape_agrees_with_separate_searches(
            line in proptest::collection::vec(proptest::sample::select(b"  a0.\x7f\x1f\xc3~".to_vec()), 0..100),
            long_gap in 0usize..200,
            gap_at in 0usize..100,
        ) {
            let mut line = line;
            // Some lines hold a long run without spaces, pushing later spaces past 128 bytes.
            line.splice(gap_at.min(line.len())..gap_at.min(line.len()), std::iter::repeat_n(b'x', long_gap));
            let shape = LineShape::of(&line);
            let spaces: Vec<usize> = line.iter().enumerate().filter(|(_, b)| **b == b' ').map(|(i, _)| i).collect();
            proptest::prop_assert_eq!(shape.printable, line.iter().all(|b| (0x20..=0x7e).contains(b)));
            let expected = <[usize; 6]>::try_from(spaces.as_slice()).ok();
            proptest::prop_assert_eq!(shape.field_ends(&line), expected);
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
            assert_eq!(is_ipv4_text(text), text.parse::<std::net::Ipv4Addr>().is_ok(), "{text}");
        }
    }
}

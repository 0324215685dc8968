//! Events to api-v1 lines, and the malformed variants the `bad_lines` fault writes.

use std::fmt::Write;

use darkroom_logs::Action;

use crate::calendar::{MICROS_PER_SECOND, date};
use crate::world::{SimEvent, Visitor};

/// Appends the api-v1 line of `event` (with its `\n`) to `out`.
pub fn write_line(out: &mut String, event: &SimEvent, visitor: &Visitor) {
    let day = event.time.div_euclid(86_400 * MICROS_PER_SECOND);
    let of_day = event.time.rem_euclid(86_400 * MICROS_PER_SECOND);
    let seconds = of_day / MICROS_PER_SECOND;
    let micros = of_day % MICROS_PER_SECOND;
    let _ = write!(
        out,
        "{} {:02}:{:02}:{:02}",
        date(day).format("%Y-%m-%d"),
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    );
    if micros != 0 {
        // Servers print the fraction without trailing zeros: `.32444`.
        let fraction = format!("{micros:06}");
        let _ = write!(out, ".{}", fraction.trim_end_matches('0'));
    }
    out.push(' ');
    match event.user {
        Some(user) => {
            let _ = write!(out, "{user}");
        }
        None => out.push('-'),
    }
    let _ = write!(out, " {} ", event.action.name());
    match event.object {
        Some(object) => {
            let _ = write!(out, "{object}");
        }
        None => out.push('-'),
    }
    let ip = visitor.ip;
    let _ = write!(
        out,
        " {}.{}.{}.{} ",
        ip >> 24,
        (ip >> 16) & 255,
        (ip >> 8) & 255,
        ip & 255
    );
    // The API path around the object id: the same bytes the app's routes produce.
    let (prefix, suffix) = match event.action {
        Action::PageView => (["/", "/popular", "/fresh", "/editors"][(event.time % 4) as usize], None),
        Action::Signup => ("/v2/users", None),
        Action::Login => ("/v2/sessions", None),
        Action::PhotoView => ("/v2/photos/", Some("")),
        Action::PhotoLike => ("/v2/photos/", Some("/vote")),
        Action::PhotoFavourite => ("/v2/photos/", Some("/favorite")),
        Action::PhotoComment => ("/v2/photos/", Some("/comments")),
        Action::Follow => ("/v2/users/", Some("/follow")),
        Action::PhotoUpload => ("/v2/photos/", Some("/upload")),
        Action::MarketplaceSubmit => ("/v2/marketplace/photos/", Some("")),
    };
    out.push_str(prefix);
    if let Some(suffix) = suffix {
        let _ = write!(out, "{}{suffix}", event.object.unwrap_or_default());
    }
    // Clients order their parameters differently; the reader must not care.
    if event.time % 3 == 0 {
        let _ = write!(out, "?vid={:016x}&client={}", visitor.vid, event.client.name());
    } else {
        let _ = write!(out, "?client={}&vid={:016x}", event.client.name(), visitor.vid);
    }
    if let Some(channel) = event.channel {
        let _ = write!(out, "&ref={}", channel.name());
    }
    out.push('\n');
}

/// The kinds of bad input of log-format.md, in the order `bad_lines` cycles through them.
pub const MALFORMED_KINDS: usize = 10;

/// Damages a good line (without its `\n`) in the `kind`-th way; returns the bytes to write.
pub fn malform(line: &str, kind: usize) -> Vec<u8> {
    let fields: Vec<&str> = line.split(' ').collect();
    let with = |i: usize, value: &str| {
        let mut f = fields.clone();
        f[i] = value;
        f.join(" ").into_bytes()
    };
    match kind % MALFORMED_KINDS {
        0 => fields[..5].join(" ").into_bytes(),
        1 => with(0, &fields[0].replace('-', "/")),
        2 => with(0, &format!("{}-02-30", &fields[0][..4])),
        3 => with(1, "25:61:00"),
        4 => with(2, "user42"),
        5 => {
            // A `-` user only makes a line bad on an action that needs one.
            let mut f = fields.clone();
            f[2] = "-";
            f[3] = "photo_like";
            f.join(" ").into_bytes()
        }
        6 => with(0, &fields[0].replacen('-', "\u{2013}", 1)),
        7 => with(6, &format!("{}&pad={}", fields[6], "x".repeat(4100))),
        8 => {
            let mut bytes = line.as_bytes().to_vec();
            bytes.extend_from_slice(&[0xc3, 0x28]);
            bytes
        }
        _ => vec![0x00, 0x9f, 0x13, 0x37, b' ', 0xff, 0x01],
    }
}

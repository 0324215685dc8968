//! `--faults`: damage to the written files, never to the truth.

use darkroom_logs::Action;

use crate::calendar::{MICROS_PER_HOUR, date, parse_date};
use crate::error::SimError;

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// That share of log lines is malformed (cycling through every kind of bad input).
    BadLines { rate: f64 },
    /// That server's file for that hour (start, in microseconds) is never archived.
    DeadServer { server: String, hour: i64 },
    /// 10% of that day's lines never reach the archive.
    LossyDay { day: i64 },
    /// One file of that day is archived twice, the copy as `<server>.retry.log.gz`.
    DuplicateUpload { day: i64 },
    /// One file of that day is cut in the middle of its gzip stream.
    CorruptGzip { day: i64 },
    /// One Stripe charge of that day is missing from production (but in stripe.csv).
    MissingPayment { day: i64 },
    /// 40% of that action's lines of that day never reach the archive (a broken
    /// release); production shows nothing.
    LostAction { action: Action, day: i64 },
    /// From that day on, the logs carry a new action the vocabulary does not
    /// know, on a copy of some photo views.
    NewAction { name: String, day: i64 },
}

/// The share of an action's lines a `lost_action` release loses.
pub const LOST_ACTION_SHARE: f64 = 0.4;
/// The share of photo views that a `new_action` release logs once more under its new name.
pub const NEW_ACTION_SHARE: f64 = 0.05;

impl Fault {
    /// Parses a comma-separated list such as `bad_lines=0.01,lossy_day=2015-02-10`.
    pub fn parse_list(list: &str) -> Result<Vec<Fault>, SimError> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Self::parse)
            .collect()
    }

    fn parse(text: &str) -> Result<Fault, SimError> {
        let (name, value) = text.split_once('=').unwrap_or((text, ""));
        let bad = |reason: &str| SimError::BadFaultValue {
            fault: name.to_owned(),
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        let day = || parse_date(value).ok_or_else(|| bad("expected a real date as YYYY-MM-DD"));
        match name {
            "bad_lines" => {
                let rate: f64 = value
                    .parse()
                    .map_err(|_| bad("expected a share between 0 and 1, like 0.01"))?;
                if !(0.0..=1.0).contains(&rate) {
                    return Err(bad("expected a share between 0 and 1, like 0.01"));
                }
                Ok(Fault::BadLines { rate })
            }
            "dead_server" => {
                let (server, hour) = value
                    .split_once('@')
                    .ok_or_else(|| bad("expected SERVER@YYYY-MM-DDTHH, like api-02@2015-02-10T14"))?;
                let (day, hh) = hour
                    .split_once('T')
                    .ok_or_else(|| bad("expected SERVER@YYYY-MM-DDTHH, like api-02@2015-02-10T14"))?;
                let day = parse_date(day).ok_or_else(|| bad("expected a real date as YYYY-MM-DD"))?;
                let hh: i64 = hh
                    .parse()
                    .ok()
                    .filter(|h| (0..24).contains(h) && hh.len() == 2)
                    .ok_or_else(|| bad("expected an hour from 00 to 23"))?;
                if server.is_empty() {
                    return Err(bad("expected a server name before @"));
                }
                Ok(Fault::DeadServer {
                    server: server.to_owned(),
                    hour: day * 24 * MICROS_PER_HOUR + hh * MICROS_PER_HOUR,
                })
            }
            "lossy_day" => Ok(Fault::LossyDay { day: day()? }),
            "duplicate_upload" => Ok(Fault::DuplicateUpload { day: day()? }),
            "corrupt_gzip" => Ok(Fault::CorruptGzip { day: day()? }),
            "missing_payment" => Ok(Fault::MissingPayment { day: day()? }),
            "lost_action" | "new_action" => {
                let usage = "expected NAME@YYYY-MM-DD, like photo_like@2015-02-10";
                let (action, on) = value.split_once('@').ok_or_else(|| bad(usage))?;
                let day = parse_date(on).ok_or_else(|| bad("expected a real date as YYYY-MM-DD"))?;
                let known = Action::ALL.into_iter().find(|a| a.name() == action);
                if name == "lost_action" {
                    let action = known.ok_or_else(|| bad("expected an action of log-format.md, like photo_like"))?;
                    return Ok(Fault::LostAction { action, day });
                }
                let word = !action.is_empty() && action.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
                if known.is_some() || !word {
                    return Err(bad(
                        "expected a new action name of a-z and _, not one log-format.md knows",
                    ));
                }
                Ok(Fault::NewAction {
                    name: action.to_owned(),
                    day,
                })
            }
            _ => Err(SimError::UnknownFault { name: name.to_owned() }),
        }
    }

    /// The day a fault names, if it names one.
    pub fn day(&self) -> Option<i64> {
        match self {
            Fault::BadLines { .. } => None,
            Fault::DeadServer { hour, .. } => Some(hour.div_euclid(24 * MICROS_PER_HOUR)),
            Fault::LossyDay { day }
            | Fault::DuplicateUpload { day }
            | Fault::CorruptGzip { day }
            | Fault::MissingPayment { day }
            | Fault::LostAction { day, .. }
            | Fault::NewAction { day, .. } => Some(*day),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Fault::BadLines { .. } => "bad_lines",
            Fault::DeadServer { .. } => "dead_server",
            Fault::LossyDay { .. } => "lossy_day",
            Fault::DuplicateUpload { .. } => "duplicate_upload",
            Fault::CorruptGzip { .. } => "corrupt_gzip",
            Fault::MissingPayment { .. } => "missing_payment",
            Fault::LostAction { .. } => "lost_action",
            Fault::NewAction { .. } => "new_action",
        }
    }

    /// Every fault that names a day must name one of the days being generated.
    pub fn check_range(faults: &[Fault], first: i64, last: i64) -> Result<(), SimError> {
        for fault in faults {
            if let Some(day) = fault.day()
                && !(first..=last).contains(&day)
            {
                return Err(SimError::FaultOutsideRange {
                    fault: fault.name().to_owned(),
                    date: date(day).to_string(),
                    first: date(first).to_string(),
                    last: date(last).to_string(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_fault_of_the_spec() {
        let faults = Fault::parse_list(
            "bad_lines=0.01, dead_server=api-02@2015-02-10T14,lossy_day=2015-02-11,duplicate_upload=2015-02-12,corrupt_gzip=2015-02-13",
        )
        .expect("valid list");
        assert_eq!(faults.len(), 5);
        let releases = Fault::parse_list("lost_action=photo_like@2015-02-10,new_action=photo_share@2015-02-11")
            .expect("valid list");
        assert_eq!(
            releases[0],
            Fault::LostAction {
                action: Action::PhotoLike,
                day: parse_date("2015-02-10").unwrap_or_default()
            }
        );
        assert_eq!(releases[1].name(), "new_action");
        assert_eq!(faults[0], Fault::BadLines { rate: 0.01 });
        assert_eq!(faults[1].day(), parse_date("2015-02-10"));
    }

    #[test]
    fn bad_faults_are_named() {
        let message = |list: &str| Fault::parse_list(list).expect_err(list).to_string();
        assert_eq!(message("flaky_disk=1"), "unknown fault `flaky_disk`");
        assert!(message("bad_lines=2").contains("expected a share between 0 and 1"));
        assert!(message("lossy_day=2015-02-30").contains("expected a real date"));
        assert!(message("dead_server=api-01@2015-02-10T24").contains("an hour from 00 to 23"));
        assert!(message("dead_server=api-01").contains("SERVER@YYYY-MM-DDTHH"));
        assert!(message("lost_action=photo_hug@2015-02-10").contains("an action of log-format.md"));
        assert!(message("new_action=photo_like@2015-02-10").contains("not one log-format.md knows"));
        assert!(message("new_action=Photo-Share@2015-02-10").contains("a-z and _"));
        assert!(message("lost_action=photo_like").contains("NAME@YYYY-MM-DD"));
    }

    #[test]
    fn a_fault_outside_the_generated_days_is_refused() {
        let faults = Fault::parse_list("lossy_day=2015-03-01").expect("valid");
        let (first, last) = (
            parse_date("2015-02-01").unwrap_or_default(),
            parse_date("2015-02-07").unwrap_or_default(),
        );
        let err = Fault::check_range(&faults, first, last).expect_err("outside");
        assert_eq!(
            err.to_string(),
            "fault `lossy_day` names 2015-03-01, which is not one of the days this call generates (2015-02-01 to 2015-02-07)"
        );
    }
}

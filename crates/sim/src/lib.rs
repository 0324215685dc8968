//! The synthetic photo site: a world whose true numbers are known.
//!
//! `sim advance` grows a world day by day and writes what the real site would
//! have written (hourly API log archives from several servers, with late lines
//! across hours and midnight) and the ground truth of every modelled metric,
//! computed from the simulator's own decisions. The production database, the
//! outside exports and the funnels' truth are the next steps (issue 3).

mod advance;
mod calendar;
mod commerce;
mod error;
mod exports;
mod faults;
mod funnels;
mod lines;
mod plan;
mod production;
mod random;
mod truth;
mod world;

pub use advance::{
    AdvanceOptions, AdvanceReport, Outputs, TRUTH_FAULTS_FILE, TRUTH_FUNNELS_FILE, TRUTH_METRICS_FILE, WORLD_FILE,
    advance, advance_each_day, server_name,
};
pub use calendar::{date, parse_date};
pub use commerce::{Payment, Plan, Provider, StockPurchase, Subscription};
pub use error::SimError;
pub use faults::Fault;
pub use production::{Production, datetime, redact};
pub use world::{Changes, Photo, SimEvent, User, World, WorldSpec};

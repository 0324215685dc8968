//! The nightly run, end to end, on simulated photo sites.

mod audits;
mod bad_input;
mod production;
mod runs;
mod support;
mod truth;
mod upkeep;

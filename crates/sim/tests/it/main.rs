//! Integration tests of the simulator through its public API and its output files.

mod faults;
mod plan;
mod production;
mod support;
mod truth;

//! Integration tests of the warehouse session.

mod encoding;
mod read_only;
mod spilling_joins;
mod upkeep;

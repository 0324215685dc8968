//! Integration tests of the warehouse session.

mod read_only;

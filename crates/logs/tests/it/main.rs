//! Integration tests of the api-v1 log reader, through its public API only.

mod bad_input;
mod files;
mod properties;
mod sql;
mod support;

//! The web app through HTTP requests (no socket): accounts and roles, every
//! provisioned dashboard, filters as typed values, the cache, exports, shares.

mod accounts;
mod dashboards;
mod filters;
mod reports;
mod support;

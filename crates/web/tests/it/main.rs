//! The web app through HTTP requests (no socket): accounts and roles, every
//! provisioned dashboard, filters as typed values, the cache, exports, shares.

mod accounts;
mod authoring;
mod dashboards;
mod filters;
mod permissions;
mod reports;
mod support;

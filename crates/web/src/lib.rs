//! The web app: SQL editor, charts, dashboards, sharing, exports, email
//! rendering. Not built yet.

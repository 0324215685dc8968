//! Production database snapshots (MySQL/MariaDB, PostgreSQL, SQLite through sqlx)
//! and outside CSV exports, streamed to Arrow. Not built yet: issue 4.

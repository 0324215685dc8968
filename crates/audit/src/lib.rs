//! Audits against outside sources of truth, and anomaly detection. Not built yet.

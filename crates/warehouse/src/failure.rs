//! Failures of the SQL engine that running a query again, alone, can mend,
//! recognised by their type where the engine raised them.

use std::error::Error;
use std::sync::Arc;

use datafusion::error::DataFusionError;
use tokio::task::JoinError;

/// Why a query failed in a way that another attempt, alone and with joins that
/// spill, can mend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineFailure {
    /// DataFusion refused a memory reservation (`ResourcesExhausted`): a hash
    /// table, or a sort whose spill ran short.
    OutOfMemory,
    /// A task of DataFusion's execution panicked, which reaches the caller as a
    /// failed join. DataFusion 55 does so ("partition not used yet") in a query
    /// beside another that exhausts the shared pool.
    Panic,
}

impl EngineFailure {
    /// The first such failure anywhere in `error`'s chain of sources.
    pub fn find(error: &(dyn Error + 'static)) -> Option<Self> {
        let mut next = Some(error);
        while let Some(error) = next {
            if let Some(found) = Self::of_one(error) {
                return Some(found);
            }
            next = error.source();
        }
        None
    }

    fn of_one(error: &(dyn Error + 'static)) -> Option<Self> {
        if let Some(engine) = error.downcast_ref::<DataFusionError>() {
            return match engine {
                DataFusionError::ResourcesExhausted(_) => Some(Self::OutOfMemory),
                DataFusionError::ExecutionJoin(join) if join.is_panic() => Some(Self::Panic),
                _ => None,
            };
        }
        // DataFusion's repartition wraps a failed join as `External(Arc<JoinError>)`.
        let join = error
            .downcast_ref::<JoinError>()
            .or_else(|| error.downcast_ref::<Arc<JoinError>>().map(AsRef::as_ref));
        join.filter(|join| join.is_panic()).map(|_| Self::Panic)
    }
}

/// DataFusion nests context around errors; users need the innermost cause, on one line.
pub(crate) fn root_message(error: &DataFusionError) -> String {
    match error.find_root() {
        // The variant names the engine's phase; users need only the message.
        DataFusionError::Plan(message)
        | DataFusionError::Execution(message)
        | DataFusionError::NotImplemented(message) => one_line(message),
        other => one_line(&other.to_string()),
    }
}

pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_reservation_is_found_under_any_wrapping() {
        let inner = DataFusionError::ResourcesExhausted("Failed to allocate 12 MB for ExternalSorter[0]".into());
        let sort = inner.context("Not enough memory to continue external sort");
        let wrapped = DataFusionError::External(Box::new(DataFusionError::Shared(Arc::new(sort))));
        assert_eq!(EngineFailure::find(&wrapped), Some(EngineFailure::OutOfMemory));
        assert_eq!(
            root_message(&wrapped),
            "Resources exhausted: Failed to allocate 12 MB for ExternalSorter[0]"
        );
    }

    /// Regression: CI saw `daily_metrics` fail, beside a model that exhausted
    /// the pool, with DataFusion's panic ("partition not used yet") instead of
    /// its out-of-memory error, so it was not run again alone. DataFusion's
    /// repartition reports it as `Context("Join Error", External(Arc<JoinError>))`.
    #[tokio::test]
    async fn a_panicked_engine_task_is_found_as_repartition_reports_it() {
        let joined = tokio::spawn(async {
            if joined_task_should_panic() {
                panic!("partition not used yet");
            }
        })
        .await;
        let join = joined.expect_err("the task panicked");
        let error = DataFusionError::Context(
            "Join Error".into(),
            Box::new(DataFusionError::External(Box::new(Arc::new(join)))),
        );
        assert_eq!(EngineFailure::find(&error), Some(EngineFailure::Panic));
    }

    fn joined_task_should_panic() -> bool {
        true
    }

    #[test]
    fn a_mistyped_column_is_no_engine_failure() {
        let typo = DataFusionError::Plan("Schema error: No field named actoin".into());
        assert_eq!(EngineFailure::find(&typo), None);
        let text_alike = DataFusionError::Execution("Resources exhausted, says a UDF".into());
        assert_eq!(EngineFailure::find(&text_alike), None);
    }
}

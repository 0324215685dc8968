//! The run's session with joins that spill, for a task's second attempt.

use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use darkroom_warehouse::{run_session, with_spilling_joins};
use datafusion::physical_plan::displayable;
use datafusion::prelude::SessionContext;

const JOIN: &str = "SELECT count(*) AS matches FROM a JOIN b ON a.id = b.id";

fn numbers(from: i64, to: i64) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
    RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(from..to))]).expect("batch")
}

async fn plan(ctx: &SessionContext, sql: &str) -> String {
    let plan = ctx
        .sql(sql)
        .await
        .expect("plans")
        .create_physical_plan()
        .await
        .expect("physical plan");
    displayable(plan.as_ref()).indent(true).to_string()
}

async fn answer(ctx: &SessionContext, sql: &str) -> String {
    let batches = ctx.sql(sql).await.expect("plans").collect().await.expect("runs");
    arrow::util::pretty::pretty_format_batches(&batches)
        .expect("format")
        .to_string()
}

/// Regression: the spilling session was built with the run's settings as they
/// were, which asked for a default catalog; the builder made a new, empty one
/// and put it in the catalog list both sessions share, so the run's next task
/// failed with "table 'darkroom.public.raw_events' not found".
#[tokio::test]
async fn spilling_joins_are_sort_merge_joins_over_the_same_tables_and_the_run_keeps_its_own() {
    let run = run_session(256).expect("session");
    run.register_batch("a", numbers(0, 1000)).expect("register a");
    run.register_batch("b", numbers(500, 2000)).expect("register b");

    let spilling = with_spilling_joins(&run);
    assert!(
        plan(&spilling, JOIN).await.contains("SortMergeJoin"),
        "{}",
        plan(&spilling, JOIN).await
    );
    assert!(
        plan(&run, JOIN).await.contains("HashJoinExec"),
        "{}",
        plan(&run, JOIN).await
    );
    assert_eq!(answer(&spilling, JOIN).await, answer(&run, JOIN).await);
    assert!(
        answer(&run, JOIN).await.contains("| 500     |"),
        "{}",
        answer(&run, JOIN).await
    );

    // A table the run publishes later (a refresh after a commit) is seen by both.
    run.register_batch("c", numbers(0, 3)).expect("register c");
    assert!(answer(&spilling, "SELECT count(*) AS n FROM c").await.contains("| 3 |"));
}

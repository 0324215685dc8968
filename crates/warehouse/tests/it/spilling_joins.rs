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

fn people_and_events() -> (RecordBatch, RecordBatch) {
    let people = Schema::new(vec![
        Field::new("user_id", DataType::Int64, false),
        Field::new("signup_time", DataType::Int64, false),
    ]);
    let events = Schema::new(vec![
        Field::new("user_id", DataType::Int64, false),
        Field::new("event_time", DataType::Int64, false),
    ]);
    // Every third person has one event, some before signing up and some after.
    let people = RecordBatch::try_new(
        Arc::new(people),
        vec![
            Arc::new(Int64Array::from_iter_values(0..3000)),
            Arc::new(Int64Array::from_iter_values(std::iter::repeat_n(100, 3000))),
        ],
    )
    .expect("people");
    let events = RecordBatch::try_new(
        Arc::new(events),
        vec![
            Arc::new(Int64Array::from_iter_values((0..3000).step_by(3))),
            Arc::new(Int64Array::from_iter_values((0..3000).step_by(3).map(|id| 98 + id % 5))),
        ],
    )
    .expect("events");
    (people, events)
}

/// Regression: DataFusion 55's sort-merge join evaluates an outer join's filter
/// on a batch whose columns keep the inputs' nullability, so a filter reading a
/// NOT NULL column of the side without a match failed with "Column 'event_time'
/// is declared as non-nullable but contains null values". `funnel_steps`' LEFT
/// JOIN of people to their later events failed this way on its second attempt
/// (the 6.8M-user day at `[run] memory_limit_mb = 256`).
#[tokio::test]
async fn an_outer_join_filtered_on_a_not_null_column_gives_the_hash_joins_answer_when_spilling() {
    let run = run_session(256).expect("session");
    let (people, events) = people_and_events();
    run.register_batch("people", people).expect("register people");
    run.register_batch("events", events).expect("register events");
    let spilling = with_spilling_joins(&run);

    for (join, expected) in [
        // 1000 people have an event each, 400 of them after signing up (98 + id % 5 > 100).
        ("LEFT JOIN", "| 3000 | 400     |"),
        ("RIGHT JOIN", "| 1000 | 1000    |"),
        ("FULL JOIN", "| 3600 | 1000    |"),
    ] {
        let sql = format!(
            "SELECT count(*) AS rows, count(e.event_time) AS matched FROM people p {join} events e \
             ON e.user_id = p.user_id AND e.event_time > p.signup_time"
        );
        assert!(
            plan(&spilling, &sql).await.contains("SortMergeJoin"),
            "{}",
            plan(&spilling, &sql).await
        );
        let answer_spilling = answer(&spilling, &sql).await;
        assert_eq!(answer_spilling, answer(&run, &sql).await, "{join}");
        assert!(answer_spilling.contains(expected), "{join}: {answer_spilling}");
    }
}

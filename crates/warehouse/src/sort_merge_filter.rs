//! A physical rewrite that keeps DataFusion 55's sort-merge join from failing
//! on outer joins with a filter.
//!
//! The sort-merge join evaluates its filter on a batch built with the filter's
//! own schema, whose columns keep their inputs' nullability. On an outer join
//! the buffered side's columns of an unmatched row are NULL there, so a filter
//! that reads a non-nullable column of that side (`LEFT JOIN e ON e.user_id =
//! p.user_id AND e.event_time > p.signup_time`, with `event_time` declared
//! NOT NULL) fails with "Column 'event_time' is declared as non-nullable but
//! contains null values". Hash joins do not build that batch, so only the
//! spilling session ([`crate::with_spilling_joins`]) needs this. Declaring every
//! filter column nullable changes no result: a filter evaluates the same
//! values either way.

use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::joins::SortMergeJoinExec;
use datafusion::physical_plan::joins::utils::JoinFilter;

#[derive(Debug, Default)]
pub(crate) struct NullableSortMergeJoinFilters;

impl PhysicalOptimizerRule for NullableSortMergeJoinFilters {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(join) = node.downcast_ref::<SortMergeJoinExec>() else {
                return Ok(Transformed::no(node));
            };
            let Some(filter) = join.filter() else {
                return Ok(Transformed::no(node));
            };
            if filter.schema().fields().iter().all(|field| field.is_nullable()) {
                return Ok(Transformed::no(node));
            }
            let nullable = Schema::new_with_metadata(
                filter
                    .schema()
                    .fields()
                    .iter()
                    .map(|field| field.as_ref().clone().with_nullable(true))
                    .collect::<Vec<_>>(),
                filter.schema().metadata().clone(),
            );
            let filter = JoinFilter::new(
                Arc::clone(filter.expression()),
                filter.column_indices().to_vec(),
                Arc::new(nullable),
            );
            let rebuilt = SortMergeJoinExec::try_new(
                Arc::clone(join.left()),
                Arc::clone(join.right()),
                join.on().to_vec(),
                Some(filter),
                join.join_type(),
                join.sort_options().to_vec(),
                join.null_equality(),
            )?;
            Ok(Transformed::yes(Arc::new(rebuilt) as Arc<dyn ExecutionPlan>))
        })
        .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "nullable_sort_merge_join_filters"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

//! Chart answers kept in memory, keyed by the data they came from.
//!
//! A key holds the chart's SQL, its typed filter values and the committed
//! version of every table the query reads (and the run history's stamp where
//! it reads that), so an answer is served until the night commits a table it
//! read, and never after: nothing has to be invalidated by hand. The cache is
//! bounded in bytes; the entry used longest ago goes first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use darkroom_warehouse::QueryShape;

use crate::rows::ChartRows;

#[derive(Debug)]
pub struct ResultCache {
    limit_bytes: usize,
    inner: Mutex<Inner>,
    /// Planned shapes by data version and SQL; small, so bounded by count.
    shapes: Mutex<HashMap<String, Arc<QueryShape>>>,
}

/// Shapes kept before the map starts over (a data version makes all old ones useless).
const SHAPES_KEPT: usize = 4096;

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    bytes: usize,
    clock: u64,
    hits: u64,
    misses: u64,
}

#[derive(Debug)]
struct Entry {
    rows: Arc<ChartRows>,
    bytes: usize,
    used: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    pub entries: usize,
    pub bytes: usize,
    pub hits: u64,
    pub misses: u64,
}

impl ResultCache {
    pub fn new(limit_bytes: usize) -> Self {
        Self {
            limit_bytes,
            inner: Mutex::new(Inner::default()),
            shapes: Mutex::new(HashMap::new()),
        }
    }

    pub fn shape(&self, key: &str) -> Option<Arc<QueryShape>> {
        self.shapes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    pub fn put_shape(&self, key: String, shape: Arc<QueryShape>) {
        let mut shapes = self.shapes.lock().unwrap_or_else(PoisonError::into_inner);
        if shapes.len() >= SHAPES_KEPT {
            shapes.clear();
        }
        shapes.insert(key, shape);
    }

    pub fn get(&self, key: &str) -> Option<Arc<ChartRows>> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.clock += 1;
        let now = inner.clock;
        match inner.entries.get_mut(key) {
            Some(entry) => {
                entry.used = now;
                let rows = entry.rows.clone();
                inner.hits += 1;
                Some(rows)
            }
            None => {
                inner.misses += 1;
                None
            }
        }
    }

    /// Keeps `rows` unless they alone exceed the bound.
    pub fn put(&self, key: String, rows: Arc<ChartRows>) {
        let bytes = rows.size_bytes() + key.len();
        if bytes > self.limit_bytes {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.clock += 1;
        let used = inner.clock;
        if let Some(old) = inner.entries.insert(key, Entry { rows, bytes, used }) {
            inner.bytes -= old.bytes;
        }
        inner.bytes += bytes;
        while inner.bytes > self.limit_bytes {
            let Some(oldest) = inner.entries.iter().min_by_key(|(_, e)| e.used).map(|(k, _)| k.clone()) else {
                break;
            };
            if let Some(gone) = inner.entries.remove(&oldest) {
                inner.bytes -= gone.bytes;
            }
        }
    }

    pub fn stats(&self) -> CacheStats {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        CacheStats {
            entries: inner.entries.len(),
            bytes: inner.bytes,
            hits: inner.hits,
            misses: inner.misses,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;

    use super::*;

    fn rows(n: i64) -> Arc<ChartRows> {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
        let batch =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from_iter_values(0..n))]).expect("a batch");
        ChartRows::new(schema, vec![batch], 1)
    }

    #[test]
    fn the_entry_used_longest_ago_goes_first_when_full() {
        let one = rows(1000);
        let cache = ResultCache::new(one.size_bytes() * 2 + 64);
        cache.put("a".into(), one.clone());
        cache.put("b".into(), rows(1000));
        assert!(cache.get("a").is_some(), "a is now the most recently used");
        cache.put("c".into(), rows(1000));
        assert!(cache.get("b").is_none(), "b went first");
        assert!(cache.get("a").is_some() && cache.get("c").is_some());
        assert!(cache.stats().bytes <= one.size_bytes() * 2 + 64);
    }

    #[test]
    fn rows_bigger_than_the_bound_are_not_kept() {
        let cache = ResultCache::new(16);
        cache.put("big".into(), rows(1000));
        assert_eq!(cache.stats().entries, 0);
    }
}

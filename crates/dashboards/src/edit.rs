//! A dashboard file changed in place: the app's change is written into the
//! file as it is (its comments, key order, string style and blank lines kept)
//! so that the change reads in a git diff as the lines that changed, not as a
//! rewritten file.

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table};

use crate::source::DashboardSource;

/// Whether two items hold the same value, however each is written
/// (`"""..."""` or `"..."`, spacing, a trailing comment).
fn same_value(a: &Item, b: &Item) -> bool {
    let parse = |item: &Item| {
        let mut table = Table::new();
        table.insert("v", item.clone());
        let mut doc = DocumentMut::new();
        doc.insert("t", Item::Table(table));
        toml::from_str::<toml::Value>(&doc.to_string()).ok()
    };
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Makes `old`'s keys those of `new`: a changed value is replaced (keeping the
/// key's place), a new key added, a key `new` lacks removed.
fn sync_table(old: &mut Table, new: &Table) {
    let gone: Vec<String> = old
        .iter()
        .map(|(key, _)| key.to_owned())
        .filter(|key| !new.contains_key(key))
        .collect();
    for key in gone {
        old.remove(&key);
    }
    for (key, item) in new {
        match old.get_mut(key) {
            Some(existing) if same_value(existing, item) => {}
            Some(existing) => {
                // Keep the comment or blank line before the key; take the new value.
                if let (Some(existing), Some(value)) = (existing.as_value_mut(), item.as_value()) {
                    let decor = existing.decor().clone();
                    *existing = value.clone();
                    *existing.decor_mut() = decor;
                } else {
                    *existing = item.clone();
                }
            }
            None => {
                old.insert(key, item.clone());
            }
        }
    }
}

/// The tables of `new_tables` in their order, each taken from `old_tables`
/// (with its comments) when one there has the same `key` value.
fn sync_tables(old_tables: Option<&ArrayOfTables>, new_tables: &ArrayOfTables, key: &str) -> ArrayOfTables {
    let name = |t: &Table| t.get(key).and_then(Item::as_str).map(str::to_owned);
    let mut merged = ArrayOfTables::new();
    for new in new_tables {
        let old = old_tables.and_then(|olds| olds.iter().find(|o| name(o).is_some() && name(o) == name(new)));
        match old {
            Some(old) => {
                let mut kept = old.clone();
                sync_table(&mut kept, new);
                merged.push(kept);
            }
            None => merged.push(new.clone()),
        }
    }
    merged
}

impl DashboardSource {
    /// The file's text after this change, written into `original` (the file
    /// as it is) so that what did not change keeps its lines and comments.
    /// Without an original that parses, the whole file as [`Self::to_toml`].
    pub fn to_toml_over(&self, original: Option<&str>) -> Result<String, crate::DashboardError> {
        let fresh = self.to_toml()?;
        let Some(mut doc) = original.and_then(|text| text.parse::<DocumentMut>().ok()) else {
            return Ok(fresh);
        };
        let new: DocumentMut = fresh.parse().map_err(|e| crate::DashboardError::Invalid {
            message: format!("cannot be read back as TOML: {e}"),
        })?;
        let (filters, charts) = (
            sync_tables(
                doc.get("filters").and_then(Item::as_array_of_tables),
                new.get("filters")
                    .and_then(Item::as_array_of_tables)
                    .unwrap_or(&ArrayOfTables::new()),
                "name",
            ),
            sync_tables(
                doc.get("charts").and_then(Item::as_array_of_tables),
                new.get("charts")
                    .and_then(Item::as_array_of_tables)
                    .unwrap_or(&ArrayOfTables::new()),
                "id",
            ),
        );
        let mut top = new.as_table().clone();
        top.remove("filters");
        top.remove("charts");
        let doc_table = doc.as_table_mut();
        let arrays: Vec<String> = doc_table
            .iter()
            .filter(|(_, item)| item.is_array_of_tables())
            .map(|(key, _)| key.to_owned())
            .collect();
        for key in &arrays {
            top.insert(key, doc_table[key.as_str()].clone());
        }
        sync_table(doc_table, &top);
        // Tables are written in the order of their positions: number them as
        // they now stand, filters first, so a moved chart is written where it moved.
        let mut position = 1;
        for (key, mut tables) in [("filters", filters), ("charts", charts)] {
            for table in tables.iter_mut() {
                table.set_position(Some(position));
                position += 1;
            }
            if tables.is_empty() {
                doc_table.remove(key);
            } else {
                doc_table.insert(key, Item::ArrayOfTables(tables));
            }
        }
        Ok(doc.to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const HAND_WRITTEN: &str = r#"# Growth, looked at every Monday.
title = "Growth"
team = "product"

[[filters]]
name = "days"                  # binds $days_start and $days_end
kind = "date_range"
default = "last_28_days"

# Signups are the first thing the CEO asks about.
[[charts]]
id = "growth-signups"
title = "Signups"
kind = "line"
sql = """SELECT date, value FROM daily_metrics
         WHERE metric = 'signups' AND date BETWEEN $days_start AND $days_end"""

[[charts]]
id = "growth-dau"
title = "DAU"
kind = "line"
sql = "SELECT date, value FROM daily_metrics WHERE metric = 'dau'"
"#;

    fn parsed() -> DashboardSource {
        DashboardSource::parse(Path::new("dashboards/growth.toml"), HAND_WRITTEN).expect("parses")
    }

    #[test]
    fn a_change_to_one_chart_changes_only_its_lines() {
        let mut source = parsed();
        source.charts[1].title = "Daily active users".into();
        let text = source.to_toml_over(Some(HAND_WRITTEN)).expect("toml");
        let expected = HAND_WRITTEN.replace("title = \"DAU\"", "title = \"Daily active users\"");
        assert_eq!(text, expected);
    }

    #[test]
    fn nothing_changed_is_the_same_bytes() {
        assert_eq!(parsed().to_toml_over(Some(HAND_WRITTEN)).expect("toml"), HAND_WRITTEN);
    }

    #[test]
    fn moved_added_and_removed_charts_keep_the_comments_of_the_rest() {
        let mut source = parsed();
        source.charts.swap(0, 1);
        source.charts[0].width = Some(2);
        let mut added = source.charts[1].clone();
        added.id = "growth-new".into();
        source.charts.push(added);
        source.filters.clear();
        let text = source.to_toml_over(Some(HAND_WRITTEN)).expect("toml");
        assert!(text.starts_with("# Growth, looked at every Monday.\n"), "{text}");
        assert!(!text.contains("[[filters]]"), "{text}");
        let dau = text.find("id = \"growth-dau\"").expect("dau");
        let signups = text.find("# Signups are the first thing").expect("comment kept");
        assert!(dau < signups, "moved: {text}");
        assert!(text.contains("width = 2"), "{text}");
        assert!(text.contains("id = \"growth-new\""), "{text}");
        let back = DashboardSource::parse(Path::new("dashboards/growth.toml"), &text).expect("parses");
        assert_eq!(back, source);
    }
}

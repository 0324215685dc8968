//! One [`ChartSpec`] and its rows to an SVG document.

use std::fmt::Write as _;

use crate::axis::nice_ticks;
use crate::format::{format_short_date, format_tick};
use crate::{Cell, ChartError, ChartKind, ChartSpec, NumberFormat, PALETTE, Table, format_number};

const WIDTH: f64 = 640.0;
const PLOT_HEIGHT: f64 = 280.0;
const FONT: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";
/// Rows a table chart draws; the page and the exports have every row.
const TABLE_ROWS: usize = 25;

/// The chart as a standalone SVG document (no scripts, no outside references):
/// values show on hover through `<title>`, and resvg draws the same bytes.
pub fn render_svg(spec: &ChartSpec, table: &Table) -> Result<String, ChartError> {
    match spec.kind {
        ChartKind::Line | ChartKind::Area | ChartKind::Bar => xy_chart(spec, table),
        ChartKind::Number => Ok(number_chart(spec, table)),
        ChartKind::Table => Ok(table_chart(spec, table)),
        ChartKind::Funnel => funnel_chart(spec, table),
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn open_svg(spec: &ChartSpec, height: f64) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" \
         height=\"{height}\" role=\"img\" aria-label=\"{title}\" font-family=\"{FONT}\" font-size=\"12\">\
         <title>{title}</title><rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>",
        title = escape(&spec.title)
    )
}

fn no_rows(spec: &ChartSpec) -> String {
    let mut svg = open_svg(spec, 80.0);
    svg.push_str(
        "<text x=\"320\" y=\"45\" text-anchor=\"middle\" fill=\"#555555\">No rows for these filters</text></svg>",
    );
    svg
}

fn shape_error(spec: &ChartSpec, table: &Table, needs: &'static str) -> ChartError {
    ChartError::Shape {
        title: spec.title.clone(),
        kind: spec.kind.name(),
        needs,
        columns: format!("({})", table.columns.join(", ")),
    }
}

/// Series of a line, bar or area chart: x labels and each series' values.
struct Series {
    x: Vec<Cell>,
    names: Vec<String>,
    /// `values[series][x]`
    values: Vec<Vec<Option<f64>>>,
}

fn series_of(spec: &ChartSpec, table: &Table) -> Result<Series, ChartError> {
    const NEEDS: &str = "an x column, then number columns (or a series name column and one number column)";
    if table.columns.len() < 2 {
        return Err(shape_error(spec, table, NEEDS));
    }
    let long_form = table.columns.len() == 3 && !table.is_numeric(1) && table.is_numeric(2);
    if long_form {
        let mut x: Vec<Cell> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let mut points = Vec::new();
        for row in &table.rows {
            let xi = x.iter().position(|c| c == &row[0]).unwrap_or_else(|| {
                x.push(row[0].clone());
                x.len() - 1
            });
            let name = row[1].label(spec.format);
            let si = names.iter().position(|n| n == &name).unwrap_or_else(|| {
                names.push(name);
                names.len() - 1
            });
            points.push((si, xi, row[2].number()));
        }
        let mut values = vec![vec![None; x.len()]; names.len()];
        for (si, xi, value) in points {
            values[si][xi] = value;
        }
        return Ok(sorted_by_x(Series { x, names, values }));
    }
    if !(1..table.columns.len()).all(|i| table.is_numeric(i)) {
        return Err(shape_error(spec, table, NEEDS));
    }
    Ok(sorted_by_x(Series {
        x: table.rows.iter().map(|row| row[0].clone()).collect(),
        names: table.columns[1..].to_vec(),
        values: (1..table.columns.len())
            .map(|i| table.rows.iter().map(|row| row[i].number()).collect())
            .collect(),
    }))
}

/// Dates in time order whatever the query's ORDER BY; labels keep theirs.
fn sorted_by_x(series: Series) -> Series {
    if !series.x.iter().all(|c| matches!(c, Cell::Date(_))) {
        return series;
    }
    let mut order: Vec<usize> = (0..series.x.len()).collect();
    order.sort_by_key(|&i| match series.x[i] {
        Cell::Date(d) => d,
        _ => chrono::NaiveDate::MIN,
    });
    Series {
        x: order.iter().map(|&i| series.x[i].clone()).collect(),
        names: series.names,
        values: series
            .values
            .iter()
            .map(|v| order.iter().map(|&i| v[i]).collect())
            .collect(),
    }
}

fn x_label(cell: &Cell, format: NumberFormat) -> String {
    match cell {
        Cell::Date(date) => format_short_date(*date),
        other => other.label(format),
    }
}

fn xy_chart(spec: &ChartSpec, table: &Table) -> Result<String, ChartError> {
    let series = series_of(spec, table)?;
    if series.x.is_empty() {
        return Ok(no_rows(spec));
    }
    let stacked = spec.kind != ChartKind::Line;
    let n = series.x.len();
    // The top of each stack, for the axis, and each series' base when stacked.
    let mut bases = vec![vec![0.0; n]; series.names.len()];
    let (mut low, mut high) = (0.0f64, 0.0f64);
    let mut running = vec![0.0; n];
    for (si, values) in series.values.iter().enumerate() {
        for (xi, value) in values.iter().enumerate() {
            let v = value.unwrap_or(0.0);
            if stacked {
                bases[si][xi] = running[xi];
                running[xi] += v;
                high = high.max(running[xi]);
                low = low.min(running[xi]);
            } else if value.is_some() {
                high = high.max(v);
                low = low.min(v);
            }
        }
    }
    let legend = legend_layout(&series.names, 64.0, WIDTH - 16.0);
    let legend_rows = legend.iter().map(|(_, row)| row + 1).max().unwrap_or(0) as f64;
    let top = 14.0 + legend_rows * 20.0;
    let (left, right, bottom) = (64.0, WIDTH - 16.0, PLOT_HEIGHT - 30.0);
    let ticks = nice_ticks(low, high, 5);
    let (axis_low, axis_high) = (ticks[0], *ticks.last().unwrap_or(&1.0));
    let y = |v: f64| bottom - (v - axis_low) / (axis_high - axis_low) * (bottom - top);
    let slot = (right - left) / n as f64;
    let x = |i: usize| left + slot * (i as f64 + 0.5);

    let mut svg = open_svg(spec, PLOT_HEIGHT);
    for tick in &ticks {
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{right}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e3e3e3\"/>\
             <text x=\"{tx}\" y=\"{ty:.1}\" text-anchor=\"end\" fill=\"#444444\">{label}</text>",
            y = y(*tick),
            tx = left - 6.0,
            ty = y(*tick) + 4.0,
            label = escape(&format_tick(*tick, spec.format)),
        );
    }
    let every = n.div_ceil(8).max(1);
    for (i, cell) in series.x.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#444444\">{}</text>",
            x(i),
            bottom + 18.0,
            escape(&x_label(cell, spec.format))
        );
    }
    let _ = write!(
        svg,
        "<line x1=\"{left}\" x2=\"{right}\" y1=\"{b:.1}\" y2=\"{b:.1}\" stroke=\"#888888\"/>",
        b = y(0.0_f64.clamp(axis_low, axis_high))
    );
    for (si, name) in series.names.iter().enumerate() {
        let colour = PALETTE[si % PALETTE.len()];
        let values = &series.values[si];
        let hover = |xi: usize, v: f64| {
            escape(&format!(
                "{} · {}: {}",
                series.x[xi].label(spec.format),
                name,
                format_number(v, spec.format)
            ))
        };
        match spec.kind {
            ChartKind::Bar => {
                let width = (slot * 0.72).max(1.0);
                for (xi, value) in values.iter().enumerate() {
                    let Some(v) = value else { continue };
                    let (from, to) = (y(bases[si][xi]), y(bases[si][xi] + v));
                    let _ = write!(
                        svg,
                        "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{width:.1}\" height=\"{:.1}\" fill=\"{colour}\"><title>{}</title></rect>",
                        x(xi) - width / 2.0,
                        from.min(to),
                        (from - to).abs(),
                        hover(xi, *v)
                    );
                }
            }
            ChartKind::Area => {
                let upper: Vec<String> = (0..n)
                    .map(|xi| format!("{:.1},{:.1}", x(xi), y(bases[si][xi] + values[xi].unwrap_or(0.0))))
                    .collect();
                let lower: Vec<String> = (0..n)
                    .rev()
                    .map(|xi| format!("{:.1},{:.1}", x(xi), y(bases[si][xi])))
                    .collect();
                let _ = write!(
                    svg,
                    "<polygon points=\"{} {}\" fill=\"{colour}\" fill-opacity=\"0.75\" stroke=\"{colour}\"/>",
                    upper.join(" "),
                    lower.join(" ")
                );
                for (xi, value) in values.iter().enumerate() {
                    let Some(v) = value else { continue };
                    let _ = write!(
                        svg,
                        "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\" fill-opacity=\"0.01\"><title>{}</title></circle>",
                        x(xi),
                        y(bases[si][xi] + v),
                        hover(xi, *v)
                    );
                }
            }
            _ => {
                // A missing value breaks the line rather than drawing it as zero.
                let mut path = String::new();
                let mut pen_down = false;
                for (xi, value) in values.iter().enumerate() {
                    match value {
                        Some(v) => {
                            let _ = write!(path, "{}{:.1},{:.1} ", if pen_down { "L" } else { "M" }, x(xi), y(*v));
                            pen_down = true;
                        }
                        None => pen_down = false,
                    }
                }
                let _ = write!(
                    svg,
                    "<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
                    path.trim_end()
                );
                let radius = if n > 60 { 2.0 } else { 3.0 };
                for (xi, value) in values.iter().enumerate() {
                    let Some(v) = value else { continue };
                    let _ = write!(
                        svg,
                        "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{radius}\" fill=\"{colour}\"><title>{}</title></circle>",
                        x(xi),
                        y(*v),
                        hover(xi, *v)
                    );
                }
            }
        }
    }
    for (si, (at, row)) in legend.iter().enumerate() {
        let y = 4.0 + 20.0 * *row as f64;
        let _ = write!(
            svg,
            "<rect x=\"{at:.1}\" y=\"{y:.1}\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#222222\">{}</text>",
            PALETTE[si % PALETTE.len()],
            at + 16.0,
            y + 10.0,
            escape(&series.names[si])
        );
    }
    svg.push_str("</svg>");
    Ok(svg)
}

/// Where each series' key goes (x, row), wrapping onto more rows as needed;
/// none for a single series.
fn legend_layout(names: &[String], left: f64, right: f64) -> Vec<(f64, usize)> {
    if names.len() < 2 {
        return Vec::new();
    }
    let mut placed = Vec::with_capacity(names.len());
    let (mut at, mut row) = (left, 0);
    for name in names {
        let width = 24.0 + 7.0 * name.chars().count() as f64;
        if at + width > right && at > left {
            at = left;
            row += 1;
        }
        placed.push((at, row));
        at += width;
    }
    placed
}

fn change_text(value: f64, against: Option<f64>, what: &str) -> Option<(String, &'static str)> {
    let against = against?;
    if against == 0.0 {
        return None;
    }
    let change = (value - against) / against.abs();
    // Blue up, orange down: apart for every kind of colour vision, unlike red and green.
    let colour = if change >= 0.0 { "#0072B2" } else { "#D55E00" };
    Some((format!("{:+.1}% {what}", change * 100.0), colour))
}

fn number_chart(spec: &ChartSpec, table: &Table) -> String {
    let Some(row) = table.rows.first() else {
        return no_rows(spec);
    };
    let cell = |name: &str| table.column(name).and_then(|i| row[i].number());
    let value = cell("value").or_else(|| row.iter().find_map(Cell::number));
    let mut svg = open_svg(spec, 120.0);
    let shown = value.map_or_else(|| "–".to_owned(), |v| format_number(v, spec.format));
    let _ = write!(
        svg,
        "<text x=\"20\" y=\"62\" font-size=\"44\" font-weight=\"bold\" fill=\"#111111\">{}</text>",
        escape(&shown)
    );
    if let Some(v) = value {
        let changes = [
            change_text(v, cell("previous"), "vs previous period"),
            change_text(v, cell("plan"), "vs plan"),
        ];
        for (i, (text, colour)) in changes.into_iter().flatten().enumerate() {
            let _ = write!(
                svg,
                "<text x=\"20\" y=\"{}\" font-size=\"14\" fill=\"{colour}\">{}</text>",
                88 + i * 20,
                escape(&text)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn table_chart(spec: &ChartSpec, table: &Table) -> String {
    if table.rows.is_empty() {
        return no_rows(spec);
    }
    let shown = table.rows.len().min(TABLE_ROWS);
    let more = table.rows.len() - shown;
    let height = 30.0 + 20.0 * shown as f64 + if more > 0 { 20.0 } else { 0.0 };
    let columns = table.columns.len().max(1);
    let width = (WIDTH - 20.0) / columns as f64;
    let mut svg = open_svg(spec, height);
    for (c, name) in table.columns.iter().enumerate() {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"20\" font-weight=\"bold\" fill=\"#222222\">{}</text>",
            10.0 + width * c as f64,
            escape(name)
        );
    }
    for (r, row) in table.rows.iter().take(shown).enumerate() {
        let y = 40.0 + 20.0 * r as f64;
        if r % 2 == 0 {
            let _ = write!(
                svg,
                "<rect x=\"4\" y=\"{:.1}\" width=\"{}\" height=\"20\" fill=\"#f4f6f8\"/>",
                y - 14.0,
                WIDTH - 8.0
            );
        }
        for (c, cell) in row.iter().enumerate() {
            let mut text = cell.label(spec.format);
            let fits = (width / 7.0) as usize;
            if text.chars().count() > fits {
                text = text.chars().take(fits.saturating_sub(1)).collect::<String>() + "…";
            }
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{y:.1}\" fill=\"#222222\">{}</text>",
                10.0 + width * c as f64,
                escape(&text)
            );
        }
    }
    if more > 0 {
        let _ = write!(
            svg,
            "<text x=\"10\" y=\"{:.1}\" fill=\"#555555\">… and {} more rows (download the CSV for all)</text>",
            height - 8.0,
            format_number(more as f64, NumberFormat::Count)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn funnel_chart(spec: &ChartSpec, table: &Table) -> Result<String, ChartError> {
    let number_column = (1..table.columns.len()).find(|&i| table.is_numeric(i));
    let (Some(reached), false) = (number_column, table.columns.is_empty()) else {
        return Err(shape_error(
            spec,
            table,
            "a step column, then the number who reached it",
        ));
    };
    if table.rows.is_empty() {
        return Ok(no_rows(spec));
    }
    let first = table.rows[0][reached].number().unwrap_or(0.0);
    let widest = table
        .rows
        .iter()
        .filter_map(|row| row[reached].number())
        .fold(0.0f64, f64::max)
        .max(1.0);
    let height = 16.0 + 40.0 * table.rows.len() as f64;
    let mut svg = open_svg(spec, height);
    let (left, span) = (170.0, WIDTH - 170.0 - 150.0);
    let mut previous: Option<f64> = None;
    for (i, row) in table.rows.iter().enumerate() {
        let value = row[reached].number().unwrap_or(0.0);
        let y = 10.0 + 40.0 * i as f64;
        let width = (value / widest * span).max(1.0);
        let of_first = if first > 0.0 { value / first } else { 0.0 };
        let label = row[0].label(spec.format);
        let mut hover = format!("{label}: {}", format_number(value, NumberFormat::Count));
        let _ = write!(
            hover,
            ", {} of the first step",
            format_number(of_first, NumberFormat::Percent)
        );
        if let Some(before) = previous.filter(|b| *b > 0.0) {
            let _ = write!(
                hover,
                ", {} of the step before",
                format_number(value / before, NumberFormat::Percent)
            );
        }
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#222222\">{}</text>\
             <rect x=\"{left}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"28\" fill=\"{}\"><title>{}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#222222\">{} ({})</text>",
            left - 8.0,
            y + 18.0,
            escape(&label),
            PALETTE[0],
            escape(&hover),
            left + width + 8.0,
            y + 18.0,
            escape(&format_number(value, NumberFormat::Count)),
            escape(&format_number(of_first, NumberFormat::Percent)),
        );
        previous = Some(value);
    }
    svg.push_str("</svg>");
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn spec(kind: ChartKind) -> ChartSpec {
        ChartSpec {
            kind,
            title: "Daily <active> users".into(),
            format: NumberFormat::Count,
        }
    }

    fn day(d: u32) -> Cell {
        Cell::Date(NaiveDate::from_ymd_opt(2026, 3, d).expect("a day"))
    }

    #[test]
    fn a_line_shows_each_value_on_hover_in_time_order() {
        let table = Table {
            columns: vec!["date".into(), "value".into()],
            rows: vec![vec![day(2), Cell::Number(1500.0)], vec![day(1), Cell::Number(1234.0)]],
        };
        let svg = render_svg(&spec(ChartKind::Line), &table).expect("drawn");
        let first = svg.find("Mar 1, 2026 · value: 1,234").expect("the first day's value");
        let second = svg.find("Mar 2, 2026 · value: 1,500").expect("the second day's value");
        assert!(first < second, "points in date order");
        assert!(svg.contains("Daily &lt;active&gt; users"), "the title escaped");
    }

    #[test]
    fn long_form_rows_become_stacked_series() {
        let table = Table {
            columns: vec!["date".into(), "client".into(), "value".into()],
            rows: vec![
                vec![day(1), Cell::Text("web".into()), Cell::Number(10.0)],
                vec![day(1), Cell::Text("ios".into()), Cell::Number(5.0)],
                vec![day(2), Cell::Text("web".into()), Cell::Number(12.0)],
            ],
        };
        let svg = render_svg(&spec(ChartKind::Bar), &table).expect("drawn");
        assert_eq!(svg.matches("<rect x=").count() - 2, 3, "three bars and two legend keys");
        assert!(svg.contains("ios · ") || svg.contains("· ios: 5"));
    }

    #[test]
    fn a_number_compares_with_the_previous_period_and_plan() {
        let table = Table {
            columns: vec!["value".into(), "previous".into(), "plan".into()],
            rows: vec![vec![Cell::Number(110.0), Cell::Number(100.0), Cell::Number(120.0)]],
        };
        let svg = render_svg(&spec(ChartKind::Number), &table).expect("drawn");
        assert!(svg.contains(">110<"));
        assert!(svg.contains("+10.0% vs previous period"));
        assert!(svg.contains("-8.3% vs plan"));
    }

    #[test]
    fn a_chart_whose_rows_do_not_fit_its_kind_is_an_error_naming_it() {
        let table = Table {
            columns: vec!["date".into(), "note".into()],
            rows: vec![vec![day(1), Cell::Text("x".into())]],
        };
        let error = render_svg(&spec(ChartKind::Line), &table).expect_err("text is not a series");
        assert!(error.to_string().contains("(date, note)"), "{error}");
    }

    #[test]
    fn a_funnel_shows_conversion_from_the_first_step() {
        let table = Table {
            columns: vec!["step".into(), "reached".into()],
            rows: vec![
                vec![Cell::Text("page_view".into()), Cell::Number(1000.0)],
                vec![Cell::Text("signup".into()), Cell::Number(250.0)],
            ],
        };
        let svg = render_svg(&spec(ChartKind::Funnel), &table).expect("drawn");
        assert!(svg.contains("250 (25.0%)"));
        assert!(svg.contains("25.0% of the step before"));
    }
}

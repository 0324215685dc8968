//! A chart's every row as CSV or XLSX (the page's downloads, email attachments).

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type};
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::error::DashboardError;
use crate::rows::ChartRows;

/// Rows in one XLSX sheet, less the header.
const XLSX_MAX_ROWS: usize = 1_048_575;

pub fn to_csv(rows: &ChartRows) -> Result<Vec<u8>, DashboardError> {
    let mut out = Vec::new();
    {
        let mut writer = arrow::csv::WriterBuilder::new().with_header(true).build(&mut out);
        if rows.batches.is_empty() {
            let empty = arrow::record_batch::RecordBatch::new_empty(rows.schema.clone());
            writer.write(&empty).map_err(csv_error)?;
        }
        for batch in &rows.batches {
            writer.write(batch).map_err(csv_error)?;
        }
    }
    Ok(out)
}

fn csv_error(e: arrow::error::ArrowError) -> DashboardError {
    DashboardError::Chart {
        chart: "csv".into(),
        message: e.to_string(),
    }
}

pub fn to_xlsx(rows: &ChartRows, sheet_name: &str) -> Result<Vec<u8>, DashboardError> {
    let xlsx = |e: rust_xlsxwriter::XlsxError| DashboardError::Xlsx { message: e.to_string() };
    if rows.row_count() > XLSX_MAX_ROWS {
        return Err(DashboardError::Xlsx {
            message: format!(
                "{} rows do not fit one sheet ({XLSX_MAX_ROWS} at most)",
                rows.row_count()
            ),
        });
    }
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    let name: String = sheet_name
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\'))
        .take(31)
        .collect();
    if !name.is_empty() {
        sheet.set_name(name).map_err(xlsx)?;
    }
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (c, field) in rows.schema.fields().iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, field.name(), &bold)
            .map_err(xlsx)?;
    }
    let options = FormatOptions::default();
    let mut row_index: u32 = 1;
    for batch in &rows.batches {
        for (c, array) in batch.columns().iter().enumerate() {
            let column = c as u16;
            if array.data_type().is_numeric()
                && let Ok(cast) = arrow::compute::cast(array, &DataType::Float64)
            {
                for (r, value) in cast.as_primitive::<Float64Type>().iter().enumerate() {
                    if let Some(value) = value.filter(|v| v.is_finite()) {
                        sheet.write_number(row_index + r as u32, column, value).map_err(xlsx)?;
                    }
                }
                continue;
            }
            let formatter = ArrayFormatter::try_new(array.as_ref(), &options)
                .map_err(|e| DashboardError::Xlsx { message: e.to_string() })?;
            for r in 0..array.len() {
                if array.is_valid(r) {
                    sheet
                        .write_string(row_index + r as u32, column, formatter.value(r).to_string())
                        .map_err(xlsx)?;
                }
            }
        }
        row_index += batch.num_rows() as u32;
    }
    workbook.save_to_buffer().map_err(xlsx)
}

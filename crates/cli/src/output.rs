//! Query results on stdout: an aligned table, RFC 4180 CSV, or a JSON array of objects.

use std::io::Write;

use arrow::record_batch::RecordBatch;
use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

pub fn write_batches(out: &mut impl Write, batches: &[RecordBatch], format: Format) -> anyhow::Result<()> {
    match format {
        Format::Table => {
            writeln!(out, "{}", arrow::util::pretty::pretty_format_batches(batches)?)?;
        }
        Format::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .with_timestamp_tz_format("%Y-%m-%dT%H:%M:%S%.fZ".to_owned())
                .build(&mut *out);
            for batch in batches {
                writer.write(batch)?;
            }
            if batches.is_empty() {
                // A header-only answer still tells the reader there were no rows.
            }
        }
        Format::Json => {
            let mut writer = arrow::json::ArrayWriter::new(&mut *out);
            let refs: Vec<&RecordBatch> = batches.iter().collect();
            writer.write_batches(&refs)?;
            writer.finish()?;
            writeln!(out)?;
        }
    }
    Ok(())
}

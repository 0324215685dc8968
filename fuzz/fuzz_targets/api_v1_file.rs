//! Any bytes, as a plain file and as a (possibly broken) gzip file: the reader must
//! not panic, and every line must be an event or a quarantined line.
#![no_main]

use std::io::Cursor;

use darkroom_logs::{ArchiveFile, ColumnSet, FileReader};
use libfuzzer_sys::fuzz_target;

fn check(file: &ArchiveFile, input: Box<dyn std::io::Read + Send>) {
    let mut reader = FileReader::from_reader(file, input, ColumnSet::all(), 64);
    let (mut events, mut rejected) = (0u64, 0u64);
    while let Some(chunk) = reader.next_chunk() {
        let chunk = chunk.expect("batches build");
        events += chunk.events.num_rows() as u64;
        rejected += chunk.rejected.len() as u64;
    }
    let stats = reader.stats();
    assert_eq!(stats.lines, events + rejected);
    assert_eq!(stats.events, events);
    assert_eq!(stats.rejected_lines, rejected);
}

fuzz_target!(|data: &[u8]| {
    let file = ArchiveFile::new(std::path::Path::new("/"), "/2015/02/10/10/api-01.log".into(), data.len() as u64);
    check(&file, Box::new(Cursor::new(data.to_vec())));
    let gz = flate2::read::MultiGzDecoder::new(Cursor::new(data.to_vec()));
    check(&file, Box::new(gz));
});

//! JSON: the report through serde, pretty-printed, one trailing newline.

use std::io::{self, Write};

use crate::report::DiffReport;

pub(super) fn render(report: &DiffReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}

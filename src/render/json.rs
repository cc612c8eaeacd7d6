//! JSON: the report through serde, pretty-printed, one trailing newline, unsafe characters
//! escaped (`sanitize::json`).

use std::io::{self, Write};

use crate::report::DiffReport;

pub(super) fn render(report: &DiffReport, out: &mut dyn Write) -> io::Result<()> {
    crate::sanitize::json::write(out, report)
}

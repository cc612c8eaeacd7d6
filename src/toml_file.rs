//! Shared machinery for the TOML files users write (rule files, fleet files): a span-carrying
//! tree walked key by key, problems collected as [`Diagnostic`]s with `file:line:column`, and
//! rendered the way codespan renders them, with the offending text underlined.

use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One problem in a file a user wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// File name as given.
    pub file: String,
    /// Byte range of the offending text.
    pub span: Range<usize>,
    /// What is wrong.
    pub message: String,
    /// Text under the underline.
    pub label: String,
    /// Hints.
    pub notes: Vec<String>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
}

/// Diagnostics rendered in full; the rest are counted (a file of 100,000 syntax errors is
/// read in linear time and told in a screenful).
pub const RENDERED_MAX: usize = 50;

/// Collects diagnostics for one file.
pub(crate) struct Ctx<'a> {
    pub name: &'a str,
    pub text: &'a str,
    pub diags: Vec<Diagnostic>,
    /// Where in `text` the spans being reported start: a large fleet file is parsed in pieces,
    /// each with spans of its own.
    pub offset: usize,
    /// Byte offsets where lines start, computed on the first diagnostic: positions are then a
    /// binary search, not a scan from the top per problem.
    line_starts: std::cell::OnceCell<Vec<usize>>,
}

impl<'a> Ctx<'a> {
    pub fn new(name: &'a str, text: &'a str) -> Self {
        Self {
            name,
            text,
            diags: Vec::new(),
            offset: 0,
            line_starts: std::cell::OnceCell::new(),
        }
    }

    /// 1-based line and column (in characters) of `offset`.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = starts.partition_point(|&s| s <= offset);
        let start = starts[line - 1];
        // Columns count characters; a pathological one-line file is bounded by its rendering
        // cap, not here.
        (line, self.text[start..offset].chars().count() + 1)
    }

    pub fn error(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) {
        self.error_with(span, message, label, Vec::new());
    }

    pub fn error_with(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
        notes: Vec<String>,
    ) {
        let span = span.start + self.offset..span.end + self.offset;
        let (line, column) = self.position(span.start);
        self.diags.push(Diagnostic {
            file: self.name.to_string(),
            span,
            message: message.into(),
            label: label.into(),
            notes,
            line,
            column,
        });
    }
}

pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

pub(crate) fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// The closest known key, for "did you mean".
pub(crate) fn suggest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::levenshtein(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| k)
}

/// One table of a user's file, read with type checks that report instead of failing.
pub(crate) struct TableView<'t, 'i> {
    pub table: &'t DeTable<'i>,
    pub span: Range<usize>,
}

impl<'i> TableView<'_, 'i> {
    pub fn get(&self, key: &str) -> Option<&Spanned<DeValue<'i>>> {
        self.table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v)
    }

    pub fn key_span(&self, key: &str) -> Range<usize> {
        self.table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(k, _)| k.span())
            .unwrap_or_else(|| self.span.clone())
    }

    /// A string value; wrong type → diagnostic, `None`.
    pub fn string(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<Spanned<String>> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::String(s) => Some(Spanned::new(v.span(), s.to_string())),
            other => {
                ctx.error(
                    v.span(),
                    format!("`{key}` must be a string, found {}", type_name(other)),
                    "expected a string",
                );
                None
            }
        }
    }

    /// A string or an array of strings.
    pub fn strings(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<Vec<Spanned<String>>> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::String(s) => Some(vec![Spanned::new(v.span(), s.to_string())]),
            DeValue::Array(items) => {
                let mut out = Vec::new();
                let mut ok = true;
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::String(s) => out.push(Spanned::new(item.span(), s.to_string())),
                        other => {
                            ctx.error(
                                item.span(),
                                format!("`{key}` must hold strings, found {}", type_name(other)),
                                "expected a string",
                            );
                            ok = false;
                        }
                    }
                }
                ok.then_some(out)
            }
            other => {
                ctx.error(
                    v.span(),
                    format!(
                        "`{key}` must be a string or an array of strings, found {}",
                        type_name(other)
                    ),
                    "expected a string or an array of strings",
                );
                None
            }
        }
    }

    /// A non-negative integer.
    pub fn integer(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<Spanned<u64>> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::Integer(i) => match u64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Some(Spanned::new(v.span(), n)),
                Err(_) => {
                    ctx.error(
                        v.span(),
                        format!("`{key}` must be a whole number ≥ 0"),
                        "not allowed here",
                    );
                    None
                }
            },
            other => {
                ctx.error(
                    v.span(),
                    format!("`{key}` must be a whole number, found {}", type_name(other)),
                    "expected a number",
                );
                None
            }
        }
    }

    /// A nested table.
    pub fn table(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<TableView<'_, 'i>> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::Table(t) => Some(TableView {
                table: t,
                span: v.span(),
            }),
            other => {
                ctx.error(
                    v.span(),
                    format!("`{key}` must be a table, found {}", type_name(other)),
                    "expected a table",
                );
                None
            }
        }
    }

    /// Reports every key not in `known`, with a "did you mean" when one is close, and returns
    /// the known keys it suggested (a misspelt required key should not also be "missing").
    /// `what` names the table in the message (`in a [[service]]`); empty for none.
    pub fn unknown_keys<'k>(
        &self,
        ctx: &mut Ctx<'_>,
        known: &[&'k str],
        what: &str,
    ) -> Vec<&'k str> {
        let mut suggested = Vec::new();
        for (k, _) in self.table.iter() {
            let key = k.get_ref().as_ref();
            if !known.contains(&key) {
                let notes = match suggest(key, known) {
                    Some(s) => {
                        suggested.push(s);
                        vec![format!("did you mean `{s}`?")]
                    }
                    None => vec![format!("known keys: {}", known.join(", "))],
                };
                let message = if what.is_empty() {
                    format!("unknown key `{key}`")
                } else {
                    format!("unknown key `{key}` in {what}")
                };
                ctx.error_with(k.span(), message, "unknown key", notes);
            }
        }
        suggested
    }

    pub fn flag(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<Spanned<bool>> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(Spanned::new(v.span(), *b)),
            other => {
                ctx.error(
                    v.span(),
                    format!("`{key}` must be `true`, found {}", type_name(other)),
                    "expected `true`",
                );
                None
            }
        }
    }
}

/// Renders diagnostics as codespan does: `error: …`, then `┌─ file:line:column` and the line
/// with the offending text underlined. Plain text, so logs and snapshots stay readable.
pub fn render(name: &str, text: &str, diagnostics: &[Diagnostic]) -> String {
    let mut files = SimpleFiles::new();
    let id = files.add(name, text);
    let config = term::Config::default();
    let mut out = String::new();
    for d in diagnostics.iter().take(RENDERED_MAX) {
        let diag = CsDiagnostic::error()
            .with_message(&d.message)
            .with_labels(vec![
                Label::primary(id, d.span.clone()).with_message(&d.label),
            ])
            .with_notes(d.notes.clone());
        match term::emit_into_string(&config, &files, &diag) {
            Ok(s) => out.push_str(&s),
            // A span past the end (never expected) still gets its message.
            Err(_) => out.push_str(&format!(
                "error: {}\n  at {}:{}:{}\n",
                d.message, d.file, d.line, d.column
            )),
        }
    }
    if diagnostics.len() > RENDERED_MAX {
        out.push_str(&format!(
            "error: … and {} more problems in `{name}` (the first {RENDERED_MAX} are shown)\n",
            diagnostics.len() - RENDERED_MAX
        ));
    }
    out
}

/// A rule or fleet file's bytes as text; invalid UTF-8 is named with its line and column
/// (1-based, in characters of the valid text before it).
pub fn utf8_text(name: &str, bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(&e.as_bytes()[..valid]);
        let (line, column) = line_col(&text, valid);
        format!("{name}:{line}:{column}: invalid UTF-8 (the file must be UTF-8 text)")
    })
}

//! The last step before stdout or a `--out` file: a writer that lets no unsafe character
//! through (what a renderer forgot to escape is shown escaped here) and turns bpdrift's style
//! marks into colour or nothing. Renderers never write an escape sequence; they mark a word
//! with [`paint`] and this writer decides, once for the run, whether a terminal sees colour.
//!
//! A mark is a Unicode tag character (`U+E0001` then one tag letter per [`Role`], `U+E007F` to
//! end it): zero columns wide, so tables measure painted cells right, and unsafe, so a value
//! holding one was already shown escaped by [`visible`](super::visible) before it got here.
//! Styles end at every line break.

use std::io::{self, Write};

const MARK: char = '\u{e0001}';
const END: char = '\u{e007f}';
/// Role `n` is the tag character `ROLE_BASE + n`.
const ROLE_BASE: u32 = 0xe0041;

/// What a painted word is; the colour follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Role {
    /// A section heading.
    Heading,
    /// An `error` finding.
    Error,
    /// A `warning` finding.
    Warning,
    /// An `info` finding.
    Info,
    /// A major version move, or something removed.
    Major,
    /// A minor version move.
    Minor,
    /// A patch (or revision, build) move, or something added.
    Patch,
    /// A version that went down.
    Downgrade,
}

impl Role {
    const ALL: [Role; 8] = [
        Role::Heading,
        Role::Error,
        Role::Warning,
        Role::Info,
        Role::Major,
        Role::Minor,
        Role::Patch,
        Role::Downgrade,
    ];

    fn style(self) -> anstyle::Style {
        use anstyle::{AnsiColor, Style};
        let fg = |c: AnsiColor| Style::new().fg_color(Some(c.into()));
        match self {
            Role::Heading => Style::new().bold(),
            Role::Error => fg(AnsiColor::Red).bold(),
            Role::Warning => fg(AnsiColor::Yellow),
            Role::Info => fg(AnsiColor::Cyan),
            Role::Major => fg(AnsiColor::Red),
            Role::Minor => fg(AnsiColor::Yellow),
            Role::Patch => fg(AnsiColor::Green),
            Role::Downgrade => fg(AnsiColor::Magenta),
        }
    }

    fn from_mark(c: char) -> Option<Role> {
        let n = u32::from(c).checked_sub(ROLE_BASE)?;
        Self::ALL.get(usize::try_from(n).ok()?).copied()
    }
}

/// `text` marked as `role`: coloured on a terminal with colour on, plain everywhere else.
/// Only for words of bpdrift's own (a severity, a change class, a heading), never for a value.
pub(crate) fn paint(role: Role, text: &str) -> String {
    let tag = char::from_u32(ROLE_BASE + role as u32).unwrap_or(END);
    format!("{MARK}{tag}{text}{END}")
}

/// `text` with its marks removed (what a file or a pipe gets).
pub(crate) fn unpainted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    render_into(&mut out, text, false, &mut None);
    out
}

/// Writes `text` to `out`: marks become SGR sequences when `colour`, else nothing; every other
/// unsafe character but `\n` is shown escaped. `open`: the style in effect across calls.
fn render_into(out: &mut String, text: &str, colour: bool, open: &mut Option<Role>) {
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            MARK => {
                let role = chars.clone().next().and_then(Role::from_mark);
                if let Some(role) = role {
                    chars.next();
                    if colour {
                        if open.is_some() {
                            out.push_str(&anstyle::Reset.render().to_string());
                        }
                        out.push_str(&role.style().render().to_string());
                    }
                    *open = Some(role);
                } else {
                    super::push_escaped(out, c);
                }
            }
            // With nothing open (a word wrapped inside a table cell: its style ended with the
            // line) the end is dropped; it is invisible either way.
            END => {
                if open.take().is_some() && colour {
                    out.push_str(&anstyle::Reset.render().to_string());
                }
            }
            '\n' => {
                if open.take().is_some() && colour {
                    out.push_str(&anstyle::Reset.render().to_string());
                }
                out.push('\n');
            }
            c if super::is_unsafe(c) => json_compatible(out, c),
            c => out.push(c),
        }
    }
}

/// What the guard writes for an unsafe character a renderer let through: a C0 control as
/// [`visible`](super::visible) shows it (`\e`, `\r`), anything else as JSON writes it
/// (`\u202e`, a surrogate pair above U+FFFF). Inside a JSON string (serde escapes C0 itself)
/// that is the same value, so even a document written without `sanitize::json` stays valid and
/// means what it meant.
fn json_compatible(out: &mut String, c: char) {
    if u32::from(c) < 0x7f {
        return super::push_escaped(out, c);
    }
    let mut units = [0u16; 2];
    for u in c.encode_utf16(&mut units) {
        out.push_str(&format!("\\u{u:04x}"));
    }
}

/// The writer in front of stdout and every file bpdrift writes a report to.
pub(crate) struct Guard<W: Write> {
    inner: W,
    colour: bool,
    /// The start of a UTF-8 sequence split across writes.
    pending: Vec<u8>,
    open: Option<Role>,
}

impl<W: Write> Guard<W> {
    /// `colour`: whether marks become colour (a terminal that wants it); decided once, by `cli`.
    pub(crate) fn new(inner: W, colour: bool) -> Self {
        Self {
            inner,
            colour,
            pending: Vec::new(),
            open: None,
        }
    }

    /// Writes what is pending (an incomplete UTF-8 sequence at the very end, as U+FFFD) and
    /// returns the inner writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        if !self.pending.is_empty() {
            let rest = String::from_utf8_lossy(&std::mem::take(&mut self.pending)).into_owned();
            self.emit(&rest)?;
        }
        if self.open.take().is_some() && self.colour {
            write!(self.inner, "{}", anstyle::Reset.render())?;
        }
        self.inner.flush()?;
        Ok(self.inner)
    }

    fn emit(&mut self, text: &str) -> io::Result<()> {
        let mut out = String::with_capacity(text.len());
        render_into(&mut out, text, self.colour, &mut self.open);
        self.inner.write_all(out.as_bytes())
    }
}

impl<W: Write> Write for Guard<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        let bytes = std::mem::take(&mut self.pending);
        let mut rest: &[u8] = &bytes;
        let mut text = String::with_capacity(bytes.len());
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    text.push_str(s);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    text.push_str(std::str::from_utf8(good).unwrap_or_default());
                    match e.error_len() {
                        // Not UTF-8: shown as U+FFFD, as a terminal would.
                        Some(n) => {
                            text.push(char::REPLACEMENT_CHARACTER);
                            rest = &bad[n..];
                        }
                        // Cut in the middle of a character: wait for the rest.
                        None => {
                            rest = bad;
                            break;
                        }
                    }
                }
            }
        }
        self.pending = rest.to_vec();
        self.emit(&text)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Whether a report on stdout gets colour, as ripgrep decides it: `--color always` and `never`
/// are obeyed; `auto` colours a terminal only, never when `NO_COLOR` is set (non-empty), always
/// when `CLICOLOR_FORCE` is (non-empty, not `0`), and not on `TERM=dumb`. `NO_COLOR` wins over
/// `CLICOLOR_FORCE` (<https://no-color.org>: user configuration beats defaults).
pub(crate) fn colour_for(
    choice: ColorChoice,
    is_terminal: bool,
    var: &dyn Fn(&str) -> Option<String>,
) -> bool {
    let set = |k: &str| var(k).is_some_and(|v| !v.is_empty());
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if set("NO_COLOR") => false,
        ColorChoice::Auto
            if set("CLICOLOR_FORCE") && var("CLICOLOR_FORCE").as_deref() != Some("0") =>
        {
            true
        }
        ColorChoice::Auto => is_terminal && var("TERM").as_deref() != Some("dumb"),
    }
}

/// `--color`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    // No doc comments: clap lists the three values on one line.
    #[default]
    Auto,
    Always,
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(colour: bool, chunks: &[&[u8]]) -> String {
        let mut g = Guard::new(Vec::new(), colour);
        for c in chunks {
            g.write_all(c).unwrap();
        }
        String::from_utf8(g.finish().unwrap()).unwrap()
    }

    #[test]
    fn marks_become_colour_or_nothing() {
        let text = format!("{} x\n", paint(Role::Error, "error"));
        assert_eq!(through(false, &[text.as_bytes()]), "error x\n");
        assert_eq!(
            through(true, &[text.as_bytes()]),
            "\u{1b}[1m\u{1b}[31merror\u{1b}[0m x\n"
        );
        assert_eq!(unpainted(&text), "error x\n");
    }

    #[test]
    fn nothing_unsafe_passes_and_split_characters_are_kept() {
        let s = "a\u{1b}]52;c;eA==\u{7}\r\u{202e}é\n".as_bytes();
        // Split inside `é` (two bytes).
        let cut = s.len() - 2;
        let out = through(true, &[&s[..cut], &s[cut..]]);
        assert_eq!(out, "a\\e]52;c;eA==\\u{7}\\r\\u202eé\n");
        // A JSON document that bypassed `sanitize::json` stays valid, with the same value.
        let doc = "{\"k\": \"a\u{202e}\u{9b}\u{7f}\u{e0041}\"}\n";
        let guarded = through(false, &[doc.as_bytes()]);
        let v: serde_json::Value = serde_json::from_str(&guarded).unwrap();
        assert_eq!(v["k"], "a\u{202e}\u{9b}\u{7f}\u{e0041}");
        assert_eq!(through(false, &[b"\xff\n"]), "\u{fffd}\n");
    }

    #[test]
    fn styles_end_at_line_breaks() {
        let unterminated = format!("{}\u{e0041}x\ny", MARK);
        assert_eq!(
            through(true, &[unterminated.as_bytes()]),
            "\u{1b}[1mx\u{1b}[0m\ny"
        );
        // A painted word wrapped by its table: the end on the next line is dropped.
        let word = paint(Role::Warning, "warnin");
        let wrapped = format!("{}\ng{END} |", word.trim_end_matches(END));
        assert_eq!(through(false, &[wrapped.as_bytes()]), "warnin\ng |");
    }

    #[test]
    fn painted_cells_measure_as_their_text() {
        let mut t = comfy_table::Table::new();
        t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
            .set_header(vec!["SEVERITY", "RULE"]);
        t.add_row(vec![paint(Role::Warning, "warning"), "r".into()]);
        t.add_row(vec!["info".to_string(), "rule-two".into()]);
        let plain = unpainted(&t.to_string());
        let widths: Vec<usize> = plain.lines().map(|l| l.chars().count()).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{plain}");
    }

    #[test]
    fn colour_choice_as_ripgrep() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let none = env(&[]);
        assert!(colour_for(ColorChoice::Auto, true, &none));
        assert!(!colour_for(ColorChoice::Auto, false, &none));
        assert!(colour_for(ColorChoice::Always, false, &none));
        assert!(!colour_for(ColorChoice::Never, true, &none));
        assert!(!colour_for(
            ColorChoice::Auto,
            true,
            &env(&[("NO_COLOR", "1")])
        ));
        assert!(colour_for(
            ColorChoice::Auto,
            false,
            &env(&[("CLICOLOR_FORCE", "1")])
        ));
        assert!(!colour_for(
            ColorChoice::Auto,
            false,
            &env(&[("CLICOLOR_FORCE", "0")])
        ));
        assert!(!colour_for(
            ColorChoice::Auto,
            true,
            &env(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")])
        ));
        assert!(!colour_for(
            ColorChoice::Auto,
            true,
            &env(&[("TERM", "dumb")])
        ));
        assert!(colour_for(
            ColorChoice::Always,
            true,
            &env(&[("NO_COLOR", "1")])
        ));
    }
}

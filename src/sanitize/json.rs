//! Every JSON document bpdrift writes, pretty-printed by serde with one change: each character
//! [`is_unsafe`](super::is_unsafe) names is written as a `\uXXXX` escape (serde escapes only
//! C0). The value reads back identical; the bytes hold no C1 control, bidi override or
//! zero-width character for a terminal or a log to act on.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter};

/// serde_json's pretty printer, escaping unsafe characters inside strings.
struct Escaping<'a>(PrettyFormatter<'a>);

impl Formatter for Escaping<'_> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if !super::is_unsafe(c) {
                continue;
            }
            w.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                write!(w, "\\u{u:04x}")?;
            }
            start = i + c.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// `value` as pretty JSON followed by a newline: the one way bpdrift writes a JSON document.
pub(crate) fn write<T: Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    let mut ser =
        serde_json::Serializer::with_formatter(&mut *out, Escaping(PrettyFormatter::new()));
    value.serialize(&mut ser).map_err(io::Error::from)?;
    writeln!(out)
}

/// [`write`] into a string.
pub(crate) fn to_string<T: Serialize + ?Sized>(value: &T) -> io::Result<String> {
    let mut buf = Vec::new();
    write(&mut buf, value)?;
    String::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_characters_are_escaped_and_read_back() {
        let v = serde_json::json!({"k\u{202e}": ["a\u{1b}[31m\u{9b}\u{2028}\u{e0041}é→", 1]});
        let text = to_string(&v).unwrap();
        assert!(
            text.chars()
                .all(|c| c == '\n' || !crate::sanitize::is_unsafe(c)),
            "{text}"
        );
        assert!(
            text.contains(r"\u202e") && text.contains(r"\udb40\udc41"),
            "{text}"
        );
        assert!(text.contains("é→"), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
        // The same layout as serde's own pretty printer.
        let plain = serde_json::json!({"a": [1, {"b": "c"}], "d": {}});
        assert_eq!(
            to_string(&plain).unwrap(),
            format!("{}\n", serde_json::to_string_pretty(&plain).unwrap())
        );
    }
}

//! The few pieces of Go behaviour the calculator's results depend on: `strconv.Atoi`,
//! `strconv.ParseUint`, `strconv.Quote` (for error texts) and `mattn/go-shellwords` v1.0.12
//! `Parse` (the version pinned by libjvm v1.43.1 `go.mod`).
//!
//! They are ported by hand, not approximated with Rust's parsers, because the edge cases differ:
//! `u32::from_str` accepts `+10` where `ParseUint` does not, and shellwords stops at an unquoted
//! `;`/`|`/`&`/`<`/`>` and rejects an unquoted `(`, which decides which `JAVA_TOOL_OPTIONS` flags the
//! calculator sees.

use std::fmt;

/// Why a Go `strconv` parse failed (`strconv.ErrSyntax` / `strconv.ErrRange`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumErrorKind {
    /// `invalid syntax`
    Syntax,
    /// `value out of range`
    Range,
}

/// Go's `*strconv.NumError`; its `Display` is Go's `Error()`:
/// `strconv.Atoi: parsing "abc": invalid syntax`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumError {
    /// `Atoi`, `ParseInt` or `ParseUint`.
    pub func: &'static str,
    /// The text that was parsed.
    pub num: String,
    /// Syntax or range.
    pub kind: NumErrorKind,
}

impl fmt::Display for NumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.kind {
            NumErrorKind::Syntax => "invalid syntax",
            NumErrorKind::Range => "value out of range",
        };
        write!(
            f,
            "strconv.{}: parsing {}: {why}",
            self.func,
            quote(&self.num)
        )
    }
}

impl std::error::Error for NumError {}

fn num_error(func: &'static str, num: &str, kind: NumErrorKind) -> NumError {
    NumError {
        func,
        num: num.to_owned(),
        kind,
    }
}

/// Go `strconv.ParseUint(s, 10, bits)`: ASCII digits only (no sign, no `_`), a range error as
/// soon as the value passes `2^bits - 1` even if an invalid character follows.
fn parse_uint(s: &str, bits: u32) -> Result<u64, NumErrorKind> {
    if s.is_empty() {
        return Err(NumErrorKind::Syntax);
    }
    let max = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let mut n: u64 = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return Err(NumErrorKind::Syntax);
        }
        n = match n
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
        {
            Some(v) if v <= max => v,
            _ => return Err(NumErrorKind::Range),
        };
    }
    Ok(n)
}

/// Go `strconv.ParseUint(s, 10, 32)`, as libjvm uses it for `BPL_JVM_CLASS_ADJUSTMENT=NN%`.
pub fn parse_uint32(s: &str) -> Result<u64, NumError> {
    parse_uint(s, 32).map_err(|kind| num_error("ParseUint", s, kind))
}

/// Go `strconv.Atoi` on a 64-bit platform (`int` is 64 bits): optional `+`/`-`, ASCII digits.
pub fn atoi(s: &str) -> Result<i64, NumError> {
    let err = |kind| num_error("Atoi", s, kind);
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    // Atoi's fast path (len < 19) can only fail with a syntax error; the slow path goes through
    // ParseInt → ParseUint, whose range/syntax precedence `parse_uint` reproduces.
    let un = parse_uint(digits, 64).map_err(err)?;
    let limit = 1u64 << 63;
    if (!neg && un >= limit) || (neg && un > limit) {
        return Err(err(NumErrorKind::Range));
    }
    Ok(if neg {
        (un as i64).wrapping_neg()
    } else {
        un as i64
    })
}

/// Go `strconv.Quote`, used by `%q` in libjvm's and strconv's error texts. Printable characters
/// are kept; `"` and `\` are escaped; control characters use Go's short or `\x`/`\u` escapes.
/// Go's `unicode.IsPrint` is approximated: every non-control, non-space character except the
/// common invisible format characters counts as printable.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            ' ' => out.push(' '),
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

fn is_go_printable(c: char) -> bool {
    !c.is_control()
        && !c.is_whitespace()
        && !matches!(
            c,
            '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
                | '\u{feff}'
        )
}

/// The only error go-shellwords `Parse` returns with backticks and env expansion off:
/// an unterminated quote, escape or `$(`, or an unquoted `(` that does not follow `$`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid command line string")]
pub struct ShellwordsError;

/// go-shellwords v1.0.12 `Parse` with its defaults (`ParseEnv` and `ParseBacktick` false).
///
/// Quirks kept on purpose, because they decide which flags the calculator sees:
/// * only space, tab, CR and LF separate words;
/// * a backslash escapes the next character everywhere except inside single quotes (so `"a\"b"`
///   is `a"b`);
/// * backticks and `$( … )` are kept literally but quote their content;
/// * an unquoted `;`, `&`, `|`, `<` or `>` ends parsing: the rest of the line is dropped, and for
///   `>` a word starting with a digit (a redirect like `2>`) is dropped too;
/// * an unquoted `(` not preceded by `$` is an error, and so is an unbalanced `)`.
pub fn shellwords(line: &str) -> Result<Vec<String>, ShellwordsError> {
    #[derive(PartialEq)]
    enum Got {
        No,
        Single,
        Quoted,
    }
    let mut args = Vec::new();
    let mut buf = String::new();
    let (mut escaped, mut double, mut single, mut back, mut dollar) =
        (false, false, false, false, false);
    let mut got = Got::No;

    for r in line.chars() {
        if escaped {
            buf.push(r);
            escaped = false;
            got = Got::Single;
            continue;
        }
        if r == '\\' {
            if single {
                buf.push(r);
            } else {
                escaped = true;
            }
            continue;
        }
        if matches!(r, ' ' | '\t' | '\r' | '\n') {
            if single || double || back || dollar {
                buf.push(r);
            } else if got != Got::No {
                args.push(std::mem::take(&mut buf));
                got = Got::No;
            }
            continue;
        }
        // A guard that does not hold falls through to `_`: the character is kept, as in Go's
        // switch, whose cases only act when not quoted.
        match r {
            '`' if !single && !double && !dollar => back = !back,
            ')' if !single && !double && !back => dollar = !dollar,
            '(' if !single && !double && !back => {
                if !dollar && buf.ends_with('$') {
                    dollar = true;
                    buf.push('(');
                    continue;
                }
                return Err(ShellwordsError);
            }
            '"' if !single && !dollar => {
                if double {
                    got = Got::Quoted;
                }
                double = !double;
                continue;
            }
            '\'' if !double && !dollar => {
                if single {
                    got = Got::Quoted;
                }
                single = !single;
                continue;
            }
            ';' | '&' | '|' | '<' | '>' if !(single || double || back || dollar) => {
                if r == '>' && buf.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                    got = Got::No;
                }
                break;
            }
            _ => {}
        }
        got = Got::Single;
        buf.push(r);
    }

    if got != Got::No {
        args.push(buf);
    }
    if escaped || single || double || back || dollar {
        return Err(ShellwordsError);
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_matches_go() {
        assert_eq!(atoi("250"), Ok(250));
        assert_eq!(atoi("+7"), Ok(7));
        assert_eq!(atoi("-40"), Ok(-40));
        assert_eq!(atoi("007"), Ok(7));
        assert_eq!(atoi("9223372036854775807"), Ok(i64::MAX));
        assert_eq!(atoi("-9223372036854775808"), Ok(i64::MIN));
        for bad in ["", "-", "+", "1_000", "1e3", " 1", "1 ", "0x10", "10%", "١"] {
            assert_eq!(atoi(bad).unwrap_err().kind, NumErrorKind::Syntax, "{bad:?}");
        }
        for big in [
            "9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999",
            // ParseUint reports the overflow before it reaches the invalid character.
            "99999999999999999999x",
        ] {
            assert_eq!(atoi(big).unwrap_err().kind, NumErrorKind::Range, "{big:?}");
        }
        assert_eq!(
            atoi("abc").unwrap_err().to_string(),
            r#"strconv.Atoi: parsing "abc": invalid syntax"#
        );
        assert_eq!(
            atoi("99999999999999999999").unwrap_err().to_string(),
            r#"strconv.Atoi: parsing "99999999999999999999": value out of range"#
        );
    }

    #[test]
    fn parse_uint32_matches_go() {
        assert_eq!(parse_uint32("110"), Ok(110));
        assert_eq!(parse_uint32("4294967295"), Ok(4_294_967_295));
        assert_eq!(
            parse_uint32("4294967296").unwrap_err().kind,
            NumErrorKind::Range
        );
        assert_eq!(parse_uint32("+10").unwrap_err().kind, NumErrorKind::Syntax);
        assert_eq!(
            parse_uint32("-40").unwrap_err().to_string(),
            r#"strconv.ParseUint: parsing "-40": invalid syntax"#
        );
    }

    #[test]
    fn quote_matches_go() {
        assert_eq!(quote("abc"), r#""abc""#);
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quote("\t\n\u{0}\u{7f}"), r#""\t\n\x00\x7f""#);
        assert_eq!(quote("é\u{a0}"), "\"é\\u00a0\"");
    }

    fn words(s: &str) -> Vec<String> {
        shellwords(s).unwrap()
    }

    #[test]
    fn shellwords_matches_go_shellwords() {
        assert_eq!(words(""), Vec::<String>::new());
        assert_eq!(words("  -Xss1M \t -Xmx1G\n"), ["-Xss1M", "-Xmx1G"]);
        assert_eq!(words(r#"-Da="x y" 'b c' d\ e"#), ["-Da=x y", "b c", "d e"]);
        assert_eq!(words(r#""a\"b" 'a\b'"#), ["a\"b", "a\\b"]);
        assert_eq!(words(r#""" ''"#), ["", ""]);
        assert_eq!(words(r#""-Xmx1g ""#), ["-Xmx1g "]);
        // Parsing stops at an unquoted operator; the rest of the line is not seen.
        assert_eq!(words("-Xss1M; -Xmx1G"), ["-Xss1M"]);
        assert_eq!(words("-Da=b|c -Xmx1G"), ["-Da=b"]);
        assert_eq!(words("-Xss1M 2>/dev/null -Xmx1G"), ["-Xss1M"]);
        assert_eq!(words("-Xss1M x>y"), ["-Xss1M", "x"]);
        assert_eq!(words("'a;b' \"c|d\""), ["a;b", "c|d"]);
        // Backticks and $( ) are kept literally and quote their content.
        assert_eq!(words("`a b` $(c d)"), ["`a b`", "$(c d)"]);
        for bad in [
            "\"open",
            "'open",
            "trailing\\",
            "-Da=(b)",
            "x)",
            "`x",
            "$(x",
        ] {
            assert_eq!(shellwords(bad), Err(ShellwordsError), "{bad:?}");
        }
        assert_eq!(ShellwordsError.to_string(), "invalid command line string");
    }
}

//! libjvm's `calc.Size`: a byte count with Go's parse and print rules (`calc/size.go`).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::go::quote;

/// One kibibyte (`calc.Kibi`).
pub const KIB: i64 = 1024;
/// One mebibyte (`calc.Mebi`).
pub const MIB: i64 = 1024 * KIB;
/// One gibibyte (`calc.Gibi`).
pub const GIB: i64 = 1024 * MIB;
/// One tebibyte (`calc.Tebi`).
pub const TIB: i64 = 1024 * GIB;

/// `SizeRE.String()` (`calc/size.go` L39–L42), quoted in libjvm's parse errors.
pub const SIZE_PATTERN: &str = r"^([\d]+)([kmgtKMGT]?)$";

/// A memory size in bytes.
///
/// `Display` is libjvm's `calc.Size.String()` (`calc/size.go` L78–L98): the value is floored to
/// whole KiB and printed in the largest unit that divides it exactly, checked in T, G, M, K order,
/// so 10 MiB is `10M`, 123,272,000 B is `120382K` and anything under 1 KiB is `0`. Every size in
/// libjvm's flags and error messages goes through it, which is why predicted output compares
/// byte for byte with a container's log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Size(pub i64);

/// Why a size did not parse. The `Display` texts are libjvm's `calc.ParseSize` errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// Not digits with an optional `k`/`m`/`g`/`t` suffix (either case), e.g. `512MB` or `-1`.
    #[error("memory size {} does not match pattern {}", quote(.0), quote(SIZE_PATTERN))]
    Pattern(String),
    /// The digits do not fit an `int64`.
    #[error("memory size {} is not an integer", quote(.0))]
    NotInteger(String),
    /// Only from [`Size::from_str`]: the value times its unit does not fit an `int64`. libjvm
    /// itself does not check this; Go's multiplication wraps, which [`Size::parse`] reproduces.
    #[error("memory size {} is larger than {} bytes", quote(.0), i64::MAX)]
    TooLarge(String),
}

/// Splits a trimmed size into its digits and unit multiplier if it fully matches
/// `^([\d]+)([kmgtKMGT]?)$` (Go's `\d` is ASCII only).
pub(crate) fn match_size(t: &str) -> Option<(&str, i64)> {
    let end = t
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(t.len());
    if end == 0 {
        return None;
    }
    let (digits, unit) = t.split_at(end);
    let multiplier = match unit {
        "" => 1,
        "k" | "K" => KIB,
        "m" | "M" => MIB,
        "g" | "G" => GIB,
        "t" | "T" => TIB,
        _ => return None,
    };
    Some((digits, multiplier))
}

impl Size {
    /// libjvm's `calc.ParseSize` (`calc/size.go` L51–L76): trims white space, then requires
    /// `^([\d]+)([kmgtKMGT]?)$`; units are binary (`1k` = 1024). Like Go, the multiplication by
    /// the unit wraps on overflow, so `16777216T` parses to a negative number exactly as libjvm
    /// would read it from a cgroup file or a flag. Use [`str::parse`] to reject such values.
    pub fn parse(s: &str) -> Result<Size, SizeError> {
        let t = s.trim();
        let (digits, multiplier) = match_size(t).ok_or_else(|| SizeError::Pattern(t.to_owned()))?;
        let n: i64 = digits
            .parse()
            .map_err(|_| SizeError::NotInteger(digits.to_owned()))?;
        Ok(Size(n.wrapping_mul(multiplier)))
    }
}

/// Parses like [`Size::parse`] (`512M`, `616300K`, `1G`, `1073741824`) but rejects values whose
/// byte count overflows instead of wrapping, for sizes a user types.
impl FromStr for Size {
    type Err = SizeError;

    fn from_str(s: &str) -> Result<Size, SizeError> {
        let t = s.trim();
        let size = Size::parse(t)?;
        let (digits, multiplier) = match_size(t).ok_or_else(|| SizeError::Pattern(t.to_owned()))?;
        let n: i64 = digits
            .parse()
            .map_err(|_| SizeError::NotInteger(digits.to_owned()))?;
        n.checked_mul(multiplier)
            .ok_or_else(|| SizeError::TooLarge(t.to_owned()))?;
        Ok(size)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Go's `/` and `%` truncate toward zero like Rust's, so negative sizes (possible only
        // after wrapping arithmetic) print the same as in Go.
        let b = self.0 / KIB;
        if b == 0 {
            f.write_str("0")
        } else if b % GIB == 0 {
            write!(f, "{}T", b / GIB)
        } else if b % MIB == 0 {
            write!(f, "{}G", b / MIB)
        } else if b % KIB == 0 {
            write!(f, "{}M", b / KIB)
        } else {
            write!(f, "{b}K")
        }
    }
}

/// Why a size a user typed (`--memory`) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserSizeError {
    /// Not a number with an optional unit.
    #[error(
        "`{0}` is not a memory size: expected a number with an optional unit, e.g. `512M`, `512MB`, `512Mi`, `1.5G`, `616300K` or bytes"
    )]
    Syntax(String),
    /// A negative size.
    #[error("`{0}` is negative: a container memory limit must be greater than zero")]
    Negative(String),
    /// Zero (or under one byte).
    #[error("`{0}` is zero: a container memory limit must be greater than zero")]
    Zero(String),
    /// More bytes than fit an `int64`.
    #[error("`{0}` is larger than {max} bytes", max = i64::MAX)]
    TooLarge(String),
}

/// A size as users type it: `616300K`, `512M`, `512MB`, `512Mi`, `512MiB`, `1G`, `1Gi`, `1.5G`,
/// `1073741824` (bytes), `512m`. Every unit is binary (`M` = `MB` = `Mi` = 1024²), as in the
/// memory calculator, `docker run --memory` and `/proc/meminfo`. Fractions are floored to whole
/// bytes; zero and negative sizes are refused (no container starts with them).
pub fn parse_user(s: &str) -> Result<Size, UserSizeError> {
    let t = s.trim();
    if t.starts_with('-') {
        return Err(UserSizeError::Negative(t.to_owned()));
    }
    let end = t
        .bytes()
        .position(|b| !(b.is_ascii_digit() || b == b'.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(end);
    let multiplier: i64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "ki" | "kib" => KIB,
        "m" | "mb" | "mi" | "mib" => MIB,
        "g" | "gb" | "gi" | "gib" => GIB,
        "t" | "tb" | "ti" | "tib" => TIB,
        _ => return Err(UserSizeError::Syntax(t.to_owned())),
    };
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() && frac.is_empty()
        || frac.contains('.')
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(UserSizeError::Syntax(t.to_owned()));
    }
    let too_large = || UserSizeError::TooLarge(t.to_owned());
    let whole: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| too_large())?
    };
    let mut bytes = whole.checked_mul(multiplier).ok_or_else(too_large)?;
    if !frac.is_empty() {
        // Exact: frac / 10^len × multiplier, floored; at most 18 digits are kept.
        let digits = &frac[..frac.len().min(18)];
        let f: i128 = digits.parse().map_err(|_| too_large())?;
        let part = f * i128::from(multiplier) / 10i128.pow(digits.len() as u32);
        bytes = bytes
            .checked_add(i64::try_from(part).map_err(|_| too_large())?)
            .ok_or_else(too_large)?;
    }
    if bytes == 0 {
        return Err(UserSizeError::Zero(t.to_owned()));
    }
    Ok(Size(bytes))
}

/// libjvm's `calc.ParseUnit` (`calc/size.go` L102–L117), used for the unit after the
/// `MemAvailable` number in `/proc/meminfo`. All units are binary: `kB` is 1024 bytes.
pub(crate) fn parse_unit(u: &str) -> Result<i64, String> {
    match u.trim() {
        "kB" | "KB" | "KiB" => Ok(KIB),
        "MB" | "MiB" => Ok(MIB),
        "GB" | "GiB" => Ok(GIB),
        "TB" | "TiB" => Ok(TIB),
        "B" | "" => Ok(1),
        _ => Err(format!("unrecognized unit {}", quote(u))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 14: what users type for `--memory`.
    #[test]
    fn user_sizes() {
        for (text, bytes) in [
            ("616300K", 616_300 * KIB),
            ("512M", 512 * MIB),
            ("512m", 512 * MIB),
            ("512MB", 512 * MIB),
            ("512Mi", 512 * MIB),
            ("512MiB", 512 * MIB),
            ("1G", GIB),
            ("1Gi", GIB),
            ("1.5G", 3 * GIB / 2),
            ("0.5Gi", GIB / 2),
            ("1073741824", GIB),
            ("2048B", 2 * KIB),
            (" 1g ", GIB),
        ] {
            assert_eq!(parse_user(text), Ok(Size(bytes)), "{text}");
        }
        for (text, want) in [
            ("0", UserSizeError::Zero("0".into())),
            ("0M", UserSizeError::Zero("0M".into())),
            ("-1G", UserSizeError::Negative("-1G".into())),
            ("lots", UserSizeError::Syntax("lots".into())),
            ("1.2.3G", UserSizeError::Syntax("1.2.3G".into())),
            ("12X", UserSizeError::Syntax("12X".into())),
            (
                "99999999999T",
                UserSizeError::TooLarge("99999999999T".into()),
            ),
        ] {
            assert_eq!(parse_user(text), Err(want), "{text}");
        }
        assert_eq!(
            parse_user("0").unwrap_err().to_string(),
            "`0` is zero: a container memory limit must be greater than zero"
        );
    }

    /// libjvm v1.43.1 `calc/size_test.go` "format".
    #[test]
    fn formats_like_libjvm() {
        assert_eq!(Size(1023).to_string(), "0");
        assert_eq!(Size(KIB + 1023).to_string(), "1K");
        assert_eq!(Size(MIB + 1023).to_string(), "1M");
        assert_eq!(Size(GIB + 1023).to_string(), "1G");
        assert_eq!(Size(TIB + 1023).to_string(), "1T");
        assert_eq!(Size(TIB * 1024 + 1023).to_string(), "1024T");
        // Values from the incident and the report.
        assert_eq!(Size(10 * MIB).to_string(), "10M");
        assert_eq!(Size(123_272_000).to_string(), "120382K");
        assert_eq!(Size(512 * MIB).to_string(), "512M");
        assert_eq!(Size(647_560_000).to_string(), "632382K");
        assert_eq!(Size(616_300 * KIB).to_string(), "616300K");
        assert_eq!(Size(1536 * MIB).to_string(), "1536M");
        assert_eq!(Size(-2048).to_string(), "-2K");
    }

    /// libjvm v1.43.1 `calc/size_test.go` "parse".
    #[test]
    fn parses_like_libjvm() {
        assert_eq!(Size::parse("1"), Ok(Size(1)));
        for (s, v) in [
            ("1k", KIB),
            ("1K", KIB),
            ("1m", MIB),
            ("1M", MIB),
            ("1g", GIB),
            ("1G", GIB),
            ("1t", TIB),
            ("1T", TIB),
            ("0", 0),
            ("\t\r\n 1", 1),
            ("1 \t\r\n", 1),
            ("512M", 512 * MIB),
            ("616300K", 616_300 * KIB),
            ("9223372036854771712", 9_223_372_036_854_771_712),
        ] {
            assert_eq!(Size::parse(s), Ok(Size(v)), "{s:?}");
            assert_eq!(s.parse::<Size>(), Ok(Size(v)), "{s:?}");
        }
        for bad in ["", "-1", "1A", "0x1", "1.0", "1 0", "512MB", "1KiB", "١"] {
            assert!(
                matches!(Size::parse(bad), Err(SizeError::Pattern(_))),
                "{bad:?}"
            );
        }
        assert_eq!(
            Size::parse("512MB").unwrap_err().to_string(),
            r#"memory size "512MB" does not match pattern "^([\\d]+)([kmgtKMGT]?)$""#
        );
        assert_eq!(
            Size::parse("99999999999999999999K")
                .unwrap_err()
                .to_string(),
            r#"memory size "99999999999999999999" is not an integer"#
        );
    }

    #[test]
    fn overflow_wraps_like_go_but_from_str_rejects_it() {
        assert_eq!(Size::parse("8388608T"), Ok(Size(i64::MIN)));
        assert_eq!(
            "8388608T".parse::<Size>(),
            Err(SizeError::TooLarge("8388608T".into()))
        );
        assert_eq!("8388607T".parse::<Size>(), Ok(Size(8_388_607 * TIB)));
    }

    /// libjvm v1.43.1 `calc/size_test.go` ParseUnit cases.
    #[test]
    fn parses_units_like_libjvm() {
        for (u, v) in [
            ("", 1),
            ("B", 1),
            ("kB", KIB),
            ("KB", KIB),
            ("KiB", KIB),
            ("MB", MIB),
            ("MiB", MIB),
            ("GB", GIB),
            ("GiB", GIB),
            ("TB", TIB),
            ("TiB", TIB),
            ("\t\r\n kB", KIB),
            ("GB \t\r\n", GIB),
        ] {
            assert_eq!(parse_unit(u), Ok(v), "{u:?}");
        }
        assert_eq!(parse_unit("X"), Err(r#"unrecognized unit "X""#.to_owned()));
    }
}

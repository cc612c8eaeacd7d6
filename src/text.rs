//! Numbers and digests as people read them, shared by the verdict (`report`) and every
//! renderer. Pure.

/// `1.2 MiB`-style sizes, exact below 1 KiB.
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `sha256:0123456789ab` (12 hex digits), enough to tell images apart on screen.
pub(crate) fn short_digest(d: &str) -> String {
    // Only the image header lines use this; cells use `shorten_digests`.
    // By characters: a digest read from a hand-made layout need not be hex (and must not panic).
    match d.split_once(':') {
        Some((alg, hex)) => match hex.char_indices().nth(12) {
            Some((end, _)) => format!("{alg}:{}", &hex[..end]),
            None => d.to_string(),
        },
        None => d.to_string(),
    }
}

/// `1 warning`, `2 warnings`: every count in every format goes through here.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

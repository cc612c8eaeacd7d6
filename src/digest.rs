//! Content digests as OCI writes them (`sha256:<lowercase hex>`). Pure.

use sha2::{Digest, Sha256};

/// Lowercase hex of `bytes`: the one encoder digests and short hashes use.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

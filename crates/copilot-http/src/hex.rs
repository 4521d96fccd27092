//! Lowercase hex, the one encoding of digests and random ids across the workspace (cache names, lease ids,
//! key digests, temporary file names).

use std::fmt::Write;

/// `bytes` as lowercase hex, two digits a byte.
///
/// ```
/// assert_eq!(copilot_http::hex::encode([0x00, 0xab, 0x7f]), "00ab7f");
/// ```
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    let bytes = bytes.as_ref();
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
    out
}

//! Stable identifiers: the document UUID, namespace URI, short hashes and the
//! character-set sanitizing SPDX ids need.

use sha2::{Digest as _, Sha256};
use stella_model::{Component, Inventory};
use uuid::Uuid;

/// The UUIDv5 namespace under which Stella names its documents
/// (`29a21186-cb76-42ca-b3e7-617b86b52952`, generated once at random and
/// fixed forever: changing it changes every serialNumber ever emitted).
pub const STELLA_UUID_NAMESPACE: Uuid = Uuid::from_u128(0x29a2_1186_cb76_42ca_b3e7_617b_86b5_2952);

/// What names the scanned thing: the identity digest (manifest, else config
/// digest), or the source string for a `dir:` scan that has no digest.
pub fn image_identity(inv: &Inventory) -> String {
    match inv.image.identity_digest() {
        Some(d) => d.to_string(),
        None => inv.image.source.clone(),
    }
}

/// UUIDv5 over `"<identity>|stella|<tool_version>"`: the same image scanned
/// by the same Stella version gets the same document UUID.
pub fn document_uuid(inv: &Inventory, tool_version: &str) -> Uuid {
    let name = format!("{}|stella|{}", image_identity(inv), tool_version);
    Uuid::new_v5(&STELLA_UUID_NAMESPACE, name.as_bytes())
}

/// First 12 hex characters of sha256 over the parts, NUL-separated (NUL
/// cannot occur in package metadata, so the join is unambiguous).
pub fn short_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update([0u8]);
        }
        h.update(p.as_bytes());
    }
    let mut hex = hex::encode(h.finalize());
    hex.truncate(12);
    hex
}

/// The short hash that distinguishes a component: everything in its sort key.
pub fn component_hash(c: &Component) -> String {
    let mut parts: Vec<&str> = vec![
        c.kind.as_str(),
        &c.name,
        &c.version,
        c.arch.as_deref().unwrap_or(""),
    ];
    parts.extend(c.evidence.iter().map(String::as_str));
    short_hash(&parts)
}

/// Keeps ASCII letters, digits, `.` and `-` (SPDX `idstring`); every other run
/// of characters becomes a single `-`. Leading/trailing `-` are trimmed and
/// an empty result becomes `unknown`.
pub fn sanitize_idstring(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_dash = false;
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() || ch == '.' {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.push(ch);
        } else {
            pending_dash = true;
        }
    }
    if out.is_empty() {
        out.push_str("unknown");
    }
    out
}

/// Percent-encodes a string for use in a URI path: unreserved characters,
/// `/` and `:` stay, everything else (spaces, `#`, `?`, `@`, non-ASCII) is
/// encoded so the namespace stays a valid absolute URI without a fragment.
pub fn uri_path_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/' | b':') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_keeps_only_idstring_chars() {
        assert_eq!(sanitize_idstring("libc6"), "libc6");
        assert_eq!(sanitize_idstring("g++-12"), "g-12");
        assert_eq!(sanitize_idstring("GPLv2+"), "GPLv2");
        assert_eq!(sanitize_idstring("MIT and BSD"), "MIT-and-BSD");
        assert_eq!(sanitize_idstring("--"), "unknown");
        assert_eq!(sanitize_idstring("perl:any"), "perl-any");
    }

    #[test]
    fn uri_encoding() {
        assert_eq!(
            uri_path_encode("docker.io/library/debian:12"),
            "docker.io/library/debian:12"
        );
        assert_eq!(uri_path_encode("a b#c?d@e"), "a%20b%23c%3Fd%40e");
    }

    #[test]
    fn short_hash_is_stable_and_separates_parts() {
        assert_eq!(short_hash(&["a", "b"]).len(), 12);
        assert_eq!(short_hash(&["a", "b"]), short_hash(&["a", "b"]));
        assert_ne!(short_hash(&["ab", ""]), short_hash(&["a", "b"]));
    }
}

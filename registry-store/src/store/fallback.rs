//! The referrers tag schema (distribution-spec v1.1 "fallback"), for
//! registries without the referrers API.
//!
//! The referrers of `sha256:HEX` are listed in an image index tagged
//! `sha256-HEX`, which every writer must read, extend and write back — a
//! read-modify-write that concurrent writers can lose entries of. We make
//! the loss repairable: each referrer is also tagged on its own
//! (`sha256-HEX.<16 hex of the referrer's digest>.ref`), so the full set can
//! always be rebuilt from the tag list. A writer writes the index, reads it
//! back with a fresh tag list, and merges and rewrites until the index
//! holds every tagged referrer; readers take the union of both. See
//! docs/architecture.md, "Artifact store and referrers".

use stella_model::Digest;

use crate::oci::{Descriptor, Index, MAX_MANIFEST_BYTES, MEDIA_OCI_INDEX};
use crate::StoreError;

/// Hex digits of the referrer's digest in its own tag.
const REFERRER_HEX: usize = 16;
const REFERRER_SUFFIX: &str = ".ref";

/// `ALG-HEX`, the fallback index tag of `subject` (algorithm and hex cut
/// to 32 and 64 characters as the spec says, so sha512 fits a tag).
pub fn fallback_tag(subject: &Digest) -> String {
    let alg = subject.algorithm().as_str();
    let hex = subject.hex();
    format!(
        "{}-{}",
        &alg[..alg.len().min(32)],
        &hex[..hex.len().min(64)]
    )
}

/// `ALG-HEX.<16 hex>.ref`: the tag one referrer of `subject` carries, so
/// the set of referrers survives lost updates of the fallback index.
pub fn referrer_tag(subject: &Digest, referrer: &Digest) -> String {
    format!(
        "{}.{}{REFERRER_SUFFIX}",
        fallback_tag(subject),
        &referrer.hex()[..REFERRER_HEX.min(referrer.hex().len())]
    )
}

/// The referrer-hex part of a tag from [`referrer_tag`] for `subject`.
pub(crate) fn referrer_tag_hex<'t>(tag: &'t str, subject: &Digest) -> Option<&'t str> {
    let rest = tag
        .strip_prefix(&fallback_tag(subject))?
        .strip_prefix('.')?;
    let hex = rest.strip_suffix(REFERRER_SUFFIX)?;
    (hex.len() == REFERRER_HEX && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

/// True for the tags this schema creates: `ALG-HEX` fallback indexes and
/// `ALG-HEX.<16 hex>.ref` referrer tags. They are bookkeeping, not images,
/// so the store's tag list leaves them out.
pub(crate) fn is_schema_tag(tag: &str) -> bool {
    let Some((alg, rest)) = tag.split_once('-') else {
        return false;
    };
    if !matches!(alg, "sha256" | "sha512") {
        return false;
    }
    let (hex, tail) = rest.split_at(rest.len().min(64));
    let hex_ok = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    hex_ok
        && (tail.is_empty()
            || tail
                .strip_prefix('.')
                .and_then(|t| t.strip_suffix(REFERRER_SUFFIX))
                .is_some_and(|h| {
                    h.len() == REFERRER_HEX && h.bytes().all(|b| b.is_ascii_hexdigit())
                }))
}

/// Reads a fallback index (or a referrers API answer): an image index of
/// descriptors. Anything else is refused, naming `what`.
pub(crate) fn parse_index(bytes: &[u8], what: &str) -> Result<Vec<Descriptor>, StoreError> {
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(StoreError::TooLarge {
            what: what.to_string(),
            size: bytes.len() as u64,
            limit: MAX_MANIFEST_BYTES,
        });
    }
    let index: Index = serde_json::from_slice(bytes).map_err(|e| {
        StoreError::malformed(what, format!("not an image index of descriptors: {e}"))
    })?;
    if let Some(m) = index.media_type.as_deref() {
        if m != MEDIA_OCI_INDEX {
            return Err(StoreError::malformed(
                what,
                format!("media type {m:?} is not an OCI image index"),
            ));
        }
    }
    Ok(index.manifests)
}

/// The bytes of a fallback index listing `manifests` (sorted by digest, so
/// equal sets give equal bytes).
pub(crate) fn render_index(manifests: &[Descriptor]) -> Result<Vec<u8>, StoreError> {
    #[derive(serde::Serialize)]
    struct Out<'a> {
        #[serde(rename = "schemaVersion")]
        schema_version: u32,
        #[serde(rename = "mediaType")]
        media_type: &'a str,
        manifests: &'a [Descriptor],
    }
    let sorted = super::sort_referrers(manifests.to_vec());
    serde_json::to_vec(&Out {
        schema_version: 2,
        media_type: MEDIA_OCI_INDEX,
        manifests: &sorted,
    })
    .map_err(|e| StoreError::malformed("fallback index", format!("cannot serialize: {e}")))
}

/// Entries of `wanted` that `current` lacks (by digest).
pub(crate) fn missing(current: &[Descriptor], wanted: &[Descriptor]) -> Vec<Descriptor> {
    wanted
        .iter()
        .filter(|w| !current.iter().any(|c| c.digest == w.digest))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_names() {
        let subject = Digest::sha256_of(b"subject");
        let referrer = Digest::sha256_of(b"referrer");
        let fb = fallback_tag(&subject);
        assert_eq!(fb, format!("sha256-{}", subject.hex()));
        let tag = referrer_tag(&subject, &referrer);
        assert_eq!(tag, format!("{fb}.{}.ref", &referrer.hex()[..16]));
        assert!(tag.len() <= 128);
        crate::store::check_tag(&tag).unwrap();
        assert_eq!(
            referrer_tag_hex(&tag, &subject),
            Some(&referrer.hex()[..16])
        );
        assert_eq!(referrer_tag_hex(&fb, &subject), None);
        assert_eq!(referrer_tag_hex(&tag, &referrer), None);
        assert_eq!(referrer_tag_hex(&format!("{fb}.xyz.ref"), &subject), None);
        assert!(is_schema_tag(&fb));
        assert!(is_schema_tag(&referrer_tag(&subject, &referrer)));
        assert!(
            !is_schema_tag(&format!("{fb}.sig")),
            "cosign's tags stay visible"
        );
        assert!(!is_schema_tag("v1.0"));
        assert!(!is_schema_tag("sha256-abc"));

        let long: Digest = format!("sha512:{}", "ab".repeat(64)).parse().unwrap();
        let tag = referrer_tag(&long, &referrer);
        assert!(tag.starts_with(&format!("sha512-{}.", "ab".repeat(32))));
        crate::store::check_tag(&tag).unwrap();
    }

    #[test]
    fn index_round_trip_and_refusals() {
        let a = Descriptor {
            artifact_type: Some("application/spdx+json".into()),
            ..Descriptor::new(crate::oci::MEDIA_OCI_MANIFEST, Digest::sha256_of(b"a"), 10)
        };
        let b = Descriptor::new(crate::oci::MEDIA_OCI_MANIFEST, Digest::sha256_of(b"b"), 11);
        let bytes = render_index(&[b.clone(), a.clone(), a.clone()]).unwrap();
        let back = parse_index(&bytes, "x").unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(missing(&back, &[a.clone(), b.clone()]), vec![]);
        assert_eq!(
            missing(std::slice::from_ref(&a), &[a.clone(), b.clone()]),
            vec![b]
        );
        assert_eq!(render_index(&back).unwrap(), bytes, "same set, same bytes");
        assert!(parse_index(b"[]", "x").is_err());
        assert!(parse_index(br#"{"manifests":[{"digest":"nope","size":1}]}"#, "x").is_err());
        let wrong = format!(
            r#"{{"mediaType":"{}","manifests":[]}}"#,
            crate::oci::MEDIA_OCI_MANIFEST
        );
        assert!(parse_index(wrong.as_bytes(), "x").is_err());
    }
}

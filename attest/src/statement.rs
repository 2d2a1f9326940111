//! in-toto Statement v1 and the predicate types Stella signs or reads.
//!
//! Stella writes `https://in-toto.io/Statement/v1`. It also reads
//! `https://in-toto.io/Statement/v0.1`, which cosign 2.5 `attest` /
//! `attest-blob` still emit; the two share the fields used here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `_type` of the statements Stella writes.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// `_type` cosign 2.5 writes; accepted when reading.
pub const STATEMENT_V01: &str = "https://in-toto.io/Statement/v0.1";

pub const PREDICATE_CYCLONEDX: &str = "https://cyclonedx.org/bom";
pub const PREDICATE_SPDX: &str = "https://spdx.dev/Document";
pub const PREDICATE_VERDICT: &str = "https://stella-ops.org/attestations/verdict/v1";
pub const PREDICATE_BOM_INDEX: &str = "https://stella-ops.org/attestations/bom-index/v1";
pub const PREDICATE_SLSA_PROVENANCE_V02: &str = "https://slsa.dev/provenance/v0.2";
pub const PREDICATE_SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
pub const PREDICATE_LINK_V1: &str = "https://in-toto.io/Link/v1";
pub const PREDICATE_COSIGN_VULN: &str = "https://cosign.sigstore.dev/attestation/vuln/v1";
pub const PREDICATE_OPENVEX: &str = "https://openvex.dev/ns";
pub const PREDICATE_COSIGN_CUSTOM: &str = "https://cosign.sigstore.dev/attestation/v1";

/// `--type` short names → predicate types. The cosign names are those of
/// cosign 2.5 (`cosign attest-blob --help`), checked against the real binary
/// in `tests/cosign_interop.rs`; `verdict` and `bom-index` are Stella's.
pub const SHORT_NAMES: &[(&str, &str)] = &[
    ("bom-index", PREDICATE_BOM_INDEX),
    ("custom", PREDICATE_COSIGN_CUSTOM),
    ("cyclonedx", PREDICATE_CYCLONEDX),
    ("link", PREDICATE_LINK_V1),
    ("openvex", PREDICATE_OPENVEX),
    ("slsaprovenance", PREDICATE_SLSA_PROVENANCE_V02),
    ("slsaprovenance02", PREDICATE_SLSA_PROVENANCE_V02),
    ("slsaprovenance1", PREDICATE_SLSA_PROVENANCE_V1),
    ("spdx", PREDICATE_SPDX),
    ("spdxjson", PREDICATE_SPDX),
    ("verdict", PREDICATE_VERDICT),
    ("vuln", PREDICATE_COSIGN_VULN),
];

/// Resolve a `--type` value like cosign does: a known short name, else the
/// value itself if it looks like an absolute URI (`scheme:` prefix).
pub fn predicate_type_for(type_arg: &str) -> Result<&str, StatementError> {
    if let Some((_, uri)) = SHORT_NAMES.iter().find(|(name, _)| *name == type_arg) {
        return Ok(uri);
    }
    let looks_like_uri = type_arg.split_once(':').is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && !rest.is_empty()
            && scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if looks_like_uri {
        Ok(type_arg)
    } else {
        Err(StatementError::UnknownType(type_arg.to_string()))
    }
}

/// An in-toto statement: what (subjects) is claimed (predicate) of what kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub type_: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    #[serde(default)]
    pub predicate: serde_json::Value,
}

/// One artifact a statement is about, named and identified by digest(s).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    #[serde(default)]
    pub name: String,
    /// Algorithm → lowercase hex; sorted so the encoding is stable.
    pub digest: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    #[error("unknown predicate type {0:?}: not a known short name nor a URI")]
    UnknownType(String),
    #[error("payload is not an in-toto statement: {0}")]
    NotAStatement(String),
    #[error("unsupported statement _type {found:?} (expected {STATEMENT_V1} or {STATEMENT_V01})")]
    WrongType { found: String },
    #[error("statement has no subject")]
    NoSubject,
    #[error("subject {index} has no sha256 digest")]
    NoSha256 { index: usize },
    #[error("subject {index} sha256 {found:?} is not 64 lowercase hex digits")]
    BadDigest { index: usize, found: String },
    #[error("no subject has sha256 {expected} (subjects: {found:?})")]
    SubjectMismatch {
        expected: String,
        found: Vec<String>,
    },
}

impl Statement {
    /// A v1 statement about one artifact identified by its sha256 (hex).
    pub fn new(
        subject_name: impl Into<String>,
        sha256_hex: impl Into<String>,
        predicate_type: impl Into<String>,
        predicate: serde_json::Value,
    ) -> Statement {
        Statement {
            type_: STATEMENT_V1.to_string(),
            subject: vec![Subject {
                name: subject_name.into(),
                digest: BTreeMap::from([("sha256".to_string(), sha256_hex.into())]),
            }],
            predicate_type: predicate_type.into(),
            predicate,
        }
    }

    /// Compact JSON payload (field order fixed, object keys sorted).
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// Parse and check a payload: a JSON object with a known `_type`, at
    /// least one subject, and every sha256 digest well-formed.
    pub fn from_json(bytes: &[u8]) -> Result<Statement, StatementError> {
        let statement: Statement = serde_json::from_slice(bytes)
            .map_err(|e| StatementError::NotAStatement(e.to_string()))?;
        if statement.type_ != STATEMENT_V1 && statement.type_ != STATEMENT_V01 {
            return Err(StatementError::WrongType {
                found: statement.type_,
            });
        }
        if statement.subject.is_empty() {
            return Err(StatementError::NoSubject);
        }
        for (index, subject) in statement.subject.iter().enumerate() {
            if let Some(hex) = subject.digest.get("sha256") {
                if !is_sha256_hex(hex) {
                    return Err(StatementError::BadDigest {
                        index,
                        found: hex.clone(),
                    });
                }
            }
        }
        Ok(statement)
    }
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Check that the statement is about the artifact with this sha256
/// (hex, optionally prefixed `sha256:`): some subject must carry it.
pub fn verify_subject(statement: &Statement, expected_sha256: &str) -> Result<(), StatementError> {
    let expected = expected_sha256
        .strip_prefix("sha256:")
        .unwrap_or(expected_sha256)
        .to_ascii_lowercase();
    let mut found = Vec::new();
    for (index, subject) in statement.subject.iter().enumerate() {
        match subject.digest.get("sha256") {
            Some(hex) if *hex == expected => return Ok(()),
            Some(hex) => found.push(hex.clone()),
            None if statement.subject.len() == 1 => return Err(StatementError::NoSha256 { index }),
            None => {}
        }
    }
    Err(StatementError::SubjectMismatch { expected, found })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_and_uris() {
        assert_eq!(
            predicate_type_for("cyclonedx").unwrap(),
            PREDICATE_CYCLONEDX
        );
        assert_eq!(predicate_type_for("verdict").unwrap(), PREDICATE_VERDICT);
        assert_eq!(
            predicate_type_for("https://x.example/p").unwrap(),
            "https://x.example/p"
        );
        assert!(matches!(
            predicate_type_for("nonsense"),
            Err(StatementError::UnknownType(_))
        ));
        // Sorted table, so a duplicate or typo'd order is caught.
        assert!(SHORT_NAMES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn subject_checks() {
        let hex = "ab".repeat(32);
        let s = Statement::new("x", hex.clone(), PREDICATE_SPDX, serde_json::json!({}));
        verify_subject(&s, &hex).unwrap();
        verify_subject(&s, &format!("sha256:{}", hex.to_uppercase())).unwrap();
        assert!(matches!(
            verify_subject(&s, &"cd".repeat(32)),
            Err(StatementError::SubjectMismatch { .. })
        ));
        let bad = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x","digest":{"sha256":"XYZ"}}],"predicateType":"p","predicate":{}}"#;
        assert!(matches!(
            Statement::from_json(bad),
            Err(StatementError::BadDigest { index: 0, .. })
        ));
    }
}

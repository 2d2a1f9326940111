//! # stella-attest
//!
//! Signed attestations: DSSE envelopes over in-toto Statement v1 with the
//! predicates Stella produces (CycloneDX, SPDX, BOM-Index, verdict), the
//! keys it signs with (ECDSA P-256, Ed25519, cosign's encrypted key
//! format), verification of what Stella or cosign signed, Sigstore bundles,
//! and a transparency log client with offline proof verification.
//!
//! Nothing here talks to a registry: the CLI stores envelopes as OCI
//! referrers through `stella-registry-store`.
//!
//! Typical use: [`statement::Statement::new`] → [`sign::sign_statement`]
//! with a [`keys::SigningKey`] → [`dsse::Envelope::to_json`]; reading back:
//! [`sign::verify_json`] with trusted [`keys::VerifyingKey`]s →
//! [`statement::verify_subject`] against the artifact's digest.

pub mod bundle;
pub mod cosign_key;
pub mod cosign_layout;
pub mod dsse;
pub mod keys;
pub mod predicates;
pub mod sign;
pub mod statement;
pub mod transparency;

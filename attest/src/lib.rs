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
//! Signing: [`predicates::image_statement`] (or [`statement::Statement::new`])
//! → [`sign::sign_statement`] with a [`keys::SigningKey`] (PKCS#8/SEC1 PEM or
//! `cosign.key` + password) → [`dsse::Envelope::to_json`]; optionally wrap in
//! a [`bundle::Bundle`] or lay out for cosign with
//! [`cosign_layout::attestation_image`].
//!
//! Verifying: [`sign::verify_attestation`] with trusted
//! [`keys::VerifyingKey`]s (SPKI PEM, e.g. `cosign.pub`) and the expected
//! predicate type / subject digest; every failure is a typed
//! [`sign::VerifyError`]. Statements from cosign 2.5 (`Statement/v0.1`)
//! are accepted as well as v1.
//!
//! Compatibility with cosign 2.5 is tested against the real binary, offline
//! (`tests/cosign_*.rs`); openssl is the oracle for keys and signatures.

pub mod bundle;
pub mod cosign_key;
pub mod cosign_layout;
pub mod dsse;
pub mod keys;
pub mod predicates;
pub mod sign;
pub mod statement;
pub mod transparency;

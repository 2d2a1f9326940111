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

pub mod dsse;
pub mod transparency;

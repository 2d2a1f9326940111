//! # stella-model
//!
//! The vocabulary every other Stella crate speaks: content [`Digest`]s, package
//! URLs ([`Purl`]), [`Component`]s with their layer and file evidence, the
//! image's [`LayerInfo`] table, the [`Inventory`] that a scan produces, and
//! the canonical [`Advisory`] that feed connectors produce, and the
//! [`Finding`]s and [`Verdict`]s the policy engine derives from them.
//!
//! This crate does no I/O. Everything here is plain data with deterministic
//! ordering so that outputs built from it are byte-stable.

mod advisory;
mod digest;
mod entrytrace;
mod finding;
mod inventory;
mod purl;

pub use advisory::{
    Advisory, AdvisoryReference, AffectedPackage, AffectedStatus, DecisionReason, MergeCandidate,
    MergeDecision, Provenance, RangeEvent, RuleKind, Severity, SeverityKind, VersionRange,
    VersionRule, ADVISORY_SCHEMA,
};
pub use digest::{Digest, DigestAlgorithm, DigestError};
pub use entrytrace::{EntryChain, EntryStep, EntryStepKind, EntryStop, EntryTrace, PROP_USAGE};
pub use finding::{
    ArtifactRef, Finding, FindingComponent, FindingSeverity, MatchRule, Outcome, Rating, Verdict,
    VerdictReason, VexDecision, VexState, FINDINGS_SCHEMA, VERDICT_SCHEMA,
};
pub use inventory::{
    Component, ComponentKind, Distro, ImageInfo, Inventory, LayerInfo, SourcePackage, ToolInfo,
    Warning, INVENTORY_SCHEMA,
};
pub use purl::{pypi_name, pypi_name_is, Purl, PurlError};

//! # stella-policy
//!
//! From "what is inside" to "is it safe to ship, and why":
//!
//! - [`matcher`]: an [`stella_model::Inventory`] × advisories (any
//!   [`matcher::AdvisorySource`], in practice the feeds DB) → findings, each
//!   naming the rule that matched and the layer and file evidence. OS
//!   packages only against their own distro release, by source package;
//!   language packages against their ecosystem's databases; no CPE guessing.
//! - [`vex`]: OpenVEX and CycloneDX VEX statements marking findings
//!   `not_affected` / `fixed` / `under_investigation`.
//! - [`rules`]: the `stella-policy@1` YAML document and its evaluation into a
//!   [`stella_model::Verdict`] (pass/warn/fail, every reason tied to a rule
//!   and a finding).
//! - [`report`]: findings and verdicts as a table, SARIF 2.1.0, CycloneDX
//!   vulnerabilities.
//!
//! This crate does no network I/O: advisories come in through a trait,
//! documents as bytes.

pub mod matcher;
pub mod report;
pub mod rules;
pub mod time;
pub mod vex;

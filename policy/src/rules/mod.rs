//! The `stella-policy@1` document and its evaluation into a verdict.
//!
//! [`parse`] reads the YAML (documented in `docs/policy.md`, JSON Schema in
//! `docs/stella-policy-v1.schema.json`) into a checked [`Policy`]; unknown
//! keys and malformed values are errors naming the field. [`evaluate`]
//! judges an inventory and its findings: each rule that fires on a finding
//! or component is a reason, exceptions move findings to `waived` until
//! they expire, and the outcome is the worst action among the reasons.

mod document;
mod evaluate;
pub mod license;
mod purl_pattern;

pub use crate::time::{Age, Date, TimeError, Timestamp};
pub use document::{
    parse, Action, Exception, Expiry, FindingConditions, LicenseLists, PackageLists, Policy, Rule,
    RuleKind, Scope, UnknownLicense, MAX_POLICY_BYTES, POLICY_SCHEMA,
};
pub use evaluate::{component_label, evaluate, EvalInput};
pub use purl_pattern::PurlPattern;

use thiserror::Error;

/// Why a policy document was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyError {
    #[error("the policy is {size} bytes, over the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    /// The YAML does not fit the schema; the message starts with the field
    /// path (`rules[2].severity: …`) and ends with the line and column.
    #[error("{message}")]
    Yaml {
        message: String,
        line: Option<usize>,
        column: Option<usize>,
    },
    /// A value is well-formed but the document is not (a duplicate id, a
    /// rule with no condition or several kinds).
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

impl PolicyError {
    fn from_yaml(e: serde_yaml_ng::Error) -> PolicyError {
        let location = e.location();
        PolicyError::Yaml {
            message: e.to_string(),
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
        }
    }
}

//! # stella-feeds
//!
//! Vulnerability data for the matcher: advisories from many sources in one
//! canonical model ([`stella_model::Advisory`]), and the version logic their
//! ranges need.
//!
//! - [`version`]: one comparator per versioning scheme, each agreeing with
//!   the scheme's own reference implementation (dpkg, rpm, apk-tools,
//!   packaging, Maven, NuGet, RubyGems, Composer, SemVer 2.0.0).
//! - [`connector`]: feeds read offline from files, trees and zips (OSV JSON
//!   and YAML so far), bad records quarantined with a reason.

pub mod connector;
pub mod db;
pub mod merge;
pub mod parity;
pub mod version;

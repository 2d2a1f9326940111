//! # stella-feeds
//!
//! Vulnerability data for the matcher: advisories from many sources in one
//! canonical model, and the version logic their ranges need. So far: the
//! [`version`] comparators, one per versioning scheme, each agreeing with the
//! scheme's own reference implementation (dpkg, rpm, apk-tools, packaging,
//! Maven, NuGet, RubyGems, Composer, SemVer 2.0.0).

pub mod import;
pub mod osv;
pub mod version;
pub mod yaml;

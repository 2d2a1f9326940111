//! # stella-version
//!
//! Exact version ordering per versioning scheme: dpkg, rpm, apk-tools,
//! PEP 440, Maven, NuGet, RubyGems, PHP/Composer and SemVer 2.0.0, each
//! agreeing with the scheme's own reference implementation. The advisory
//! feeds (ranges, parity) and the matcher both order versions here.
//!
//!
//! Every scheme parses a version string into a value with a total order
//! that matches the scheme's reference implementation; [`compare`] is the
//! entry point by [`Scheme`]. Versions a scheme cannot read are errors, never
//! silently ordered.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

pub mod apk;
mod common;
pub mod debian;
pub mod maven;
pub mod nuget;
pub mod packagist;
pub mod pep440;
pub mod rpm;
pub mod rubygems;
pub mod semver;

/// A version string the scheme cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{scheme} version {input:?}: {reason}")]
pub struct VersionError {
    pub scheme: Scheme,
    pub input: String,
    pub reason: String,
}

impl VersionError {
    pub fn new(scheme: Scheme, input: &str, reason: impl Into<String>) -> VersionError {
        VersionError {
            scheme,
            input: input.to_string(),
            reason: reason.into(),
        }
    }
}

/// A versioning scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scheme {
    /// SemVer 2.0.0 (npm, Go modules, crates.io, …).
    Semver,
    /// dpkg: `[epoch:]upstream[-revision]`.
    Debian,
    /// rpm: `[epoch:]version[-release]` (EVR), rpmvercmp.
    Rpm,
    /// apk-tools (Alpine, Wolfi).
    Apk,
    /// PEP 440 (PyPI).
    Pep440,
    /// Maven's ComparableVersion.
    Maven,
    /// NuGet.Versioning (SemVer 2.0 with four numeric parts, case-insensitive labels).
    Nuget,
    /// RubyGems' Gem::Version.
    RubyGems,
    /// Composer (Packagist): its version normalization, then PHP's version_compare.
    Packagist,
}

impl Scheme {
    pub const ALL: [Scheme; 9] = [
        Scheme::Semver,
        Scheme::Debian,
        Scheme::Rpm,
        Scheme::Apk,
        Scheme::Pep440,
        Scheme::Maven,
        Scheme::Nuget,
        Scheme::RubyGems,
        Scheme::Packagist,
    ];

    /// The canonical name (`stella version compare --ecosystem NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Semver => "semver",
            Scheme::Debian => "deb",
            Scheme::Rpm => "rpm",
            Scheme::Apk => "apk",
            Scheme::Pep440 => "pypi",
            Scheme::Maven => "maven",
            Scheme::Nuget => "nuget",
            Scheme::RubyGems => "gem",
            Scheme::Packagist => "composer",
        }
    }

    /// The scheme of an OSV ecosystem or purl type (`Debian:12`, `PyPI`,
    /// `npm`, `AlmaLinux:9`, …); `None` when the ecosystem has no known
    /// version ordering here.
    pub fn for_ecosystem(ecosystem: &str) -> Option<Scheme> {
        let base = ecosystem.split(':').next().unwrap_or(ecosystem).trim();
        Some(match base.to_ascii_lowercase().as_str() {
            "semver" | "npm" | "go" | "golang" | "crates.io" | "cargo" | "hex" | "pub"
            | "swifturl" => Scheme::Semver,
            "deb" | "debian" | "ubuntu" => Scheme::Debian,
            "rpm" | "redhat" | "red hat" | "almalinux" | "rocky linux" | "rocky" | "centos"
            | "fedora" | "opensuse" | "suse" | "amazon" | "amazon linux" | "oracle" | "mariner"
            | "azure linux" => Scheme::Rpm,
            "apk" | "alpine" | "wolfi" | "chainguard" | "alpaquita" => Scheme::Apk,
            "pypi" | "pep440" | "python" => Scheme::Pep440,
            "maven" => Scheme::Maven,
            "nuget" => Scheme::Nuget,
            "gem" | "rubygems" => Scheme::RubyGems,
            "composer" | "packagist" => Scheme::Packagist,
            _ => return None,
        })
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scheme {
    type Err = String;

    fn from_str(s: &str) -> Result<Scheme, String> {
        Scheme::for_ecosystem(s).ok_or_else(|| {
            let names: Vec<&str> = Scheme::ALL.iter().map(|s| s.name()).collect();
            format!(
                "unknown ecosystem {s:?} (known: {}, or an OSV ecosystem name)",
                names.join(", ")
            )
        })
    }
}

/// Compares two versions under `scheme`.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, VersionError> {
    match scheme {
        Scheme::Semver => semver::compare(a, b),
        Scheme::Debian => debian::compare(a, b),
        Scheme::Rpm => rpm::compare(a, b),
        Scheme::Apk => apk::compare(a, b),
        Scheme::Pep440 => pep440::compare(a, b),
        Scheme::Maven => maven::compare(a, b),
        Scheme::Nuget => nuget::compare(a, b),
        Scheme::RubyGems => rubygems::compare(a, b),
        Scheme::Packagist => packagist::compare(a, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecosystems_map_to_schemes() {
        assert_eq!(Scheme::for_ecosystem("Debian:12"), Some(Scheme::Debian));
        assert_eq!(Scheme::for_ecosystem("AlmaLinux:9"), Some(Scheme::Rpm));
        assert_eq!(Scheme::for_ecosystem("PyPI"), Some(Scheme::Pep440));
        assert_eq!(Scheme::for_ecosystem("crates.io"), Some(Scheme::Semver));
        assert_eq!(Scheme::for_ecosystem("DHI"), None);
        for s in Scheme::ALL {
            assert_eq!(s.name().parse::<Scheme>(), Ok(s));
        }
    }
}

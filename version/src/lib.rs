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
        // Lower-cased on the stack: the matcher asks this per advisory rule.
        // Every known name is shorter than the buffer.
        let mut buf = [0u8; 16];
        let lower = buf.get_mut(..base.len())?;
        lower.copy_from_slice(base.as_bytes());
        lower.make_ascii_lowercase();
        Some(match std::str::from_utf8(lower).ok()? {
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

/// A version parsed once under its scheme, for callers that compare the
/// same version many times (the matcher parses each advisory bound and
/// each installed version once instead of once per comparison).
#[derive(Debug, Clone)]
pub enum Version {
    Semver(semver::SemverVersion),
    Debian(debian::DebianVersion),
    Rpm(rpm::RpmVersion),
    Apk(apk::ApkVersion),
    Pep440(pep440::Pep440Version),
    Maven(maven::MavenVersion),
    Nuget(nuget::NugetVersion),
    RubyGems(rubygems::RubyGemsVersion),
    Packagist(packagist::PackagistVersion),
}

impl Version {
    /// Parses `input` under `scheme`; the same errors as [`compare`].
    pub fn parse(scheme: Scheme, input: &str) -> Result<Version, VersionError> {
        Ok(match scheme {
            Scheme::Semver => Version::Semver(semver::SemverVersion::parse(input)?),
            Scheme::Debian => Version::Debian(debian::DebianVersion::parse(input)?),
            Scheme::Rpm => Version::Rpm(rpm::RpmVersion::parse(input)?),
            Scheme::Apk => Version::Apk(apk::ApkVersion::parse(input)?),
            Scheme::Pep440 => Version::Pep440(pep440::Pep440Version::parse(input)?),
            Scheme::Maven => Version::Maven(maven::MavenVersion::parse(input)?),
            Scheme::Nuget => Version::Nuget(nuget::NugetVersion::parse(input)?),
            Scheme::RubyGems => Version::RubyGems(rubygems::RubyGemsVersion::parse(input)?),
            Scheme::Packagist => Version::Packagist(packagist::PackagistVersion::parse(input)?),
        })
    }

    pub fn scheme(&self) -> Scheme {
        match self {
            Version::Semver(_) => Scheme::Semver,
            Version::Debian(_) => Scheme::Debian,
            Version::Rpm(_) => Scheme::Rpm,
            Version::Apk(_) => Scheme::Apk,
            Version::Pep440(_) => Scheme::Pep440,
            Version::Maven(_) => Scheme::Maven,
            Version::Nuget(_) => Scheme::Nuget,
            Version::RubyGems(_) => Scheme::RubyGems,
            Version::Packagist(_) => Scheme::Packagist,
        }
    }

    /// The order of two versions of one scheme (what [`compare`] says of
    /// their texts); `None` when the schemes differ.
    pub fn compare(&self, other: &Version) -> Option<Ordering> {
        Some(match (self, other) {
            (Version::Semver(a), Version::Semver(b)) => a.cmp(b),
            (Version::Debian(a), Version::Debian(b)) => a.cmp(b),
            (Version::Rpm(a), Version::Rpm(b)) => a.cmp(b),
            (Version::Apk(a), Version::Apk(b)) => a.cmp(b),
            (Version::Pep440(a), Version::Pep440(b)) => a.cmp(b),
            (Version::Maven(a), Version::Maven(b)) => a.cmp(b),
            (Version::Nuget(a), Version::Nuget(b)) => a.cmp(b),
            (Version::RubyGems(a), Version::RubyGems(b)) => a.cmp(b),
            (Version::Packagist(a), Version::Packagist(b)) => a.cmp(b),
            _ => return None,
        })
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
        assert_eq!(Scheme::for_ecosystem("Rocky Linux:9"), Some(Scheme::Rpm));
        assert_eq!(
            Scheme::for_ecosystem("AMAZON LINUX:2023"),
            Some(Scheme::Rpm)
        );
        assert_eq!(Scheme::for_ecosystem("a-name-longer-than-sixteen"), None);
        assert_eq!(Scheme::for_ecosystem(""), None);
        for s in Scheme::ALL {
            assert_eq!(s.name().parse::<Scheme>(), Ok(s));
        }
    }

    /// A parsed [`Version`] orders exactly like [`compare`] on the texts
    /// (which the tests/versions_*.rs oracles check), and refuses what
    /// `compare` refuses.
    #[test]
    fn parsed_versions_order_like_compare() {
        let samples: [(Scheme, &[&str]); 9] = [
            (
                Scheme::Semver,
                &["1.0.0", "1.0.0-rc.1", "1.2.3+b", "0.9.10", "v1"],
            ),
            (
                Scheme::Debian,
                &["1:1.0-1", "1.0-1", "1.0~rc1-1", "1.0+dfsg-2", "1.0-1:"],
            ),
            (
                Scheme::Rpm,
                &["1:2.0-1.el9", "2.0-1.el9", "2.0-1.el9_2", "2.0~beta-1"],
            ),
            (
                Scheme::Apk,
                &["1.2.3-r0", "1.2.3_rc1-r0", "1.2.4-r1", "1.2.3-r"],
            ),
            (
                Scheme::Pep440,
                &[
                    "1.0",
                    "1.0.0",
                    "1.0rc1",
                    "1.0.post1",
                    "2!0.1",
                    "not a version",
                ],
            ),
            (
                Scheme::Maven,
                &["1.0", "1.0-SNAPSHOT", "1.0-alpha-1", "1.0.1"],
            ),
            (
                Scheme::Nuget,
                &["1.0.0", "1.0.0.0", "1.0.0-Beta", "1.0.0-beta.2", "x"],
            ),
            (Scheme::RubyGems, &["1.0", "1", "1.0.a", "1.0.1", "-1"]),
            (
                Scheme::Packagist,
                &["1.0.0", "v1.0", "1.0.0-beta1", "1.0.0.1", "dev-main"],
            ),
        ];
        for (scheme, versions) in samples {
            for a in versions {
                let parsed_a = Version::parse(scheme, a);
                for b in versions {
                    let parsed_b = Version::parse(scheme, b);
                    let by_text = compare(scheme, a, b);
                    match (&parsed_a, &parsed_b) {
                        (Ok(x), Ok(y)) => {
                            assert_eq!(x.scheme(), scheme);
                            assert_eq!(x.compare(y), by_text.ok(), "{scheme} {a} {b}");
                        }
                        _ => assert!(by_text.is_err(), "{scheme} {a} {b}"),
                    }
                }
            }
        }
        let semver = Version::parse(Scheme::Semver, "1.0.0");
        let pep = Version::parse(Scheme::Pep440, "1.0.0");
        assert!(matches!((semver, pep), (Ok(a), Ok(b)) if a.compare(&b).is_none()));
    }
}

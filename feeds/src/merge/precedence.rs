//! Which source is trusted first, by kind of data.
//!
//! - OS packages (deb, rpm, apk ecosystems): the distribution's own feed,
//!   then GHSA, then NVD-derived data; language databases and others last.
//! - Language packages: the ecosystem's own database (PyPA for PyPI, Go
//!   vulndb for Go, RustSec for crates.io — a [`SourceClass::LanguageDatabase`]
//!   authoritative for that ecosystem), then GHSA (which is the language
//!   database for npm, Maven, NuGet, …), then NVD-derived data.
//! - Advisory-level fields of a group whose packages are of both kinds (or
//!   of unknown ecosystems, or none): GHSA, then language databases and
//!   distro feeds, then NVD-derived data.
//!
//! Equal ranks fall to freshness (latest `modified`), then to a fixed
//! tie-breaker: source name, then record id.

use std::cmp::Reverse;

use serde::{Deserialize, Serialize};

use crate::version::Scheme;

/// What kind of feed a source is; decides its precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceClass {
    /// A distribution's security feed (Debian tracker, Alpine secdb,
    /// AlmaLinux OSV, …).
    Distro,
    /// An ecosystem's own advisory database (PyPA, Go vulndb, RustSec).
    LanguageDatabase,
    /// GitHub's reviewed advisories.
    Ghsa,
    /// Data derived from NVD.
    Nvd,
    Other,
}

/// A source of advisories, as the merge sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceInfo {
    /// The name records carry in their provenance (`osv:pypa`, `ghsa`).
    pub name: String,
    pub class: SourceClass,
    /// For a language database: the ecosystems it is authoritative for
    /// (`PyPI`); empty means every ecosystem it publishes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ecosystems: Vec<String>,
}

impl SourceInfo {
    pub fn new(name: &str, class: SourceClass) -> SourceInfo {
        SourceInfo {
            name: name.to_string(),
            class,
            ecosystems: Vec::new(),
        }
    }

    /// A language database authoritative for `ecosystems`.
    pub fn language_database(name: &str, ecosystems: &[&str]) -> SourceInfo {
        SourceInfo {
            name: name.to_string(),
            class: SourceClass::LanguageDatabase,
            ecosystems: ecosystems.iter().map(|e| e.to_string()).collect(),
        }
    }

    fn authoritative_for(&self, ecosystem: &str) -> bool {
        self.ecosystems.is_empty()
            || self
                .ecosystems
                .iter()
                .any(|e| base(e).eq_ignore_ascii_case(base(ecosystem)))
    }
}

/// The kind of data a field is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataKind {
    /// Distribution packages.
    Os,
    /// Packages of these language ecosystems.
    Language(Vec<String>),
    /// Mixed, unknown or no packages.
    General,
}

impl DataKind {
    /// The kind of one package's data.
    pub fn of_ecosystem(ecosystem: &str) -> DataKind {
        match Scheme::for_ecosystem(ecosystem) {
            Some(Scheme::Debian | Scheme::Rpm | Scheme::Apk) => DataKind::Os,
            Some(_) => DataKind::Language(vec![ecosystem.to_string()]),
            None => DataKind::General,
        }
    }

    /// The kind of a group's advisory-level fields: one kind when all its
    /// packages agree, else general.
    pub fn of_ecosystems<'a>(ecosystems: impl IntoIterator<Item = &'a str>) -> DataKind {
        let mut kind: Option<DataKind> = None;
        for ecosystem in ecosystems {
            kind = Some(match (kind, DataKind::of_ecosystem(ecosystem)) {
                (None, k) => k,
                (Some(DataKind::Os), DataKind::Os) => DataKind::Os,
                (Some(DataKind::Language(mut a)), DataKind::Language(b)) => {
                    a.extend(b);
                    a.sort();
                    a.dedup();
                    DataKind::Language(a)
                }
                _ => DataKind::General,
            });
        }
        kind.unwrap_or(DataKind::General)
    }
}

/// Rank of `source` for `kind`: lower is preferred.
pub fn rank(source: &SourceInfo, kind: &DataKind) -> u8 {
    use SourceClass::*;
    match kind {
        DataKind::Os => match source.class {
            Distro => 0,
            Ghsa => 1,
            Nvd => 2,
            LanguageDatabase => 3,
            Other => 4,
        },
        DataKind::Language(ecosystems) => match source.class {
            LanguageDatabase if ecosystems.iter().any(|e| source.authoritative_for(e)) => 0,
            Ghsa => 1,
            Nvd => 2,
            LanguageDatabase | Distro => 3,
            Other => 4,
        },
        DataKind::General => match source.class {
            Ghsa => 0,
            LanguageDatabase | Distro => 1,
            Nvd => 2,
            Other => 3,
        },
    }
}

/// Sort key of a `modified` timestamp, newest first, absent last.
///
/// RFC 3339 text orders by time when compared on its
/// `YYYY-MM-DDTHH:MM:SS` prefix; fractional seconds only break ties.
/// Offsets other than `Z` are not converted (no source here writes them).
pub fn freshness(modified: Option<&str>) -> Reverse<Option<(String, String)>> {
    Reverse(modified.map(|m| {
        let m = m.trim();
        let head: String = m.chars().take(19).collect();
        (head, m.to_string())
    }))
}

/// The part of an ecosystem name before `:` (`Debian:12` → `Debian`).
fn base(ecosystem: &str) -> &str {
    ecosystem.split(':').next().unwrap_or(ecosystem).trim()
}

/// The key that identifies a package across sources: the ecosystem as
/// written, and the name — normalized for PyPI (PEP 503: case and runs of
/// `-_.` do not matter, so GHSA's `GitPython` is PyPA's `gitpython`).
pub fn package_key(ecosystem: &str, name: &str) -> (String, String) {
    let name = if base(ecosystem).eq_ignore_ascii_case("pypi") {
        stella_model::pypi_name(name)
    } else {
        name.to_string()
    };
    (ecosystem.to_string(), name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_by_kind_of_data() {
        let debian = SourceInfo::new("debian", SourceClass::Distro);
        let ghsa = SourceInfo::new("ghsa", SourceClass::Ghsa);
        let nvd = SourceInfo::new("nvd", SourceClass::Nvd);
        let pypa = SourceInfo::language_database("osv:pypa", &["PyPI"]);
        let os = DataKind::of_ecosystem("Debian:12");
        assert!(rank(&debian, &os) < rank(&ghsa, &os));
        assert!(rank(&ghsa, &os) < rank(&nvd, &os));
        let pypi = DataKind::of_ecosystem("PyPI");
        assert!(rank(&pypa, &pypi) < rank(&ghsa, &pypi));
        assert!(rank(&ghsa, &pypi) < rank(&nvd, &pypi));
        // PyPA is no authority on npm: GHSA is.
        let npm = DataKind::of_ecosystem("npm");
        assert!(rank(&ghsa, &npm) < rank(&pypa, &npm));
        assert_eq!(
            DataKind::of_ecosystems(["PyPI", "Debian:12"]),
            DataKind::General
        );
        assert_eq!(
            DataKind::of_ecosystems(["Alpine:v3.20", "Debian:12"]),
            DataKind::Os
        );
    }

    #[test]
    fn pypi_names_are_normalized_for_matching() {
        assert_eq!(
            package_key("PyPI", "GitPython"),
            package_key("PyPI", "gitpython")
        );
        assert_eq!(package_key("PyPI", "zope.interface").1, "zope-interface");
        assert_ne!(package_key("npm", "Foo"), package_key("npm", "foo"));
    }

    #[test]
    fn newer_sorts_first() {
        let mut v = [
            freshness(Some("2023-01-01T00:00:00Z")),
            freshness(None),
            freshness(Some("2024-01-01T00:00:00.5Z")),
        ];
        v.sort();
        assert_eq!(v[0], freshness(Some("2024-01-01T00:00:00.5Z")));
        assert_eq!(v[2], freshness(None));
    }
}

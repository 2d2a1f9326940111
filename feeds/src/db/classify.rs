//! What kind of feed a source is, for the merge's precedence: decided once
//! at build time from the connector and the records, and kept in the
//! metadata so a lookup merges exactly as a build would.
//!
//! - Debian tracker, Alpine secdb: distro feeds.
//! - The GHSA layout: GHSA.
//! - OSV: a distro feed when most of its affected packages are of OS
//!   ecosystems (AlmaLinux, Debian OSV, …); GHSA when most record ids are
//!   `GHSA-…` (GHSA exported as OSV); otherwise a language database
//!   authoritative for the ecosystems it names (PyPA → PyPI, Go vulndb →
//!   Go, RustSec → crates.io).

use std::collections::BTreeSet;

use stella_model::Advisory;

use crate::connector::SourceKind;
use crate::merge::{DataKind, SourceClass, SourceInfo};

/// The merge's view of a source named `name` that `kind` imported.
pub fn classify(kind: SourceKind, name: &str, advisories: &[Advisory]) -> SourceInfo {
    match kind {
        SourceKind::DebianTracker | SourceKind::AlpineSecdb => {
            SourceInfo::new(name, SourceClass::Distro)
        }
        SourceKind::Ghsa => SourceInfo::new(name, SourceClass::Ghsa),
        SourceKind::Osv => classify_osv(name, advisories),
    }
}

fn classify_osv(name: &str, advisories: &[Advisory]) -> SourceInfo {
    let (mut os, mut language) = (0usize, 0usize);
    let mut ecosystems = BTreeSet::new();
    for a in advisories.iter().flat_map(|a| &a.affected) {
        match DataKind::of_ecosystem(&a.ecosystem) {
            DataKind::Os => os += 1,
            _ => {
                language += 1;
                let family = a.ecosystem.split(':').next().unwrap_or("");
                if !family.is_empty() {
                    ecosystems.insert(family.to_string());
                }
            }
        }
    }
    let ghsa_ids = advisories
        .iter()
        .filter(|a| a.id.starts_with("GHSA-"))
        .count();
    if os > language {
        SourceInfo::new(name, SourceClass::Distro)
    } else if ghsa_ids * 2 > advisories.len() {
        SourceInfo::new(name, SourceClass::Ghsa)
    } else {
        SourceInfo {
            name: name.to_string(),
            class: SourceClass::LanguageDatabase,
            ecosystems: ecosystems.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stella_model::AffectedPackage;

    fn adv(id: &str, ecosystem: &str) -> Advisory {
        Advisory {
            id: id.into(),
            affected: vec![AffectedPackage {
                ecosystem: ecosystem.into(),
                name: "p".into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn classes() {
        let c = |kind, list: &[Advisory]| classify(kind, "s", list);
        assert_eq!(c(SourceKind::DebianTracker, &[]).class, SourceClass::Distro);
        assert_eq!(c(SourceKind::AlpineSecdb, &[]).class, SourceClass::Distro);
        assert_eq!(c(SourceKind::Ghsa, &[]).class, SourceClass::Ghsa);
        let alma = [
            adv("ALSA-2023:1", "AlmaLinux:9"),
            adv("ALSA-2023:2", "AlmaLinux:9"),
        ];
        assert_eq!(c(SourceKind::Osv, &alma).class, SourceClass::Distro);
        let ghsa = [
            adv("GHSA-aaaa-bbbb-cccc", "npm"),
            adv("GHSA-dddd-eeee-ffff", "PyPI"),
        ];
        assert_eq!(c(SourceKind::Osv, &ghsa).class, SourceClass::Ghsa);
        let pypa = [
            adv("PYSEC-2021-1", "PyPI"),
            adv("GHSA-aaaa-bbbb-cccc", "PyPI"),
        ];
        let info = c(SourceKind::Osv, &pypa);
        assert_eq!(info.class, SourceClass::LanguageDatabase);
        assert_eq!(info.ecosystems, ["PyPI"]);
    }
}

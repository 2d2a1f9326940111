//! The image's distro release → the ecosystem its OS packages are matched
//! in. OS packages are only ever matched against their own release: a
//! Debian 11 advisory says nothing about a Debian 12 image.
//!
//! | os-release `ID` | `VERSION_ID` | ecosystem(s) tried, first held wins |
//! |---|---|---|
//! | `debian` | `12` (or, without one, `VERSION_CODENAME` `trixie` → 13) | `Debian:12` |
//! | `ubuntu` | `22.04` | `Ubuntu:22.04:LTS`, `Ubuntu:22.04` |
//! | `alpine` | `3.19.1` | `Alpine:v3.19` |
//! | `wolfi` / `chainguard` | — | `Wolfi` / `Chainguard` |
//! | `almalinux` | `9.3` | `AlmaLinux:9` |
//! | `rocky` | `9.3` | `Rocky Linux:9` |
//! | `opensuse-leap` | `15.5` | `openSUSE:Leap 15.5` |
//!
//! The candidates are looked for in [`super::AdvisorySource::ecosystems`],
//! exactly first, then ignoring ASCII case (the source's spelling is used).
//! Any other distro, or a release the feeds do not hold, leaves the OS
//! packages unmatched, with a warning.

use stella_model::{ComponentKind, Distro};

/// The package format a distro release is matched with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DistroFamily {
    Deb,
    Apk,
    Rpm,
}

impl DistroFamily {
    /// The family of an OS package kind; `None` for language packages.
    pub fn of_kind(kind: ComponentKind) -> Option<DistroFamily> {
        match kind {
            ComponentKind::Deb => Some(DistroFamily::Deb),
            ComponentKind::Apk => Some(DistroFamily::Apk),
            ComponentKind::Rpm => Some(DistroFamily::Rpm),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DistroFamily::Deb => "deb",
            DistroFamily::Apk => "apk",
            DistroFamily::Rpm => "rpm",
        }
    }
}

/// The release OS packages are matched in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub family: DistroFamily,
    /// As the source spells it.
    pub ecosystem: String,
}

/// Debian codenames of releases without a `VERSION_ID` (testing images).
const DEBIAN_CODENAMES: &[(&str, &str)] = &[
    ("wheezy", "7"),
    ("jessie", "8"),
    ("stretch", "9"),
    ("buster", "10"),
    ("bullseye", "11"),
    ("bookworm", "12"),
    ("trixie", "13"),
    ("forky", "14"),
    ("duke", "15"),
];

/// The family and the ecosystem names a release may be held under, best
/// first; `None` for a distro we have no mapping for.
pub fn release_ecosystems(distro: &Distro) -> Option<(DistroFamily, Vec<String>)> {
    let id = distro.id.trim().to_ascii_lowercase();
    let version = distro
        .version_id
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let major = version.map(|v| v.split('.').next().unwrap_or(v));
    let major_minor = version.map(|v| {
        let mut parts = v.split('.');
        match (parts.next(), parts.next()) {
            (Some(a), Some(b)) => format!("{a}.{b}"),
            _ => v.to_string(),
        }
    });
    Some(match id.as_str() {
        "debian" => {
            let number = major.map(str::to_string).or_else(|| {
                let codename = distro.version_codename.as_deref()?.trim();
                DEBIAN_CODENAMES
                    .iter()
                    .find(|(name, _)| *name == codename)
                    .map(|(_, n)| n.to_string())
            })?;
            (DistroFamily::Deb, vec![format!("Debian:{number}")])
        }
        "ubuntu" => {
            let v = version?;
            (
                DistroFamily::Deb,
                vec![format!("Ubuntu:{v}:LTS"), format!("Ubuntu:{v}")],
            )
        }
        "alpine" => {
            // `3.20_alpha20240329` (edge snapshots) has no release of its own.
            let v = major_minor?;
            if !v.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                return None;
            }
            (DistroFamily::Apk, vec![format!("Alpine:v{v}")])
        }
        "wolfi" => (DistroFamily::Apk, vec!["Wolfi".to_string()]),
        "chainguard" => (DistroFamily::Apk, vec!["Chainguard".to_string()]),
        "almalinux" => (DistroFamily::Rpm, vec![format!("AlmaLinux:{}", major?)]),
        "rocky" => (DistroFamily::Rpm, vec![format!("Rocky Linux:{}", major?)]),
        "opensuse-leap" => (
            DistroFamily::Rpm,
            vec![format!("openSUSE:Leap {}", version?)],
        ),
        _ => return None,
    })
}

/// The release of `distro` among the ecosystems the source holds, or why
/// there is none (the warning's text).
pub fn resolve(distro: Option<&Distro>, held: &[String]) -> Result<Release, String> {
    let Some(distro) = distro else {
        return Err("the image has no os-release, so its distro release is unknown".into());
    };
    let label = format!(
        "{} {}",
        distro.id,
        distro
            .version_id
            .as_deref()
            .or(distro.version_codename.as_deref())
            .unwrap_or("(no version)")
    );
    let Some((family, candidates)) = release_ecosystems(distro) else {
        return Err(format!(
            "no advisory ecosystem is known for distro {label} ({})",
            distro.evidence
        ));
    };
    let exact = candidates
        .iter()
        .find_map(|c| held.iter().find(|h| *h == c));
    let found = exact.or_else(|| {
        candidates
            .iter()
            .find_map(|c| held.iter().find(|h| h.eq_ignore_ascii_case(c)))
    });
    match found {
        Some(ecosystem) => Ok(Release {
            family,
            ecosystem: ecosystem.clone(),
        }),
        None => Err(format!(
            "the feeds hold no advisories for {label} (looked for {})",
            candidates.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distro(id: &str, version: Option<&str>, codename: Option<&str>) -> Distro {
        Distro {
            id: id.into(),
            version_id: version.map(str::to_string),
            version_codename: codename.map(str::to_string),
            evidence: "etc/os-release".into(),
            ..Distro::default()
        }
    }

    fn first(id: &str, version: Option<&str>, codename: Option<&str>) -> Option<String> {
        release_ecosystems(&distro(id, version, codename)).map(|(_, c)| c[0].clone())
    }

    #[test]
    fn releases_map_to_osv_ecosystems() {
        assert_eq!(
            first("debian", Some("12"), None).as_deref(),
            Some("Debian:12")
        );
        assert_eq!(
            first("debian", None, Some("trixie")).as_deref(),
            Some("Debian:13")
        );
        assert_eq!(first("debian", None, None), None);
        assert_eq!(
            first("alpine", Some("3.19.1"), None).as_deref(),
            Some("Alpine:v3.19")
        );
        assert_eq!(first("alpine", Some("3.20_alpha20240329"), None), None);
        assert_eq!(
            first("almalinux", Some("9.3"), None).as_deref(),
            Some("AlmaLinux:9")
        );
        assert_eq!(
            first("ubuntu", Some("22.04"), None).as_deref(),
            Some("Ubuntu:22.04:LTS")
        );
        assert_eq!(first("rhel", Some("9.3"), None), None, "no guessing");
    }

    #[test]
    fn resolution_uses_the_sources_spelling_and_says_why_not() {
        let held = vec!["alpine:V3.19".to_string(), "Debian:11".to_string()];
        let alpine = resolve(Some(&distro("alpine", Some("3.19.1"), None)), &held);
        assert_eq!(alpine.map(|r| r.ecosystem).as_deref(), Ok("alpine:V3.19"));
        let e = resolve(Some(&distro("debian", Some("12"), None)), &held).unwrap_err();
        assert!(e.contains("Debian:12") && e.contains("debian 12"), "{e}");
        assert!(resolve(None, &held).unwrap_err().contains("os-release"));
    }
}

//! Component → the keys it is looked up by (the module table in
//! [`super`]), or why it is not matched at all.

use stella_model::{pypi_name, pypi_name_is, Component, ComponentKind, Purl};

use super::distro::{DistroFamily, Release};

/// Which name of the component a probe uses (a finding's
/// `matchedBy.key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyKind {
    /// The component's own name.
    Package,
    /// The distro source package it was built from.
    SourcePackage,
    /// The Go toolchain's standard library.
    GoStdlib,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Package => "package",
            KeyKind::SourcePackage => "source-package",
            KeyKind::GoStdlib => "go-stdlib",
        }
    }
}

/// One lookup of a component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The ecosystem and name asked of the source.
    pub ecosystem: String,
    pub name: String,
    pub kind: KeyKind,
    /// The version compared with the advisory's ranges.
    pub version: String,
    /// For an OS binary-name probe: entries that name a source package must
    /// name this one (a Debian tracker entry for source `udev` says nothing
    /// about binary `udev` built from `systemd`).
    pub required_source: Option<String>,
    /// An OS package probe (the distro's own severity comes first).
    pub os: bool,
}

impl Probe {
    /// Whether an advisory entry's package name is this probe's: PEP 503
    /// for PyPI, case-insensitive for NuGet (package ids are), exact
    /// otherwise.
    pub fn names_match(&self, ecosystem: &str, name: &str) -> bool {
        if ecosystem != self.ecosystem {
            return false;
        }
        match self.ecosystem.as_str() {
            "PyPI" => pypi_name_is(name, &self.name),
            "NuGet" => name.eq_ignore_ascii_case(&self.name),
            _ => name == self.name,
        }
    }
}

/// Python distributions in Debian's `dist-packages` (see
/// `stella_analyzers::lang::python`).
const PYTHON_OS_MANAGED: &str = "stella:python:os-managed";
/// Gems installed by a Debian package (`stella_analyzers::lang::gem`).
const GEM_OS_MANAGED: &str = "stella:gem:os-managed";

/// The probes of `component`, or the reason it is not matched (the
/// warning's text, shared by every component skipped for it).
pub fn probes(
    component: &Component,
    release: &Result<Release, String>,
    folded_go_stdlib: bool,
) -> Result<Vec<Probe>, String> {
    let language = |ecosystem: &str, name: String, kind: KeyKind, version: String| Probe {
        ecosystem: ecosystem.to_string(),
        name,
        kind,
        version,
        required_source: None,
        os: false,
    };
    let name = component.name.clone();
    let version = component.version.clone();
    let probe = match component.kind {
        ComponentKind::Pypi => {
            if is_true(component, PYTHON_OS_MANAGED) {
                return Err(format!(
                    "Python distributions installed by the OS package manager ({PYTHON_OS_MANAGED}) \
                     are not matched against PyPI: their OS package's advisories apply"
                ));
            }
            language("PyPI", pypi_name(&name), KeyKind::Package, version)
        }
        ComponentKind::Gem => {
            if is_true(component, GEM_OS_MANAGED) {
                return Err(format!(
                    "gems installed by the OS package manager ({GEM_OS_MANAGED}) are not \
                     matched against RubyGems: their OS package's advisories apply"
                ));
            }
            language("RubyGems", name, KeyKind::Package, version)
        }
        ComponentKind::Maven => {
            let group = component
                .purl
                .as_ref()
                .and_then(|p| p.namespace())
                .filter(|g| !g.is_empty());
            let Some(group) = group else {
                return Err(
                    "Maven artifacts without a groupId (no purl) are not matched: \
                            a groupId is never guessed"
                        .into(),
                );
            };
            let artifact = component.purl.as_ref().map_or(name.as_str(), |p| p.name());
            language(
                "Maven",
                format!("{group}:{artifact}"),
                KeyKind::Package,
                version,
            )
        }
        ComponentKind::Golang if name == "stdlib" => {
            let semver = go_stdlib_semver(&version).unwrap_or(version);
            language("Go", name, KeyKind::GoStdlib, semver)
        }
        ComponentKind::Golang => language("Go", name, KeyKind::Package, version),
        ComponentKind::Npm => language("npm", name, KeyKind::Package, version),
        ComponentKind::Cargo => language("crates.io", name, KeyKind::Package, version),
        ComponentKind::Nuget => language("NuGet", name, KeyKind::Package, version),
        ComponentKind::Composer => language("Packagist", name, KeyKind::Package, version),
        ComponentKind::Deb | ComponentKind::Apk | ComponentKind::Rpm => {
            let family = match component.kind {
                ComponentKind::Deb => DistroFamily::Deb,
                ComponentKind::Apk => DistroFamily::Apk,
                _ => DistroFamily::Rpm,
            };
            let mut probes = os_probes(component, family, release)?;
            if folded_go_stdlib {
                probes.extend(folded_stdlib_probes(component));
            }
            return Ok(probes);
        }
    };
    Ok(vec![probe])
}

fn is_true(component: &Component, property: &str) -> bool {
    component
        .properties
        .get(property)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn os_probes(
    component: &Component,
    family: DistroFamily,
    release: &Result<Release, String>,
) -> Result<Vec<Probe>, String> {
    let release = release
        .as_ref()
        .map_err(|reason| format!("{} packages: {reason}", family.name()))?;
    if release.family != family {
        return Err(format!(
            "{} packages in an image whose release is {} ({} packages): that release's \
             advisories do not apply to them",
            family.name(),
            release.ecosystem,
            release.family.name()
        ));
    }
    let probe =
        |name: &str, kind: KeyKind, version: String, required_source: Option<String>| Probe {
            ecosystem: release.ecosystem.clone(),
            name: name.to_string(),
            kind,
            version,
            required_source,
            os: true,
        };
    let source = component
        .source
        .as_ref()
        .filter(|s| !s.name.trim().is_empty());
    let Some(source) = source else {
        return Ok(vec![probe(
            &component.name,
            KeyKind::Package,
            component.version.clone(),
            None,
        )]);
    };
    let source_version = if source.version.trim().is_empty() {
        component.version.clone()
    } else if family == DistroFamily::Rpm {
        rpm_source_evr(&source.version, &component.version)
    } else {
        source.version.clone()
    };
    let mut probes = vec![probe(
        &source.name,
        KeyKind::SourcePackage,
        source_version,
        None,
    )];
    if source.name != component.name {
        let binary = probe(
            &component.name,
            KeyKind::Package,
            component.version.clone(),
            Some(source.name.clone()),
        );
        // rpm distros' advisories (AlmaLinux OSV, Red Hat) name binary rpms:
        // the binary name is the precise key, the source name (whose
        // same-named binary shares the build's EVR) the fallback. Debian's
        // and Alpine's are keyed by source package.
        if family == DistroFamily::Rpm {
            probes.insert(0, binary);
        } else {
            probes.push(binary);
        }
    }
    Ok(probes)
}

/// Property listing the language packages folded into an OS package
/// (`stella_analyzers::ownership::LANGUAGE_PURLS`).
const LANGUAGE_PURLS: &str = "stella:language:purls";

/// `Go`/`stdlib` probes for the Go toolchains folded into an OS package
/// (`pkg:golang/stdlib@1.19.8` in [`LANGUAGE_PURLS`]: a Go binary the
/// package installed), one per distinct version.
fn folded_stdlib_probes(component: &Component) -> Vec<Probe> {
    let Some(purls) = component.properties.get(LANGUAGE_PURLS) else {
        return Vec::new();
    };
    let mut versions: Vec<String> = purls
        .split_whitespace()
        .filter_map(|p| Purl::parse(p).ok())
        .filter(|p| p.ty() == "golang" && p.namespace().is_none() && p.name() == "stdlib")
        .filter_map(|p| {
            p.version()
                .map(|v| go_stdlib_semver(v).unwrap_or_else(|| v.to_string()))
        })
        .collect();
    versions.sort();
    versions.dedup();
    versions
        .into_iter()
        .map(|version| Probe {
            ecosystem: "Go".into(),
            name: "stdlib".into(),
            kind: KeyKind::GoStdlib,
            version,
            required_source: None,
            os: false,
        })
        .collect()
}

/// A SOURCERPM file name carries no epoch (`openssl-3.0.7-27.el9.src.rpm`
/// for `openssl-libs-1:3.0.7-27.el9`); compared as is, every epoch-1
/// package would sort below its epoch-1 fixed version. The source is built
/// at the binary's epoch, so it takes the binary's.
fn rpm_source_evr(source_version: &str, binary_evr: &str) -> String {
    let has_epoch = |v: &str| {
        v.split_once(':')
            .is_some_and(|(e, _)| e.bytes().all(|b| b.is_ascii_digit()))
    };
    if has_epoch(source_version) {
        return source_version.to_string();
    }
    match binary_evr.split_once(':') {
        Some((epoch, _)) if has_epoch(binary_evr) && !epoch.is_empty() => {
            format!("{epoch}:{source_version}")
        }
        _ => source_version.to_string(),
    }
}

/// The Go toolchain's version as the Go vulnerability database writes it:
/// `go1.21.5`/`1.21.5` → `1.21.5`, `1.21` → `1.21.0`, `1.22rc1` →
/// `1.22.0-rc.1`, `1.20beta1` → `1.20.0-beta.1`. `None` for anything else.
pub fn go_stdlib_semver(version: &str) -> Option<String> {
    let v = version.trim();
    let v = v.strip_prefix("go").unwrap_or(v);
    let split = v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len());
    let (numbers, pre) = v.split_at(split);
    let parts: Vec<&str> = numbers.split('.').collect();
    if parts.is_empty()
        || parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let mut out = parts.join(".");
    for _ in parts.len()..3 {
        out.push_str(".0");
    }
    if !pre.is_empty() {
        let digits = pre.find(|c: char| c.is_ascii_digit()).unwrap_or(pre.len());
        let (word, number) = pre.split_at(digits);
        let known = matches!(word, "rc" | "beta" | "alpha");
        if !known || number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        out.push_str(&format!("-{word}.{number}"));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_toolchain_versions_become_vulndb_semver() {
        assert_eq!(go_stdlib_semver("go1.21.5").as_deref(), Some("1.21.5"));
        assert_eq!(go_stdlib_semver("1.21.5").as_deref(), Some("1.21.5"));
        assert_eq!(go_stdlib_semver("1.21").as_deref(), Some("1.21.0"));
        assert_eq!(
            go_stdlib_semver("go1.22rc1").as_deref(),
            Some("1.22.0-rc.1")
        );
        assert_eq!(
            go_stdlib_semver("1.20beta2").as_deref(),
            Some("1.20.0-beta.2")
        );
        assert_eq!(go_stdlib_semver("devel"), None);
        assert_eq!(go_stdlib_semver("1.2.3.4"), None);
        assert_eq!(go_stdlib_semver("1.22rc"), None);
    }

    #[test]
    fn rpm_sources_take_the_binary_epoch() {
        assert_eq!(
            rpm_source_evr("3.0.7-27.el9", "1:3.0.7-27.el9"),
            "1:3.0.7-27.el9"
        );
        assert_eq!(
            rpm_source_evr("3.0.7-27.el9", "3.0.7-27.el9"),
            "3.0.7-27.el9"
        );
        assert_eq!(rpm_source_evr("2:1.0-1", "1:1.0-1"), "2:1.0-1");
    }
}

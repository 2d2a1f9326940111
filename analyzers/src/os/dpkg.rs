//! dpkg's database: `var/lib/dpkg/status` (Debian, Ubuntu) and the one-file-
//! per-package `var/lib/dpkg/status.d/` of distroless images. Keeps the source
//! package and its version because Debian advisories are keyed by them.
//! dpkg's database records no licenses; they come from each package's
//! machine-readable `usr/share/doc/<package>/copyright` when it has one.

use stella_model::{Component, ComponentKind, Purl, SourcePackage};

use crate::analyzer::{AnalyzeContext, AnalyzerError, Findings, PackageAnalyzer};
use crate::fs::FsView;
use crate::os::os_release::purl_distro;

const STATUS: &str = "var/lib/dpkg/status";
pub(crate) const STATUS_D: &str = "var/lib/dpkg/status.d";
/// Each package's `debian/copyright` lands in `usr/share/doc/<package>/copyright`.
const DOC_DIR: &str = "usr/share/doc/";

pub struct DpkgAnalyzer;

impl PackageAnalyzer for DpkgAnalyzer {
    fn name(&self) -> &'static str {
        "dpkg"
    }

    fn version(&self) -> u32 {
        1
    }

    fn wants(&self, path: &str) -> bool {
        path == STATUS
            || path
                .strip_prefix(STATUS_D)
                .is_some_and(|rest| rest.starts_with('/') && !rest.ends_with(".md5sums"))
            || path
                .strip_prefix(DOC_DIR)
                .and_then(|rest| rest.strip_suffix("/copyright"))
                .is_some_and(|package| !package.is_empty() && !package.contains('/'))
    }

    fn analyze(
        &self,
        view: &dyn FsView,
        ctx: &AnalyzeContext<'_>,
    ) -> Result<Findings, AnalyzerError> {
        let mut findings = Findings::default();
        let view_err = |e: crate::fs::ViewError| AnalyzerError::new(STATUS, e.to_string());
        if let Some(file) = view.read(STATUS).map_err(view_err)? {
            for stanza in parse_status(file.bytes).map_err(|e| AnalyzerError::new(file.path, e))? {
                if let Some(c) = to_component(&stanza, file.path, ctx) {
                    findings.components.push(c);
                }
            }
        }
        for name in view.list_dir(STATUS_D).map_err(view_err)? {
            let path = format!("{STATUS_D}/{name}");
            if !self.wants(&path) {
                continue;
            }
            let Some(file) = view
                .read(&path)
                .map_err(|e| AnalyzerError::new(&path, e.to_string()))?
            else {
                continue;
            };
            for stanza in parse_status(file.bytes).map_err(|e| AnalyzerError::new(file.path, e))? {
                if let Some(c) = to_component(&stanza, file.path, ctx) {
                    findings.components.push(c);
                }
            }
        }
        for c in &mut findings.components {
            let path = format!("{DOC_DIR}{}/copyright", c.name);
            match view.read(&path) {
                Ok(Some(file)) => c.licenses = dep5_licenses(file.bytes),
                Ok(None) => {}
                Err(e) => findings
                    .notes
                    .push((path, format!("license not read: {e}"))),
            }
        }
        Ok(findings)
    }
}

/// License synopses (`License:` first lines) of a machine-readable
/// (DEP-5) `debian/copyright` file, sorted and unique. Free-form copyright
/// files give nothing: guessing licenses from prose is how SBOMs go wrong.
pub fn dep5_licenses(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines().map(|l| l.strip_suffix('\r').unwrap_or(l));
    let is_dep5 = lines
        .by_ref()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|first| first.starts_with("Format:") && first.contains("copyright-format"));
    if !is_dep5 {
        return Vec::new();
    }
    let mut found: Vec<String> = lines
        .filter_map(|l| l.strip_prefix("License:"))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|v| !v.is_empty())
        .collect();
    found.sort();
    found.dedup();
    found
}

/// One package paragraph: fields in file order, continuation lines folded in.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stanza {
    pub fields: Vec<(String, String)>,
}

impl Stanza {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses deb822 paragraphs. Every paragraph must name a Package and a
/// Version (a status file where one does not is corrupt, and guessing would
/// give a silently wrong SBOM).
pub fn parse_status(bytes: &[u8]) -> Result<Vec<Stanza>, String> {
    let text = String::from_utf8_lossy(bytes);
    let mut stanzas = Vec::new();
    let mut current = Stanza::default();
    let mut start_line = 1;
    let finish = |s: Stanza, start: usize, out: &mut Vec<Stanza>| -> Result<(), String> {
        if s.fields.is_empty() {
            return Ok(());
        }
        if s.get("Package").is_none_or(str::is_empty) {
            return Err(format!("paragraph at line {start} has no Package field"));
        }
        if s.get("Version").is_none_or(str::is_empty) && is_installed(&s) {
            return Err(format!(
                "paragraph at line {start} (package {}) has no Version field",
                s.get("Package").unwrap_or_default()
            ));
        }
        out.push(s);
        Ok(())
    };
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            finish(std::mem::take(&mut current), start_line, &mut stanzas)?;
            start_line = line_no + 1;
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            match current.fields.last_mut() {
                Some((_, v)) => {
                    v.push('\n');
                    v.push_str(line.trim_start());
                }
                None => return Err(format!("line {line_no}: continuation line outside a field")),
            }
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(format!(
                "line {line_no}: expected 'Field: value', got {:?}",
                truncate(line)
            ));
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(format!(
                "line {line_no}: bad field name {:?}",
                truncate(key)
            ));
        }
        if current.fields.is_empty() {
            start_line = line_no;
        }
        current
            .fields
            .push((key.to_string(), value.trim().to_string()));
    }
    finish(current, start_line, &mut stanzas)?;
    Ok(stanzas)
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

/// dpkg's want/flag/status triple; a package is present unless its status is
/// `not-installed` or `config-files` (only conffiles left). Distroless
/// status.d entries often carry no Status at all: they are installed.
fn is_installed(s: &Stanza) -> bool {
    match s.get("Status") {
        None => true,
        Some(status) => !matches!(
            status.split_whitespace().nth(2),
            Some("not-installed") | Some("config-files")
        ),
    }
}

/// `Source: name (version)` or `Source: name`; defaults to the binary package.
fn source_of(s: &Stanza, name: &str, version: &str) -> SourcePackage {
    match s.get("Source").map(str::trim).filter(|v| !v.is_empty()) {
        Some(src) => match src.split_once('(') {
            Some((n, v)) => SourcePackage {
                name: n.trim().to_string(),
                version: v.trim_end_matches(')').trim().to_string(),
            },
            None => SourcePackage {
                name: src.to_string(),
                version: version.to_string(),
            },
        },
        None => SourcePackage {
            name: name.to_string(),
            version: version.to_string(),
        },
    }
}

fn to_component(s: &Stanza, evidence: &str, ctx: &AnalyzeContext<'_>) -> Option<Component> {
    if !is_installed(s) {
        return None;
    }
    let name = s.get("Package")?;
    let version = s.get("Version")?;
    let mut c = Component::new(ComponentKind::Deb, name, version);
    c.arch = s
        .get("Architecture")
        .filter(|a| !a.is_empty())
        .map(str::to_string);
    c.source = Some(source_of(s, name, version));
    c.supplier = s
        .get("Maintainer")
        .filter(|m| !m.is_empty())
        .map(str::to_string);
    c.evidence = vec![evidence.to_string()];
    let namespace = ctx.distro.map(|d| d.id.as_str()).unwrap_or("debian");
    let mut purl = Purl::new("deb", name)
        .with_namespace(namespace)
        .with_version(version)
        .with_qualifier("distro", &purl_distro(ctx.distro));
    if let Some(arch) = &c.arch {
        purl = purl.with_qualifier("arch", arch);
    }
    c.purl = Some(purl);
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::MemFs;

    // Two paragraphs as dpkg writes them on Debian 12 (trimmed descriptions).
    const STATUS_SAMPLE: &str = "Package: libc6\nStatus: install ok installed\nPriority: optional\nSection: libs\nInstalled-Size: 12987\nMaintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>\nArchitecture: amd64\nMulti-Arch: same\nSource: glibc\nVersion: 2.36-9+deb12u4\nDescription: GNU C Library: Shared libraries\n Contains the standard libraries.\n\nPackage: libgcc-s1\nStatus: install ok installed\nArchitecture: amd64\nSource: gcc-12 (12.2.0-14)\nVersion: 12.2.0-14\n\nPackage: oldpkg\nStatus: deinstall ok config-files\nArchitecture: all\nVersion: 1.0\n";

    #[test]
    fn reads_status_with_sources() {
        let fs = MemFs::new().with_file(STATUS, STATUS_SAMPLE);
        let f = DpkgAnalyzer
            .analyze(&fs, &AnalyzeContext::default())
            .unwrap();
        assert_eq!(
            f.components.len(),
            2,
            "config-files packages are not installed"
        );
        let libc = &f.components[0];
        assert_eq!(libc.name, "libc6");
        assert_eq!(libc.source.as_ref().unwrap().name, "glibc");
        assert_eq!(libc.source.as_ref().unwrap().version, "2.36-9+deb12u4");
        assert_eq!(
            libc.purl.as_ref().unwrap().to_string(),
            "pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64"
        );
        let gcc = &f.components[1];
        assert_eq!(gcc.source.as_ref().unwrap().name, "gcc-12");
        assert_eq!(gcc.source.as_ref().unwrap().version, "12.2.0-14");
    }

    #[test]
    fn malformed_status_is_an_error_naming_the_line() {
        let fs = MemFs::new().with_file(STATUS, "Package: a\nVersion: 1\nthis is not a field\n");
        let err = DpkgAnalyzer
            .analyze(&fs, &AnalyzeContext::default())
            .unwrap_err();
        assert_eq!(err.path, STATUS);
        assert!(err.message.contains("line 3"), "{err}");
        let fs = MemFs::new().with_file(STATUS, "Status: install ok installed\nVersion: 1\n");
        assert!(DpkgAnalyzer
            .analyze(&fs, &AnalyzeContext::default())
            .is_err());
    }

    #[test]
    fn licenses_come_from_dep5_copyright_only() {
        let dep5 = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: jq\n\nFiles: *\nCopyright: 2012 Stephen Dolan\nLicense: MIT\n\nFiles: src/decNumber/*\nLicense: ICU\n\nLicense: MIT\n Permission is hereby granted...\n";
        assert_eq!(dep5_licenses(dep5.as_bytes()), vec!["ICU", "MIT"]);
        let prose = "This package was debianized by someone.\nLicense: GPL\n";
        assert!(dep5_licenses(prose.as_bytes()).is_empty());
        let fs = MemFs::new()
            .with_file(STATUS, STATUS_SAMPLE)
            .with_file("usr/share/doc/libc6/copyright", dep5);
        assert!(DpkgAnalyzer.wants("usr/share/doc/libc6/copyright"));
        assert!(!DpkgAnalyzer.wants("usr/share/doc/libc6/examples/copyright"));
        let f = DpkgAnalyzer
            .analyze(&fs, &AnalyzeContext::default())
            .unwrap();
        assert_eq!(f.components[0].licenses, vec!["ICU", "MIT"]);
        assert!(f.components[1].licenses.is_empty());
    }

    #[test]
    fn distroless_status_d() {
        let fs = MemFs::new()
            .with_file(
                "var/lib/dpkg/status.d/base-files",
                "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n",
            )
            .with_file(
                "var/lib/dpkg/status.d/base-files.md5sums",
                "abc  etc/debian_version\n",
            );
        let f = DpkgAnalyzer
            .analyze(&fs, &AnalyzeContext::default())
            .unwrap();
        assert_eq!(f.components.len(), 1);
        assert_eq!(
            f.components[0].evidence,
            vec!["var/lib/dpkg/status.d/base-files"]
        );
    }
}

//! Alpine's apk installed database (`lib/apk/db/installed`, or
//! `usr/lib/apk/db/installed` for apk-tools 3): the only record of which
//! packages an Alpine (or Wolfi, postmarketOS, …) image has.
//!
//! The format is a text file of stanzas separated by blank lines, each line a
//! one-letter key, a colon and a value (`P:` name, `V:` version, `o:` origin…).
//! Anything that does not fit that shape — a line without the `K:` prefix, a
//! stanza without `P:` or `V:`, bytes that are not UTF-8 — fails the whole
//! database with an error naming the line, because a silently incomplete SBOM
//! is worse than none.

use stella_model::{Component, ComponentKind, Distro, Purl, SourcePackage};

use crate::analyzer::{AnalyzeContext, AnalyzerError, Findings, PackageAnalyzer};
use crate::fs::FsView;

/// The classic location (apk-tools 2), preferred when both exist.
pub const APK_DB: &str = "lib/apk/db/installed";
/// The apk-tools 3 location (merged `/usr`).
pub const APK_DB_USR: &str = "usr/lib/apk/db/installed";

/// Longest accepted name, version, arch, origin or checksum (bytes).
const MAX_ID_LEN: usize = 1024;
/// Longest accepted license or maintainer value (bytes).
const MAX_TEXT_LEN: usize = 64 * 1024;

/// Property key holding the `C:` checksum of the package's control data.
pub const PROP_CHECKSUM: &str = "stella:apk:checksum";

/// Reads the apk installed database.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApkAnalyzer;

impl PackageAnalyzer for ApkAnalyzer {
    fn name(&self) -> &'static str {
        "apk"
    }

    fn version(&self) -> u32 {
        1
    }

    fn wants(&self, path: &str) -> bool {
        path == APK_DB || path == APK_DB_USR
    }

    fn analyze(
        &self,
        view: &dyn FsView,
        ctx: &AnalyzeContext<'_>,
    ) -> Result<Findings, AnalyzerError> {
        let read = |path: &str| {
            view.read(path)
                .map_err(|e| AnalyzerError::new(path, e.to_string()))
        };
        let classic = read(APK_DB)?;
        let usr = read(APK_DB_USR)?;
        let mut findings = Findings::default();
        let file = match (classic, usr) {
            (Some(c), Some(u)) => {
                // With a merged /usr both names usually lead to the same file;
                // two different databases mean something odd happened.
                if c.path != u.path && c.bytes != u.bytes {
                    findings.notes.push((
                        u.path.to_string(),
                        format!("ignored: {} is also present and takes precedence", c.path),
                    ));
                }
                c
            }
            (Some(f), None) | (None, Some(f)) => f,
            (None, None) => return Ok(findings),
        };
        let packages = parse(file.bytes).map_err(|e| AnalyzerError::new(file.path, e))?;
        let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for p in &packages {
            if let Some(first) = seen.insert(p.name, p.line) {
                findings.notes.push((
                    file.path.to_string(),
                    format!(
                        "package {} is recorded twice (stanzas at lines {first} and {})",
                        p.name, p.line
                    ),
                ));
            }
        }
        findings.components = packages
            .iter()
            .map(|p| to_component(p, file.path, ctx.distro))
            .collect();
        Ok(findings)
    }
}

/// One package stanza: only the fields Stella reports, borrowed from the input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApkPackage<'a> {
    /// Line number (1-based) of the stanza's first line.
    pub line: usize,
    pub name: &'a str,
    pub version: &'a str,
    pub arch: Option<&'a str>,
    pub license: Option<&'a str>,
    pub origin: Option<&'a str>,
    pub maintainer: Option<&'a str>,
    pub checksum: Option<&'a str>,
}

/// A stanza being read: each kept field with the line it came from.
#[derive(Default)]
struct Pending<'a> {
    start: usize,
    name: Option<(&'a str, usize)>,
    version: Option<(&'a str, usize)>,
    arch: Option<(&'a str, usize)>,
    license: Option<(&'a str, usize)>,
    origin: Option<(&'a str, usize)>,
    maintainer: Option<(&'a str, usize)>,
    checksum: Option<(&'a str, usize)>,
}

impl<'a> Pending<'a> {
    fn finish(self, end: usize) -> Result<ApkPackage<'a>, String> {
        let start = self.start;
        let (name, _) = self.name.ok_or_else(|| {
            format!("line {start}: package stanza (lines {start}-{end}) has no P: (name) line")
        })?;
        let (version, _) = self.version.ok_or_else(|| {
            format!(
                "line {start}: package {name:?} (stanza at lines {start}-{end}) has no V: (version) line"
            )
        })?;
        let opt = |f: Option<(&'a str, usize)>| f.map(|(v, _)| v).filter(|v| !v.is_empty());
        Ok(ApkPackage {
            line: start,
            name,
            version,
            arch: opt(self.arch),
            license: opt(self.license),
            origin: opt(self.origin),
            maintainer: opt(self.maintainer),
            checksum: opt(self.checksum),
        })
    }
}

/// Parses the whole database. Errors are messages starting with `line N:`.
pub fn parse(bytes: &[u8]) -> Result<Vec<ApkPackage<'_>>, String> {
    let mut packages = Vec::new();
    let mut pending: Option<Pending<'_>> = None;
    let mut last_line = 0;
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let number = index + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            if let Some(p) = pending.take() {
                packages.push(p.finish(last_line)?);
            }
            continue;
        }
        last_line = number;
        let line = std::str::from_utf8(raw).map_err(|e| {
            format!(
                "line {number}: not valid UTF-8 (byte {})",
                e.valid_up_to() + 1
            )
        })?;
        let (key, value) = split_field(line).ok_or_else(|| {
            format!(
                "line {number}: expected a `K:value` field, found {:?}",
                excerpt(line)
            )
        })?;
        let p = pending.get_or_insert_with(|| Pending {
            start: number,
            ..Pending::default()
        });
        let start = p.start;
        let (slot, limit, what) = match key {
            'P' => (&mut p.name, MAX_ID_LEN, "P: (name)"),
            'V' => (&mut p.version, MAX_ID_LEN, "V: (version)"),
            'A' => (&mut p.arch, MAX_ID_LEN, "A: (architecture)"),
            'o' => (&mut p.origin, MAX_ID_LEN, "o: (origin)"),
            'C' => (&mut p.checksum, MAX_ID_LEN, "C: (checksum)"),
            'L' => (&mut p.license, MAX_TEXT_LEN, "L: (license)"),
            'm' => (&mut p.maintainer, MAX_TEXT_LEN, "m: (maintainer)"),
            // Files, dependencies, sizes, descriptions…: not reported.
            _ => continue,
        };
        if let Some((_, previous)) = slot {
            return Err(format!(
                "line {number}: second {what} in the stanza starting at line {start} (first at line {previous})"
            ));
        }
        if value.len() > limit {
            return Err(format!(
                "line {number}: {what} value is {} bytes long (limit {limit})",
                value.len()
            ));
        }
        if matches!(key, 'P' | 'V') {
            if value.is_empty() {
                return Err(format!("line {number}: empty {what}"));
            }
            if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(format!(
                    "line {number}: {what} {:?} contains whitespace or control characters",
                    excerpt(value)
                ));
            }
        }
        *slot = Some((value, number));
    }
    if let Some(p) = pending.take() {
        packages.push(p.finish(last_line)?);
    }
    Ok(packages)
}

/// Splits `K:value`; the key is a single ASCII letter or digit.
fn split_field(line: &str) -> Option<(char, &str)> {
    let mut chars = line.chars();
    let key = chars.next().filter(char::is_ascii_alphanumeric)?;
    let rest = chars.as_str().strip_prefix(':')?;
    Some((key, rest))
}

/// The start of a long value, for error messages.
fn excerpt(s: &str) -> &str {
    match s.char_indices().nth(60) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The `distro` purl qualifier: `alpine-3.19.1`, or the bare id without a version.
fn purl_distro(d: &Distro) -> String {
    match &d.version_id {
        Some(v) if !v.is_empty() => format!("{}-{v}", d.id),
        _ => d.id.clone(),
    }
}

/// The package URL, shaped like syft's: `pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1`,
/// plus `upstream=<origin>` when the origin differs from the name.
pub fn purl(p: &ApkPackage<'_>, distro: Option<&Distro>) -> Purl {
    let namespace = distro
        .map(|d| d.id.to_ascii_lowercase())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| "alpine".to_string());
    let mut purl = Purl::new("apk", p.name)
        .with_namespace(&namespace)
        .with_version(p.version)
        .with_qualifier("arch", p.arch.unwrap_or(""));
    if let Some(d) = distro.filter(|d| !d.id.is_empty()) {
        purl = purl.with_qualifier("distro", &purl_distro(d));
    }
    if let Some(origin) = p.origin.filter(|o| *o != p.name) {
        purl = purl.with_qualifier("upstream", origin);
    }
    purl
}

fn to_component(p: &ApkPackage<'_>, evidence: &str, distro: Option<&Distro>) -> Component {
    let mut c = Component::new(ComponentKind::Apk, p.name, p.version);
    c.arch = p.arch.map(str::to_string);
    c.purl = Some(purl(p, distro));
    c.source = Some(SourcePackage {
        name: p.origin.unwrap_or(p.name).to_string(),
        version: p.version.to_string(),
    });
    c.licenses = p.license.map(str::to_string).into_iter().collect();
    c.supplier = p.maintainer.map(str::to_string);
    c.evidence = vec![evidence.to_string()];
    if let Some(sum) = p.checksum {
        c.properties
            .insert(PROP_CHECKSUM.to_string(), sum.to_string());
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_stanza() {
        let pkgs = parse(b"P:a\nV:1-r0\n").expect("parses");
        assert_eq!(pkgs.len(), 1);
        assert_eq!((pkgs[0].name, pkgs[0].version), ("a", "1-r0"));
        assert_eq!(pkgs[0].origin, None);
    }

    #[test]
    fn missing_version_names_the_stanza() {
        let err = parse(b"P:a\nV:1\n\n\nP:b\nA:x86_64\n").expect_err("no V");
        assert!(err.starts_with("line 5:"), "{err}");
        assert!(err.contains("\"b\""), "{err}");
    }
}

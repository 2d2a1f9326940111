//! Java archives — jar, war, ear and their kin (`par sar jpi hpi kar nar`):
//! which Maven artifacts they hold, including the jars nested inside them
//! (Spring Boot's `BOOT-INF/lib/`, a war's `WEB-INF/lib/`, an ear's `lib/`).
//!
//! Identity, per archive (the top-level file and every nested one):
//! - every `META-INF/maven/**/pom.properties` is one component, purl
//!   `pkg:maven/GROUP/ARTIFACT@VERSION` (a shaded jar carries several: each is
//!   reported, [`PROP_POM_PROPERTIES`] tells them apart). One missing a field
//!   is a note naming it, and is not reported.
//! - only when the archive has no usable `pom.properties`: the manifest's
//!   `Implementation-Title` (when it is one word) or `Bundle-SymbolicName`,
//!   and `Implementation-Version` or `Bundle-Version`, the file name
//!   (`commons-io-2.11.0.jar`) filling what is missing. Such a component has
//!   no groupId, and we never guess one: it gets **no purl** and is marked
//!   [`PROP_GROUP_UNKNOWN`]. A purl is what vulnerability matchers key on; a
//!   made-up or empty namespace would match the wrong artifact or none while
//!   looking authoritative. The component stays in the inventory with its
//!   SHA-1 ([`PROP_SHA1`]), which identifies a published artifact exactly.
//!
//! Evidence: the archive's path; a nested archive is named by the JAR URL
//! convention, `outer.war!/WEB-INF/lib/mid.jar!/lib/inner.jar` (what
//! `jar:file:` URLs and Spring Boot's nested-jar URLs use). The engine then
//! adds the physical file's path, so a nested component's evidence is
//! `[outer.jar!/BOOT-INF/lib/x.jar, outer.jar]`.
//!
//! Hostile archives: the bytes are untrusted, so nesting depth, entries per
//! archive, bytes inflated per top-level file and per nested archive, and the
//! declared compression ratio are bounded ([`JarLimits`]). Crossing a bound is
//! a note naming the archive or entry and the bound; the rest goes on.

mod meta;

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use sha1::{Digest, Sha1};
use stella_model::{Component, ComponentKind, Purl};
use zip::ZipArchive;

use crate::file_analyzer::{FileAnalyzer, FileReport};

pub use meta::{parse_manifest, parse_properties, split_file_name};

/// File extensions of Java archives (compared case-insensitively).
pub const ARCHIVE_EXTENSIONS: [&str; 9] = [
    "jar", "war", "ear", "par", "sar", "jpi", "hpi", "kar", "nar",
];
/// A zip local file header: what a Java archive starts with.
const ZIP_LOCAL_HEADER: &[u8] = b"PK\x03\x04";
const MANIFEST: &str = "META-INF/MANIFEST.MF";

/// SHA-1 (lowercase hex) of the bytes of the archive the component was found
/// in: the nested jar's own bytes for a nested jar. For a shaded artifact it
/// is the SHA-1 of the archive it was shaded into.
pub const PROP_SHA1: &str = "stella:java:sha1";
/// `true` when no `pom.properties` named the groupId (no purl then).
pub const PROP_GROUP_UNKNOWN: &str = "stella:java:group-unknown";
/// Path, inside its archive, of the `pom.properties` the component came from.
pub const PROP_POM_PROPERTIES: &str = "stella:java:pom-properties";
/// Where a component without `pom.properties` got its name: a manifest
/// header name or `file-name`.
pub const PROP_NAME_FROM: &str = "stella:java:name-from";
/// Where a component without `pom.properties` got its version.
pub const PROP_VERSION_FROM: &str = "stella:java:version-from";

/// Bounds against zip bombs and pathological archives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JarLimits {
    /// Archives nested below the top-level file that are opened
    /// (`a.jar!/b.jar` is depth 1).
    pub max_depth: u32,
    /// Entries looked at in one archive (the first ones, central directory order).
    pub max_entries: usize,
    /// Bytes inflated in all, per top-level file (nested archives, metadata).
    pub max_total_inflated: u64,
    /// Largest nested archive that is inflated and opened.
    pub max_nested_archive: u64,
    /// Largest declared inflated/compressed ratio accepted for an entry over
    /// [`RATIO_FLOOR`] bytes. Deflate peaks near 1032:1, which only filler
    /// reaches; a real nested jar is near 1:1.
    pub max_ratio: u64,
    /// Largest `pom.properties` read; also how much of a `MANIFEST.MF` is read
    /// (its main section is at the start; signed jars append a digest per entry).
    pub max_metadata_file: u64,
}

/// Entries smaller than this are never judged by their compression ratio.
pub const RATIO_FLOOR: u64 = 1 << 20;

impl Default for JarLimits {
    fn default() -> Self {
        JarLimits {
            max_depth: 4,
            max_entries: 65_536,
            max_total_inflated: 512 << 20,
            max_nested_archive: 256 << 20,
            max_ratio: 100,
            max_metadata_file: 1 << 20,
        }
    }
}

/// The Java archive analyzer (`java`).
#[derive(Debug, Clone, Default)]
pub struct JarAnalyzer {
    pub limits: JarLimits,
}

impl JarAnalyzer {
    pub fn with_limits(limits: JarLimits) -> JarAnalyzer {
        JarAnalyzer { limits }
    }
}

/// True when `name`'s extension is one of [`ARCHIVE_EXTENSIONS`].
pub fn has_archive_extension(name: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    file.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty()
            && ARCHIVE_EXTENSIONS
                .iter()
                .any(|e| ext.eq_ignore_ascii_case(e))
    })
}

impl FileAnalyzer for JarAnalyzer {
    fn name(&self) -> &'static str {
        "java"
    }

    fn version(&self) -> u32 {
        1
    }

    fn claims(&self, path: &str, _mode: u32, head: &[u8]) -> bool {
        head.starts_with(ZIP_LOCAL_HEADER) && has_archive_extension(path)
    }

    fn analyze_file(&self, path: &str, data: &[u8], report: &mut FileReport) -> Result<(), String> {
        let mut walk = Walk {
            limits: &self.limits,
            top: path,
            inflated: 0,
            exhausted: false,
            found: BTreeMap::new(),
            notes: Vec::new(),
        };
        walk.archive(path, data, 0);
        report.components.extend(walk.found.into_values());
        report.notes.extend(walk.notes);
        Ok(())
    }
}

/// Identity used to report a component once per top-level file: group (if
/// known), name, version and the SHA-1 of the archive holding it — the same
/// artifact in identical bytes twice (a jar copied to two places in a war)
/// is one component with two evidence paths.
type Key = (Option<String>, String, String, String);

/// One top-level file's walk through its archives.
struct Walk<'a> {
    limits: &'a JarLimits,
    top: &'a str,
    inflated: u64,
    /// Set once the inflate budget is spent: nothing more is read.
    exhausted: bool,
    found: BTreeMap<Key, Component>,
    notes: Vec<String>,
}

type Zip<'b> = ZipArchive<Cursor<&'b [u8]>>;

/// How to treat an entry larger than the cap.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Oversize {
    /// Skip it with a note.
    Refuse,
    /// Read only the first `cap` bytes.
    Prefix,
}

impl Walk<'_> {
    fn note(&mut self, label: &str, message: impl std::fmt::Display) {
        self.notes.push(format!("java: {label}: {message}"));
    }

    /// Reads one archive (`label` names it), then the archives nested in it.
    fn archive(&mut self, label: &str, bytes: &[u8], depth: u32) {
        let sha1 = hex::encode(Sha1::digest(bytes));
        let mut zip = match ZipArchive::new(Cursor::new(bytes)) {
            Ok(zip) => zip,
            Err(e) => return self.note(label, format_args!("not a readable zip archive: {e}")),
        };
        let total = zip.len();
        let looked_at = total.min(self.limits.max_entries);
        if total > looked_at {
            self.note(
                label,
                format_args!(
                    "{total} entries, over the {looked_at}-entry limit: the rest were not looked at"
                ),
            );
        }

        let mut poms = Vec::new();
        let mut manifest = None;
        let mut nested = Vec::new();
        for index in 0..looked_at {
            let Some(name) = zip.name_for_index(index) else {
                continue;
            };
            if name.ends_with('/') {
                continue;
            }
            if name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties") {
                poms.push((index, printable(name)));
            } else if name.eq_ignore_ascii_case(MANIFEST) {
                manifest.get_or_insert(index);
            } else if has_archive_extension(name) {
                nested.push((index, printable(name)));
            }
        }

        let mut identified = false;
        for (index, name) in &poms {
            let entry = format!("{label}!/{name}");
            let cap = self.limits.max_metadata_file;
            if let Some(data) = self.read_entry(&mut zip, *index, &entry, cap, Oversize::Refuse) {
                identified |= self.report_pom_properties(label, name, &data, &sha1);
            }
        }
        if !identified {
            let headers = match manifest {
                Some(index) => {
                    let entry = format!("{label}!/{MANIFEST}");
                    let cap = self.limits.max_metadata_file;
                    self.read_entry(&mut zip, index, &entry, cap, Oversize::Prefix)
                        .map(|data| meta::parse_manifest(&data))
                        .unwrap_or_default()
                }
                None => Vec::new(),
            };
            self.report_from_manifest(label, &headers, &sha1);
        }

        for (index, name) in nested {
            let entry = format!("{label}!/{name}");
            if depth >= self.limits.max_depth {
                self.note(
                    &entry,
                    format_args!(
                        "not opened: nested more than {} archives deep",
                        self.limits.max_depth
                    ),
                );
                continue;
            }
            let cap = self.limits.max_nested_archive;
            let Some(inner) = self.read_entry(&mut zip, index, &entry, cap, Oversize::Refuse)
            else {
                continue;
            };
            // A `.jar` that is not a zip (an empty placeholder, a test
            // resource) holds nothing to report, as for top-level files.
            if inner.starts_with(ZIP_LOCAL_HEADER) {
                self.archive(&entry, &inner, depth + 1);
            }
        }
    }

    /// Inflates one entry within the limits; `None` (with a note) when it
    /// must not or cannot be read.
    fn read_entry(
        &mut self,
        zip: &mut Zip<'_>,
        index: usize,
        label: &str,
        cap: u64,
        oversize: Oversize,
    ) -> Option<Vec<u8>> {
        if self.exhausted {
            return None;
        }
        let file = match zip.by_index(index) {
            Ok(file) => file,
            Err(e) => {
                self.note(label, format_args!("unreadable entry: {e}"));
                return None;
            }
        };
        let declared = file.size();
        let packed = file.compressed_size();
        let want = match oversize {
            Oversize::Prefix => declared.min(cap),
            Oversize::Refuse if declared > cap => {
                self.note(
                    label,
                    format_args!(
                        "not read: inflates to {declared} bytes, over the {cap}-byte limit"
                    ),
                );
                return None;
            }
            Oversize::Refuse => {
                if declared > RATIO_FLOOR && declared / packed.max(1) > self.limits.max_ratio {
                    self.note(
                        label,
                        format_args!(
                            "not read: {packed} bytes inflate to {declared}, over the {}:1 compression ratio limit",
                            self.limits.max_ratio
                        ),
                    );
                    return None;
                }
                declared
            }
        };
        let left = self.limits.max_total_inflated.saturating_sub(self.inflated);
        if want > left {
            self.exhausted = true;
            let (top, max, done) = (
                self.top.to_string(),
                self.limits.max_total_inflated,
                self.inflated,
            );
            self.note(
                &top,
                format_args!(
                    "stopped after inflating {done} bytes: {label} ({want} bytes) would pass the {max}-byte limit per file; it and later entries were not read"
                ),
            );
            return None;
        }
        // Sized by the declared length, which is bounded above; the read is
        // bounded too, in case the entry inflates past what it declares.
        let mut data = Vec::with_capacity(usize::try_from(want.min(8 << 20)).unwrap_or(0));
        let limit = if oversize == Oversize::Prefix {
            want
        } else {
            want + 1
        };
        let result = file.take(limit).read_to_end(&mut data);
        self.inflated += data.len() as u64;
        if let Err(e) = result {
            self.note(label, format_args!("unreadable entry: {e}"));
            return None;
        }
        if data.len() as u64 > want {
            self.note(
                label,
                format_args!("not read: inflates past the {declared} bytes it declares"),
            );
            return None;
        }
        Some(data)
    }

    /// One `pom.properties`; false (with a note) when a field is missing.
    fn report_pom_properties(
        &mut self,
        archive: &str,
        entry: &str,
        data: &[u8],
        sha1: &str,
    ) -> bool {
        let props = meta::parse_properties(data);
        let field = |key: &str| {
            props
                .get(key)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let (group, artifact, version) = (field("groupId"), field("artifactId"), field("version"));
        let (Some(group), Some(artifact), Some(version)) = (group, artifact, version) else {
            let missing: Vec<&str> = ["groupId", "artifactId", "version"]
                .into_iter()
                .filter(|k| field(k).is_none())
                .collect();
            self.note(
                &format!("{archive}!/{entry}"),
                format_args!("no {} in pom.properties; not reported", missing.join(", ")),
            );
            return false;
        };
        let mut c = Component::new(ComponentKind::Maven, &artifact, &version);
        c.purl = Some(
            Purl::new("maven", &artifact)
                .with_namespace(&group)
                .with_version(&version),
        );
        c.properties.insert(PROP_SHA1.into(), sha1.into());
        c.properties
            .insert(PROP_POM_PROPERTIES.into(), entry.to_string());
        self.add((Some(group), artifact, version, sha1.into()), c, archive);
        true
    }

    /// The archive's identity from its manifest and file name (no groupId).
    fn report_from_manifest(&mut self, archive: &str, headers: &[(String, String)], sha1: &str) {
        let get = |name: &'static str| meta::manifest_get(headers, name).map(|v| (v, name));
        let manifest_version = get("Implementation-Version").or_else(|| get("Bundle-Version"));
        let file_name = archive.rsplit('/').next().unwrap_or(archive);
        let (file_stem_name, file_version) =
            meta::split_file_name(file_name, manifest_version.map(|(v, _)| v));
        // A title with blanks is prose ("Apache Commons IO"), not an artifact name.
        let title = get("Implementation-Title").filter(|(t, _)| !t.contains(char::is_whitespace));
        let symbolic = get("Bundle-SymbolicName")
            .map(|(v, n)| (v.split(';').next().unwrap_or(v).trim(), n))
            .filter(|(v, _)| !v.is_empty());
        let (name, name_from) = title
            .or(symbolic)
            .unwrap_or((file_stem_name.as_str(), "file-name"));
        let Some((version, version_from)) = manifest_version
            .map(|(v, n)| (v.to_string(), n))
            .or(file_version.map(|v| (v, "file-name")))
        else {
            self.note(
                archive,
                "no pom.properties, and neither MANIFEST.MF nor the file name gives a version; not reported",
            );
            return;
        };
        let mut c = Component::new(ComponentKind::Maven, name, &version);
        c.properties.insert(PROP_SHA1.into(), sha1.into());
        c.properties
            .insert(PROP_GROUP_UNKNOWN.into(), "true".into());
        c.properties.insert(PROP_NAME_FROM.into(), name_from.into());
        c.properties
            .insert(PROP_VERSION_FROM.into(), version_from.into());
        self.add((None, name.to_string(), version, sha1.into()), c, archive);
    }

    fn add(&mut self, key: Key, mut c: Component, archive: &str) {
        let existing = self.found.entry(key).or_insert_with(|| {
            c.evidence.clear();
            c
        });
        if !existing.evidence.iter().any(|e| e == archive) {
            existing.evidence.push(archive.to_string());
        }
    }
}

/// An entry name fit for evidence and notes: control characters replaced.
fn printable(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_java_archives_by_extension_and_magic() {
        let a = JarAnalyzer::default();
        let zip = b"PK\x03\x04rest";
        assert!(a.claims("usr/share/java/x.jar", 0o644, zip));
        assert!(a.claims("opt/app/APP.WAR", 0o644, zip));
        assert!(a.claims("var/jenkins/plugins/git.hpi", 0o644, zip));
        assert!(!a.claims("usr/share/java/x.jar", 0o644, b"PK\x05\x06"));
        assert!(!a.claims("usr/share/java/x.zip", 0o644, zip));
        assert!(!a.claims("usr/share/java/.jar", 0o644, zip));
        assert!(!a.claims("usr/share/jar", 0o644, zip));
    }

    #[test]
    fn garbage_is_a_note_not_a_panic() {
        let mut report = FileReport::default();
        JarAnalyzer::default()
            .analyze_file("x.jar", b"PK\x03\x04 not really", &mut report)
            .unwrap();
        assert!(report.components.is_empty());
        assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
        assert!(
            report.notes[0].starts_with("java: x.jar: not a readable zip archive"),
            "{:?}",
            report.notes
        );
    }
}

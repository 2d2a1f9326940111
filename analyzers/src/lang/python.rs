//! Installed Python distributions: `<name>-<ver>.dist-info/METADATA` (wheels,
//! modern pip) and `<name>-<ver>.egg-info/PKG-INFO` or a bare `*.egg-info`
//! file (setuptools, distutils, Debian), wherever they sit — system
//! site-packages, Debian's dist-packages, `pip install --target` dirs, venvs.
//!
//! Why this reader and not a lockfile: these files are what the interpreter
//! itself sees as installed (`importlib.metadata` reads exactly them), so they
//! describe the code that runs in the image. Only the RFC 822-style header
//! block is read; the description body after it is ignored, and the header
//! block is size-bounded. A broken distribution becomes a note naming its
//! file, never an error: one bad `METADATA` must not hide the others.
//!
//! Debian's own `python3-*` packages land in `usr/lib/python3/dist-packages`;
//! they are reported too, marked [`PROP_OS_MANAGED`], so that a later step can
//! dedupe them against dpkg's file lists.

use std::collections::BTreeSet;

use stella_model::{Component, ComponentKind, Purl};

use crate::analyzer::{AnalyzeContext, AnalyzerError, Findings, PackageAnalyzer};
use crate::fs::{FileRef, FsView};

/// The directory holding the distribution (`…/site-packages`).
pub const PROP_SITE: &str = "stella:python:site";
/// `true` when the distribution is in Debian's `usr/lib/python3/dist-packages`.
pub const PROP_OS_MANAGED: &str = "stella:python:os-managed";
/// Number of files listed in the distribution's `RECORD`.
pub const PROP_FILES: &str = "stella:python:files";

/// Where Debian installs the python packages it ships as debs.
const DEBIAN_DIST_PACKAGES: &str = "usr/lib/python3/dist-packages/";
/// Largest header block (before the first blank line) we accept.
pub const MAX_HEADER_BYTES: usize = 1 << 20;
/// Largest `RECORD` whose lines we count.
pub const MAX_RECORD_BYTES: usize = 64 << 20;

pub struct PythonAnalyzer;

impl PackageAnalyzer for PythonAnalyzer {
    fn name(&self) -> &'static str {
        "python"
    }

    fn version(&self) -> u32 {
        1
    }

    fn wants(&self, path: &str) -> bool {
        path.ends_with(".dist-info/METADATA")
            || path.ends_with(".dist-info/RECORD")
            || path.ends_with(".egg-info/PKG-INFO")
            || path.ends_with(".egg-info")
    }

    fn analyze(
        &self,
        view: &dyn FsView,
        _ctx: &AnalyzeContext<'_>,
    ) -> Result<Findings, AnalyzerError> {
        let mut walk = Walk {
            view,
            findings: Findings::default(),
            seen: BTreeSet::new(),
        };
        for path in view.captured_files() {
            if let Some(dir) = path
                .strip_suffix("/METADATA")
                .filter(|d| d.ends_with(".dist-info"))
            {
                walk.dist_info(dir);
            } else if let Some(dir) = path
                .strip_suffix("/PKG-INFO")
                .filter(|d| d.ends_with(".egg-info"))
            {
                walk.egg_info(dir);
            } else if path.ends_with(".egg-info") {
                walk.egg_info(&path);
            } else if let Some(dir) = path
                .strip_suffix("/RECORD")
                .filter(|d| d.ends_with(".dist-info"))
            {
                if matches!(view.read(&format!("{dir}/METADATA")), Ok(None)) {
                    walk.note(dir, "dist-info directory without a METADATA file");
                }
            }
        }
        Ok(walk.findings)
    }
}

/// The distributions found so far in one view.
struct Walk<'v> {
    view: &'v dyn FsView,
    findings: Findings,
    /// Physical paths of the metadata files already reported (symlinked
    /// directories such as merged-usr `lib -> usr/lib` reach them twice).
    seen: BTreeSet<String>,
}

impl<'v> Walk<'v> {
    fn note(&mut self, path: &str, message: impl Into<String>) {
        self.findings.notes.push((path.to_string(), message.into()));
    }

    /// `<site>/<name>-<ver>.dist-info/` with `METADATA` and, usually, `RECORD`.
    fn dist_info(&mut self, dir: &str) {
        let metadata = format!("{dir}/METADATA");
        let Some(file) = self.read(&metadata) else {
            return;
        };
        let Some(file) = file else {
            self.note(dir, "dist-info directory without a METADATA file");
            return;
        };
        let Some(mut c) = self.component(file.path, file.bytes) else {
            return;
        };
        let record = format!("{dir}/RECORD");
        if let Some(Some(rec)) = self.read(&record) {
            if rec.bytes.len() > MAX_RECORD_BYTES {
                self.note(
                    rec.path,
                    format!("RECORD over {MAX_RECORD_BYTES} bytes: files not counted"),
                );
            } else {
                c.properties
                    .insert(PROP_FILES.to_string(), count_record(rec.bytes).to_string());
            }
            c.evidence.push(rec.path.to_string());
        }
        self.findings.components.push(c);
    }

    /// `<site>/<name>-<ver>.egg-info/PKG-INFO`, or `<name>-<ver>.egg-info` as a
    /// file in PKG-INFO format (distutils' `install_egg_info`).
    fn egg_info(&mut self, path: &str) {
        let Some(file) = self.read(path) else {
            return;
        };
        let file = match file {
            Some(file) => file,
            None => match self.read(&format!("{path}/PKG-INFO")) {
                Some(Some(file)) => file,
                // An egg-info directory without PKG-INFO carries no identity.
                _ => return,
            },
        };
        if let Some(c) = self.component(file.path, file.bytes) {
            self.findings.components.push(c);
        }
    }

    /// Reads a file: `Some(Some(file))` when it exists, `Some(None)` when it
    /// does not, `None` (after a note) when it could not be read.
    fn read(&mut self, path: &str) -> Option<Option<FileRef<'v>>> {
        let view: &'v dyn FsView = self.view;
        match view.read(path) {
            Ok(file) => Some(file),
            Err(e) => {
                self.note(path, format!("not read: {e}"));
                None
            }
        }
    }

    /// Builds the component for metadata file `physical`, once per physical file.
    fn component(&mut self, physical: &str, bytes: &[u8]) -> Option<Component> {
        if !self.seen.insert(physical.to_string()) {
            return None;
        }
        let meta = match parse_metadata(bytes) {
            Ok(m) => m,
            Err(e) => {
                self.note(physical, format!("distribution skipped: {e}"));
                return None;
            }
        };
        Some(to_component(&meta, physical))
    }
}

/// The fields of a core-metadata header block that the inventory uses.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub name: String,
    pub version: String,
    /// PEP 639 `License-Expression` (SPDX).
    pub license_expression: Option<String>,
    /// Free-text `License` (folded lines joined with `\n`).
    pub license: Option<String>,
    /// `Classifier: License :: …` values, in file order.
    pub license_classifiers: Vec<String>,
    pub author: Option<String>,
    pub author_email: Option<String>,
}

impl Metadata {
    /// Licenses in order of authority: the SPDX expression, else the
    /// free-text field, else the trove classifiers' license names.
    pub fn licenses(&self) -> Vec<String> {
        if let Some(expr) = &self.license_expression {
            return vec![expr.clone()];
        }
        if let Some(license) = &self.license {
            return vec![license.clone()];
        }
        let mut out: Vec<String> = Vec::new();
        for classifier in &self.license_classifiers {
            // `License :: OSI Approved :: MIT License` → `MIT License`; the bare
            // `License :: OSI Approved` names no license.
            let last = classifier.rsplit("::").next().unwrap_or_default().trim();
            if last.is_empty() || last == "OSI Approved" || last == "License" {
                continue;
            }
            if !out.iter().any(|l| l == last) {
                out.push(last.to_string());
            }
        }
        out
    }

    /// `Author`, else `Author-email`.
    pub fn supplier(&self) -> Option<String> {
        self.author.clone().or_else(|| self.author_email.clone())
    }
}

/// Parses the header block of a `METADATA`/`PKG-INFO` file (RFC 822 style:
/// `Key: value`, continuation lines start with whitespace, the body starts
/// after the first blank line). Requires `Name` and `Version`; the header
/// block must be UTF-8 and at most [`MAX_HEADER_BYTES`] long.
pub fn parse_metadata(bytes: &[u8]) -> Result<Metadata, String> {
    let header = header_block(bytes)?;
    let text = std::str::from_utf8(header)
        .map_err(|e| format!("header is not UTF-8 (byte {})", e.valid_up_to()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut fields: Vec<(&str, String)> = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, value)) = fields.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
            continue;
        }
        // Like Python's email parser: a line that is not a header ends the headers.
        let Some((key, value)) = line.split_once(':') else {
            break;
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            break;
        }
        fields.push((key, value.trim().to_string()));
    }
    let get = |key: &str| -> Option<String> {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty() && v != "UNKNOWN")
    };
    let name = get("Name").ok_or("no Name field")?;
    let version = get("Version").ok_or_else(|| format!("{name}: no Version field"))?;
    Ok(Metadata {
        name,
        version,
        license_expression: get("License-Expression"),
        license: get("License"),
        license_classifiers: fields
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("Classifier"))
            .map(|(_, v)| v.trim())
            .filter(|v| v.starts_with("License ::"))
            .map(str::to_string)
            .collect(),
        author: get("Author"),
        author_email: get("Author-email"),
    })
}

/// The bytes before the first blank line, bounded by [`MAX_HEADER_BYTES`].
fn header_block(bytes: &[u8]) -> Result<&[u8], String> {
    let mut start = 0;
    while start < bytes.len() {
        let end = bytes[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| start + i);
        let line = &bytes[start..end];
        if line.is_empty() || line == b"\r" {
            return Ok(&bytes[..start]);
        }
        if end > MAX_HEADER_BYTES {
            return Err(format!("header block over {MAX_HEADER_BYTES} bytes"));
        }
        start = end + 1;
    }
    if bytes.len() > MAX_HEADER_BYTES {
        return Err(format!("header block over {MAX_HEADER_BYTES} bytes"));
    }
    Ok(bytes)
}

/// Files listed in a `RECORD` (one CSV row per file).
fn count_record(bytes: &[u8]) -> usize {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .count()
}

/// PEP 503 normalized project name (one implementation, in the model).
pub use stella_model::pypi_name as normalize_name;

fn to_component(meta: &Metadata, metadata_path: &str) -> Component {
    let mut c = Component::new(ComponentKind::Pypi, &meta.name, &meta.version);
    c.purl = Some(Purl::new("pypi", &normalize_name(&meta.name)).with_version(&meta.version));
    c.licenses = meta.licenses();
    c.supplier = meta.supplier();
    c.evidence = vec![metadata_path.to_string()];
    // METADATA/PKG-INFO sits in the dist-info/egg-info dir, itself in the
    // site dir; a bare egg-info file sits in the site dir directly.
    let parent = |p: &str| {
        p.rsplit_once('/')
            .map_or(String::new(), |(d, _)| d.to_string())
    };
    let site = if metadata_path.ends_with(".egg-info") {
        parent(metadata_path)
    } else {
        parent(&parent(metadata_path))
    };
    if metadata_path.starts_with(DEBIAN_DIST_PACKAGES) {
        c.properties
            .insert(PROP_OS_MANAGED.to_string(), "true".to_string());
    }
    c.properties.insert(PROP_SITE.to_string(), site);
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::MemFs;

    fn run(fs: &MemFs) -> Findings {
        match PythonAnalyzer.analyze(fs, &AnalyzeContext::default()) {
            Ok(f) => f,
            Err(e) => panic!("analyzer failed: {e}"),
        }
    }

    #[test]
    fn normalizes_names() {
        assert_eq!(normalize_name("Foo_Bar.baz"), "foo-bar-baz");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
        assert_eq!(normalize_name("A--__..b"), "a-b");
        assert_eq!(normalize_name("PyYAML"), "pyyaml");
    }

    #[test]
    fn folded_headers_and_body_ignored() {
        let text = "Metadata-Version: 2.1\r\nName: Foo_Bar.baz\r\nVersion: 1.0\r\nLicense: Line one\r\n        line two\r\nAuthor: Jane\r\n\r\nName: not-me\r\nLicense-Expression: GPL-3.0\r\n";
        let m = parse_metadata(text.as_bytes()).expect("parses");
        assert_eq!(m.name, "Foo_Bar.baz");
        assert_eq!(m.version, "1.0");
        assert_eq!(m.license.as_deref(), Some("Line one\nline two"));
        assert_eq!(m.license_expression, None);
        assert_eq!(m.supplier().as_deref(), Some("Jane"));
    }

    #[test]
    fn license_precedence() {
        let base = "Name: x\nVersion: 1\n";
        let classifiers = "Classifier: License :: OSI Approved\nClassifier: License :: OSI Approved :: MIT License\nClassifier: Programming Language :: Python\n";
        let m = parse_metadata(
            format!("{base}License: MIT\nLicense-Expression: MIT OR Apache-2.0\n{classifiers}")
                .as_bytes(),
        )
        .expect("parses");
        assert_eq!(m.licenses(), vec!["MIT OR Apache-2.0"]);
        let m = parse_metadata(format!("{base}License: BSD\n{classifiers}").as_bytes())
            .expect("parses");
        assert_eq!(m.licenses(), vec!["BSD"]);
        let m = parse_metadata(format!("{base}License: UNKNOWN\n{classifiers}").as_bytes())
            .expect("parses");
        assert_eq!(m.licenses(), vec!["MIT License"]);
        let m = parse_metadata(base.as_bytes()).expect("parses");
        assert!(m.licenses().is_empty());
        let m = parse_metadata(format!("{base}Author-email: J <j@x.org>\n").as_bytes())
            .expect("parses");
        assert_eq!(m.supplier().as_deref(), Some("J <j@x.org>"));
    }

    #[test]
    fn dist_info_with_record() {
        let site = "usr/local/lib/python3.11/site-packages";
        let fs = MemFs::new()
            .with_file(
                &format!("{site}/Foo_Bar.baz-2.0.dist-info/METADATA"),
                "Metadata-Version: 2.4\nName: Foo_Bar.baz\nVersion: 2.0\nLicense-Expression: MIT\n\nbody",
            )
            .with_file(
                &format!("{site}/Foo_Bar.baz-2.0.dist-info/RECORD"),
                "foo/__init__.py,sha256=x,1\nfoo_bar.baz-2.0.dist-info/RECORD,,\n\n",
            );
        let f = run(&fs);
        assert!(f.notes.is_empty(), "{:?}", f.notes);
        let [c] = f.components.as_slice() else {
            panic!("one component expected: {:?}", f.components)
        };
        assert_eq!(c.kind, ComponentKind::Pypi);
        assert_eq!(c.name, "Foo_Bar.baz");
        assert_eq!(
            c.purl.as_ref().map(|p| p.to_string()).as_deref(),
            Some("pkg:pypi/foo-bar-baz@2.0")
        );
        assert_eq!(c.licenses, vec!["MIT"]);
        assert_eq!(
            c.evidence,
            vec![
                format!("{site}/Foo_Bar.baz-2.0.dist-info/METADATA"),
                format!("{site}/Foo_Bar.baz-2.0.dist-info/RECORD"),
            ]
        );
        assert_eq!(c.properties.get(PROP_SITE).map(String::as_str), Some(site));
        assert_eq!(c.properties.get(PROP_FILES).map(String::as_str), Some("2"));
        assert!(!c.properties.contains_key(PROP_OS_MANAGED));
    }

    #[test]
    fn egg_info_file_and_dir_and_debian() {
        let deb = "usr/lib/python3/dist-packages";
        let fs = MemFs::new()
            .with_file(
                &format!("{deb}/six-1.16.0.egg-info"),
                "Metadata-Version: 1.1\nName: six\nVersion: 1.16.0\nLicense: MIT\n",
            )
            .with_file(
                &format!("{deb}/chardet-5.1.0.egg-info/PKG-INFO"),
                "Metadata-Version: 2.1\nName: chardet\nVersion: 5.1.0\nClassifier: License :: OSI Approved :: GNU Lesser General Public License v2 or later (LGPLv2+)\n",
            )
            .with_file(
                "app/src/mything.egg-info/PKG-INFO",
                "Name: mything\nVersion: 0.1.dev0\n",
            )
            .with_file("app/src/mything.egg-info/SOURCES.txt", "a.py\n");
        let f = run(&fs);
        assert!(f.notes.is_empty(), "{:?}", f.notes);
        let got: Vec<(&str, &str, Option<&str>, Option<&str>)> = f
            .components
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.version.as_str(),
                    c.properties.get(PROP_SITE).map(String::as_str),
                    c.properties.get(PROP_OS_MANAGED).map(String::as_str),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("mything", "0.1.dev0", Some("app/src"), None),
                ("chardet", "5.1.0", Some(deb), Some("true")),
                ("six", "1.16.0", Some(deb), Some("true")),
            ]
        );
        assert_eq!(
            f.components[1].licenses,
            vec!["GNU Lesser General Public License v2 or later (LGPLv2+)"]
        );
        assert_eq!(
            f.components[2].evidence,
            vec![format!("{deb}/six-1.16.0.egg-info")]
        );
    }

    #[test]
    fn malformed_become_notes() {
        let site = "venv/lib/python3.12/site-packages";
        let mut huge = b"Name: huge\nVersion: 1\nSummary: ".to_vec();
        huge.extend(vec![b'x'; MAX_HEADER_BYTES + 10]);
        let fs = MemFs::new()
            .with_file(
                &format!("{site}/noname-1.dist-info/METADATA"),
                "Version: 1\n\nName: late\n",
            )
            .with_file(
                &format!("{site}/nover-1.dist-info/METADATA"),
                "Name: nover\n",
            )
            .with_file(
                &format!("{site}/latin-1.dist-info/METADATA"),
                b"Name: caf\xe9\nVersion: 1\n".to_vec(),
            )
            .with_file(&format!("{site}/huge-1.dist-info/METADATA"), huge)
            .with_file(&format!("{site}/empty-1.dist-info/RECORD"), "")
            .with_file(
                &format!("{site}/good-1.dist-info/METADATA"),
                "Name: good\nVersion: 1\n",
            );
        let f = run(&fs);
        let names: Vec<&str> = f.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["good"]);
        let noted: Vec<&str> = f.notes.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            noted,
            vec![
                format!("{site}/empty-1.dist-info"),
                format!("{site}/huge-1.dist-info/METADATA"),
                format!("{site}/latin-1.dist-info/METADATA"),
                format!("{site}/noname-1.dist-info/METADATA"),
                format!("{site}/nover-1.dist-info/METADATA"),
            ]
        );
    }

    #[test]
    fn wants_is_precise() {
        let a = PythonAnalyzer;
        assert!(a.wants("usr/lib/python3.11/site-packages/x-1.dist-info/METADATA"));
        assert!(a.wants("usr/lib/python3.11/site-packages/x-1.dist-info/RECORD"));
        assert!(a.wants("usr/lib/python3/dist-packages/x-1.egg-info/PKG-INFO"));
        assert!(a.wants("usr/lib/python3/dist-packages/x-1.egg-info"));
        assert!(!a.wants("usr/lib/python3.11/site-packages/x-1.dist-info/WHEEL"));
        assert!(!a.wants("usr/lib/python3.11/site-packages/x/METADATA"));
        assert!(!a.wants("usr/lib/python3/dist-packages/x-1.egg-info/SOURCES.txt"));
    }
}

//! PHP packages installed by Composer: `<vendor-dir>/composer/installed.json`
//! (Composer 1 writes a top-level array of packages, Composer 2 an object
//! with a `packages` array and `dev-package-names`), plus `composer.lock`.
//!
//! Why this shape:
//! - `installed.json` is Composer's own record of what it put into the vendor
//!   directory (`composer show` reads it), so it is the installed truth. The
//!   vendor directory may be renamed (`config.vendor-dir`), hence any
//!   `…/composer/installed.json`.
//! - `composer.lock` only *declares* packages (`composer install --no-dev`,
//!   or a source tree without `vendor/`). Its runtime `packages` are
//!   reported, marked [`PROP_DECLARED`], only when the same name@version is
//!   not installed anywhere in the view; `packages-dev` are not reported
//!   from a lockfile. Lockfiles inside a vendor directory belong to the
//!   dependencies' own development and are ignored.
//! - A package whose recorded `install-path` (Composer 2) is absent from the
//!   view is not reported: `composer show` does not list it either. Debian's
//!   web apps do this, deleting a bundled library from `vendor/` in favour
//!   of a Debian package (which dpkg reports). Composer 1 files do not record
//!   the install path (custom installers put packages anywhere), so all of
//!   their packages are reported.
//! - Versions are kept as Composer prints them (`v5.4.0` stays `v5.4.0`).
//! - One broken file or entry must not hide the others: they become notes,
//!   never an [`AnalyzerError`].

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use stella_model::{Component, ComponentKind, Purl};

use crate::analyzer::{AnalyzeContext, AnalyzerError, Findings, PackageAnalyzer};
use crate::fs::{FsView, ViewError};

/// `source.reference` (usually a commit id).
pub const PROP_SOURCE_REFERENCE: &str = "stella:composer:source-reference";
/// `dist.reference`.
pub const PROP_DIST_REFERENCE: &str = "stella:composer:dist-reference";
/// `dist.url` (the archive Composer downloaded).
pub const PROP_DIST_URL: &str = "stella:composer:dist-url";
/// `true` on packages Composer installed as dev requirements.
pub const PROP_DEV: &str = "stella:composer:dev";
/// `true` on components known only from a `composer.lock`.
pub const PROP_DECLARED: &str = "stella:composer:declared";
/// The vendor directory holding the `composer/installed.json`.
pub const PROP_VENDOR_DIR: &str = "stella:composer:vendor-dir";
/// Largest `installed.json` or `composer.lock` parsed.
pub const MAX_FILE: usize = 64 * 1024 * 1024;

const INSTALLED: &str = "composer/installed.json";
const LOCK: &str = "composer.lock";

pub struct ComposerAnalyzer;

fn is_installed_json(path: &str) -> bool {
    path.strip_suffix(INSTALLED)
        .is_some_and(|dir| dir.is_empty() || dir.ends_with('/'))
}

fn is_lockfile(path: &str) -> bool {
    let Some(dir) = path.strip_suffix(LOCK) else {
        return false;
    };
    (dir.is_empty() || dir.ends_with('/'))
        && !(dir.starts_with("vendor/") || dir.contains("/vendor/"))
}

impl PackageAnalyzer for ComposerAnalyzer {
    fn name(&self) -> &'static str {
        "composer"
    }

    fn version(&self) -> u32 {
        1
    }

    fn wants(&self, path: &str) -> bool {
        is_installed_json(path) || is_lockfile(path)
    }

    fn analyze(
        &self,
        view: &dyn FsView,
        _ctx: &AnalyzeContext<'_>,
    ) -> Result<Findings, AnalyzerError> {
        let mut findings = Findings::default();
        let files = view.captured_files();

        let mut seen = BTreeSet::new();
        for path in files.iter().filter(|p| is_installed_json(p)) {
            let Some(file) = read(view, path, &mut findings) else {
                continue;
            };
            if !seen.insert(file.path.to_string()) {
                continue;
            }
            match parse_installed(file.path, file.bytes) {
                Ok((components, notes)) => {
                    findings.components.extend(
                        components
                            .into_iter()
                            .filter(|(_, dir)| dir.as_deref().is_none_or(|d| dir_exists(view, d)))
                            .map(|(c, _)| c),
                    );
                    findings
                        .notes
                        .extend(notes.into_iter().map(|n| (file.path.to_string(), n)));
                }
                Err(n) => findings.notes.push((file.path.to_string(), n)),
            }
        }

        let installed: BTreeSet<(String, String)> = findings
            .components
            .iter()
            .map(|c| (c.name.clone(), c.version.clone()))
            .collect();
        let mut declared: BTreeMap<(String, String), (Component, BTreeSet<String>)> =
            BTreeMap::new();
        for path in files.iter().filter(|p| is_lockfile(p)) {
            let Some(file) = read(view, path, &mut findings) else {
                continue;
            };
            let (components, notes) = match parse_lock(file.path, file.bytes) {
                Ok(found) => found,
                Err(n) => {
                    findings.notes.push((file.path.to_string(), n));
                    continue;
                }
            };
            findings
                .notes
                .extend(notes.into_iter().map(|n| (file.path.to_string(), n)));
            for c in components {
                let key = (c.name.clone(), c.version.clone());
                if installed.contains(&key) {
                    continue;
                }
                declared
                    .entry(key)
                    .or_insert_with(|| (c, BTreeSet::new()))
                    .1
                    .insert(file.path.to_string());
            }
        }
        for (_, (mut c, evidence)) in declared {
            c.evidence = evidence.into_iter().collect();
            findings.components.push(c);
        }
        Ok(findings)
    }
}

fn read<'v>(
    view: &'v dyn FsView,
    path: &str,
    findings: &mut Findings,
) -> Option<crate::fs::FileRef<'v>> {
    match view.read(path) {
        Ok(Some(f)) if f.bytes.len() > MAX_FILE => {
            findings.notes.push((
                f.path.to_string(),
                format!("larger than {MAX_FILE} bytes; skipped"),
            ));
            None
        }
        Ok(Some(f)) => Some(f),
        Ok(None) | Err(ViewError::NotCaptured { .. }) => None,
        Err(e) => {
            findings.notes.push((path.to_string(), e.to_string()));
            None
        }
    }
}

fn parse_json(bytes: &[u8], what: &str) -> Result<Value, String> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    serde_json::from_slice(bytes).map_err(|e| format!("malformed {what}: {e}"))
}

type Parsed = (Vec<Component>, Vec<String>);

/// True when directory `dir` of the view exists (or cannot be checked).
fn dir_exists(view: &dyn FsView, dir: &str) -> bool {
    let (parent, name) = dir.rsplit_once('/').unwrap_or(("", dir));
    if name.is_empty() {
        return true;
    }
    view.list_dir(parent)
        .map_or(true, |names| names.iter().any(|n| n == name))
}

/// The view path of a Composer 2 `install-path`, which is relative to the
/// directory holding `installed.json`; `None` when it cannot be placed.
fn install_dir(installed_json: &str, install_path: &str) -> Option<String> {
    let mut parts: Vec<&str> = if install_path.starts_with('/') {
        Vec::new()
    } else {
        installed_json.split('/').collect()
    };
    // Drop the file name.
    if !install_path.starts_with('/') {
        parts.pop();
    }
    for seg in install_path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// An installed package with its install directory, when Composer recorded one.
pub type InstalledPackage = (Component, Option<String>);

/// The packages of an `installed.json` (Composer 1 or 2), sorted by name and
/// version, each with the view path of its install directory when the file
/// records one (Composer 2), and notes about skipped entries.
pub fn parse_installed(
    path: &str,
    bytes: &[u8],
) -> Result<(Vec<InstalledPackage>, Vec<String>), String> {
    let doc = parse_json(bytes, "installed.json")?;
    let (packages, dev_names) = match &doc {
        Value::Array(packages) => (packages, BTreeSet::new()),
        Value::Object(o) => {
            let Some(packages) = o.get("packages").and_then(Value::as_array) else {
                return Err("malformed installed.json: no \"packages\" array".to_string());
            };
            let dev: BTreeSet<&str> = o
                .get("dev-package-names")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            (packages, dev)
        }
        _ => return Err("malformed installed.json: neither an array nor an object".to_string()),
    };
    let vendor_dir = path
        .strip_suffix(INSTALLED)
        .map(|d| d.trim_end_matches('/'))
        .unwrap_or_default();
    let mut components = Vec::new();
    let mut notes = Vec::new();
    for (i, pkg) in packages.iter().enumerate() {
        match component(path, pkg) {
            Ok(mut c) => {
                if dev_names.contains(c.name.as_str()) {
                    c.properties
                        .insert(PROP_DEV.to_string(), "true".to_string());
                }
                if !vendor_dir.is_empty() {
                    c.properties
                        .insert(PROP_VENDOR_DIR.to_string(), vendor_dir.to_string());
                }
                let dir = nonempty_str(pkg.get("install-path")).and_then(|p| install_dir(path, p));
                components.push((c, dir));
            }
            Err(e) => notes.push(format!("package #{i}: {e}; skipped")),
        }
    }
    components.sort_by(|(a, _), (b, _)| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    Ok((components, notes))
}

/// The runtime `packages` of a `composer.lock`, marked declared.
pub fn parse_lock(path: &str, bytes: &[u8]) -> Result<Parsed, String> {
    let doc = parse_json(bytes, "composer.lock")?;
    let Some(obj) = doc.as_object() else {
        return Err("malformed composer.lock: not a JSON object".to_string());
    };
    let packages = match obj.get("packages") {
        Some(Value::Array(p)) => p.as_slice(),
        None | Some(Value::Null) => &[],
        Some(_) => return Err("malformed composer.lock: \"packages\" is not an array".to_string()),
    };
    let mut components = Vec::new();
    let mut notes = Vec::new();
    for (i, pkg) in packages.iter().enumerate() {
        match component(path, pkg) {
            Ok(mut c) => {
                c.properties
                    .insert(PROP_DECLARED.to_string(), "true".to_string());
                components.push(c);
            }
            Err(e) => notes.push(format!("package #{i}: {e}; skipped")),
        }
    }
    Ok((components, notes))
}

fn nonempty_str(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// One package entry (the same shape in installed.json and composer.lock).
fn component(path: &str, pkg: &Value) -> Result<Component, String> {
    if !pkg.is_object() {
        return Err("not a JSON object".to_string());
    }
    let name = nonempty_str(pkg.get("name")).ok_or("no name")?;
    let version =
        nonempty_str(pkg.get("version")).ok_or_else(|| format!("{name} has no version"))?;
    let mut c = Component::new(ComponentKind::Composer, name, version);
    c.purl = Some(match name.split_once('/') {
        Some((vendor, bare)) if !vendor.is_empty() && !bare.is_empty() => {
            Purl::new("composer", bare)
                .with_namespace(vendor)
                .with_version(version)
        }
        _ => Purl::new("composer", name).with_version(version),
    });
    c.licenses = match pkg.get("license") {
        Some(Value::Array(ls)) => ls
            .iter()
            .filter_map(|l| nonempty_str(Some(l)))
            .map(str::to_string)
            .collect(),
        Some(l) => nonempty_str(Some(l))
            .map(str::to_string)
            .into_iter()
            .collect(),
        None => Vec::new(),
    };
    c.supplier = pkg
        .get("authors")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find_map(|au| nonempty_str(au.get("name"))))
        .map(str::to_string);
    c.evidence = vec![path.to_string()];
    let props = [
        ("source", "reference", PROP_SOURCE_REFERENCE),
        ("dist", "reference", PROP_DIST_REFERENCE),
        ("dist", "url", PROP_DIST_URL),
    ];
    for (section, field, prop) in props {
        if let Some(v) = nonempty_str(pkg.get(section).and_then(|s| s.get(field))) {
            c.properties.insert(prop.to_string(), v.to_string());
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::MemFs;

    fn run(fs: &MemFs) -> Findings {
        match ComposerAnalyzer.analyze(fs, &AnalyzeContext::default()) {
            Ok(f) => f,
            Err(e) => panic!("analyzer failed: {e}"),
        }
    }

    const V2: &str = r#"{
      "packages": [
        {"name": "symfony/console", "version": "v5.4.0", "version_normalized": "5.4.0.0",
         "source": {"type": "git", "url": "https://github.com/symfony/console.git", "reference": "ec3661faca1d110d6c307e124b44f99ac54179e3"},
         "dist": {"type": "zip", "url": "https://api.github.com/repos/symfony/console/zipball/ec3661fa", "reference": "ec3661faca1d110d6c307e124b44f99ac54179e3", "shasum": ""},
         "license": ["MIT"], "authors": [{"name": "Fabien Potencier", "email": "f@x"}],
         "install-path": "../symfony/console"},
        {"name": "phpunit/phpunit", "version": "9.6.0", "license": ["BSD-3-Clause"], "install-path": "../phpunit/phpunit"},
        {"name": "monolog/monolog", "version": "2.9.1", "license": "MIT"},
        {"name": "geshi/geshi", "version": "dev-master", "install-path": "../geshi/geshi"},
        {"name": "acme/meta", "version": "1.0.0", "type": "metapackage", "install-path": null},
        {"name": "acme/plugin", "version": "2.0.0", "install-path": "../../wp-content/plugins/plugin/"}
      ],
      "dev": true,
      "dev-package-names": ["phpunit/phpunit"]
    }"#;

    #[test]
    fn composer2_installed_json() {
        // geshi/geshi's directory is gone (as Debian does): not installed.
        let fs = MemFs::new()
            .with_file("srv/app/vendor/composer/installed.json", V2)
            .with_file("srv/app/vendor/symfony/console/composer.json", "{}")
            .with_file("srv/app/vendor/phpunit/phpunit/composer.json", "{}")
            .with_file("srv/app/wp-content/plugins/plugin/plugin.php", "")
            .with_file("srv/app/vendor/geshi/other/composer.json", "{}");
        let f = run(&fs);
        assert!(f.notes.is_empty(), "{:?}", f.notes);
        let got: Vec<(&str, &str, String)> = f
            .components
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.version.as_str(),
                    c.purl.as_ref().map(ToString::to_string).unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "acme/meta",
                    "1.0.0",
                    "pkg:composer/acme/meta@1.0.0".to_string()
                ),
                (
                    "acme/plugin",
                    "2.0.0",
                    "pkg:composer/acme/plugin@2.0.0".to_string()
                ),
                (
                    "monolog/monolog",
                    "2.9.1",
                    "pkg:composer/monolog/monolog@2.9.1".to_string()
                ),
                (
                    "phpunit/phpunit",
                    "9.6.0",
                    "pkg:composer/phpunit/phpunit@9.6.0".to_string()
                ),
                (
                    "symfony/console",
                    "v5.4.0",
                    "pkg:composer/symfony/console@v5.4.0".to_string()
                ),
            ]
        );
        let console = &f.components[4];
        assert_eq!(console.kind, ComponentKind::Composer);
        assert_eq!(console.licenses, vec!["MIT"]);
        assert_eq!(console.supplier.as_deref(), Some("Fabien Potencier"));
        assert_eq!(
            console.evidence,
            vec!["srv/app/vendor/composer/installed.json"]
        );
        assert_eq!(
            console
                .properties
                .get(PROP_SOURCE_REFERENCE)
                .map(String::as_str),
            Some("ec3661faca1d110d6c307e124b44f99ac54179e3")
        );
        assert_eq!(
            console.properties.get(PROP_DIST_URL).map(String::as_str),
            Some("https://api.github.com/repos/symfony/console/zipball/ec3661fa")
        );
        assert_eq!(
            console.properties.get(PROP_VENDOR_DIR).map(String::as_str),
            Some("srv/app/vendor")
        );
        assert!(!console.properties.contains_key(PROP_DEV));
        assert_eq!(
            f.components[3].properties.get(PROP_DEV).map(String::as_str),
            Some("true")
        );
        assert_eq!(f.components[2].licenses, vec!["MIT"]);
    }

    #[test]
    fn composer1_array_and_lockfile_declarations() {
        let v1 = r#"[{"name": "psr/log", "version": "1.1.4", "license": ["MIT"]}]"#;
        let lock = r#"{"content-hash": "x",
          "packages": [{"name": "psr/log", "version": "1.1.4"}, {"name": "guzzlehttp/guzzle", "version": "7.8.0", "license": ["MIT"]}],
          "packages-dev": [{"name": "phpunit/phpunit", "version": "9.6.0"}]}"#;
        let fs = MemFs::new()
            .with_file("var/www/vendor/composer/installed.json", v1)
            .with_file("var/www/composer.lock", lock)
            .with_file("other/composer.lock", lock)
            .with_file("var/www/vendor/some/lib/composer.lock", "{ ignored");
        let f = run(&fs);
        assert!(f.notes.is_empty(), "{:?}", f.notes);
        let got: Vec<(&str, &str, Option<&str>, Vec<&str>)> = f
            .components
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.version.as_str(),
                    c.properties.get(PROP_DECLARED).map(String::as_str),
                    c.evidence.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "psr/log",
                    "1.1.4",
                    None,
                    vec!["var/www/vendor/composer/installed.json"]
                ),
                (
                    "guzzlehttp/guzzle",
                    "7.8.0",
                    Some("true"),
                    vec!["other/composer.lock", "var/www/composer.lock"]
                ),
            ]
        );
    }

    #[test]
    fn malformed_files_and_entries_become_notes() {
        let fs = MemFs::new()
            .with_file("a/vendor/composer/installed.json", "{\"packages\": [")
            .with_file("b/vendor/composer/installed.json", "42")
            .with_file("c/vendor/composer/installed.json", "{\"dev\": true}")
            .with_file(
                "d/vendor/composer/installed.json",
                r#"{"packages": [{"name": "no/version"}, "junk", {"version": "1.0"}, {"name": "ok/pkg", "version": "1.0.0"}]}"#,
            )
            .with_file("e/composer.lock", "[]");
        let f = run(&fs);
        let names: Vec<&str> = f.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["ok/pkg"]);
        let noted: Vec<&str> = f.notes.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            noted,
            vec![
                "a/vendor/composer/installed.json",
                "b/vendor/composer/installed.json",
                "c/vendor/composer/installed.json",
                "d/vendor/composer/installed.json",
                "d/vendor/composer/installed.json",
                "d/vendor/composer/installed.json",
                "e/composer.lock",
            ]
        );
        assert!(
            f.notes[3].1.contains("no/version has no version"),
            "{:?}",
            f.notes
        );
    }

    #[test]
    fn install_dirs() {
        let j = "srv/app/vendor/composer/installed.json";
        assert_eq!(
            install_dir(j, "../psr/log").as_deref(),
            Some("srv/app/vendor/psr/log")
        );
        assert_eq!(
            install_dir(j, "../../web/core/").as_deref(),
            Some("srv/app/web/core")
        );
        assert_eq!(
            install_dir(j, "./../x/./y").as_deref(),
            Some("srv/app/vendor/x/y")
        );
        assert_eq!(install_dir(j, "/opt/lib").as_deref(), Some("opt/lib"));
        assert_eq!(install_dir(j, "../../../../../x"), None);
        assert_eq!(
            install_dir("composer/installed.json", "../a").as_deref(),
            Some("a")
        );
    }

    #[test]
    fn wants_is_precise() {
        let a = ComposerAnalyzer;
        assert!(a.wants("var/www/html/vendor/composer/installed.json"));
        assert!(a.wants("app/lib/deps/composer/installed.json"));
        assert!(a.wants("composer/installed.json"));
        assert!(a.wants("composer.lock"));
        assert!(a.wants("var/www/html/composer.lock"));
        assert!(!a.wants("var/www/html/vendor/foo/composer.lock"));
        assert!(!a.wants("vendor/foo/composer.lock"));
        assert!(!a.wants("var/www/html/vendor/composer/installed.php"));
        assert!(!a.wants("var/www/html/vendor/mycomposer/installed.json"));
        assert!(!a.wants("var/www/html/mycomposer.lock"));
        assert!(!a.wants("var/www/html/composer.json"));
    }
}

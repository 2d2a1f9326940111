//! npm packages: every `package.json` at the root of a package directory
//! (`…/node_modules/<name>/` or `…/node_modules/@scope/<name>/`, at any depth,
//! including pnpm's `node_modules/.pnpm/<id>/node_modules/<name>/` store).
//!
//! Why this shape:
//! - Installed packages are what actually ships in the image, so a
//!   `package.json` in a package directory is the primary evidence. Other
//!   `package.json` files inside a package (test fixtures, `lib/package.json`
//!   for module-type hints) are not packages and would invent components.
//! - pnpm and workspaces link package directories with symlinks; every
//!   package is counted once, under its physical path.
//! - Lockfiles (`package-lock.json`/`npm-shrinkwrap.json`, `yarn.lock`,
//!   `pnpm-lock.yaml`) outside `node_modules` only *declare* packages: their
//!   entries are reported, marked `stella:npm:declared=true`, only when the
//!   same name@version is not installed anywhere in the view.
//! - One broken file must not hide the others: malformed or oversized files
//!   become notes, never an [`AnalyzerError`].

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use stella_model::{Component, ComponentKind, Purl};

use crate::analyzer::{AnalyzeContext, AnalyzerError, Findings, PackageAnalyzer};
use crate::fs::{FsView, ViewError};

/// Property holding the package directory of an installed package.
pub const PROP_PATH: &str = "stella:npm:path";
/// Property set to `true` on components known only from a lockfile.
pub const PROP_DECLARED: &str = "stella:npm:declared";
/// Largest `package.json` or lockfile parsed.
pub const MAX_FILE: usize = 16 * 1024 * 1024;
/// Nesting accepted in a v1 `package-lock.json` `dependencies` tree.
const MAX_LOCK_NESTING: usize = 128;

const LOCKFILES: [&str; 4] = [
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
];

pub struct NpmAnalyzer;

/// The package name a package directory stands for, when `dir` is
/// `…node_modules/<name>` or `…node_modules/@scope/<name>` and that
/// `node_modules` is one npm installs into (see [`is_install_root`]).
fn package_dir_name(dir: &str) -> Option<&str> {
    let (parent, last) = dir.rsplit_once('/')?;
    if last.is_empty() || last.starts_with('.') || last.starts_with('@') {
        return None;
    }
    let (nm, name) = if is_nm(parent) {
        (parent, last)
    } else {
        let (grand, scope) = parent.rsplit_once('/').unwrap_or(("", parent));
        if !(scope.len() > 1 && scope.starts_with('@') && is_nm(grand)) {
            return None;
        }
        (grand, &dir[dir.len() - scope.len() - 1 - last.len()..])
    };
    let holder = nm.strip_suffix("node_modules")?.trim_end_matches('/');
    is_install_root(holder).then_some(name)
}

fn is_nm(p: &str) -> bool {
    p == "node_modules" || p.ends_with("/node_modules")
}

/// True when npm/yarn/pnpm install into `holder/node_modules`: a project
/// outside any `node_modules`, an installed package (nested install), or a
/// pnpm store entry `node_modules/.pnpm/<id>`. A `node_modules` anywhere else
/// (`resolve/test/resolver/node_modules/…`) is a package's test fixture.
fn is_install_root(holder: &str) -> bool {
    if !in_node_modules(&format!("{holder}/")) {
        return true;
    }
    if package_dir_name(holder).is_some() {
        return true;
    }
    holder.rsplit_once('/').is_some_and(|(store, id)| {
        !id.is_empty() && (store == "node_modules/.pnpm" || store.ends_with("/node_modules/.pnpm"))
    })
}

fn in_node_modules(path: &str) -> bool {
    path.starts_with("node_modules/") || path.contains("/node_modules/")
}

fn is_lockfile(path: &str) -> bool {
    let base = path.rsplit_once('/').map_or(path, |(_, b)| b);
    LOCKFILES.contains(&base) && !in_node_modules(path)
}

impl PackageAnalyzer for NpmAnalyzer {
    fn name(&self) -> &'static str {
        "npm"
    }

    fn version(&self) -> u32 {
        1
    }

    fn wants(&self, path: &str) -> bool {
        match path.strip_suffix("/package.json") {
            Some(dir) => package_dir_name(dir).is_some(),
            None => is_lockfile(path),
        }
    }

    fn analyze(
        &self,
        view: &dyn FsView,
        _ctx: &AnalyzeContext<'_>,
    ) -> Result<Findings, AnalyzerError> {
        let mut findings = Findings::default();
        let found = discover(view);

        // Installed packages, each physical package.json once.
        let mut seen = BTreeSet::new();
        for dir in &found.package_dirs {
            let path = format!("{dir}/package.json");
            let file = match view.read(&path) {
                Ok(Some(f)) => f,
                Ok(None) => continue,
                // A link to something outside node_modules (a workspace
                // project): not an installed package, and not captured.
                Err(ViewError::NotCaptured { .. }) => continue,
                Err(e) => {
                    findings.notes.push((path, e.to_string()));
                    continue;
                }
            };
            let Some(real_dir) = file.path.strip_suffix("/package.json") else {
                continue;
            };
            let Some(dir_name) = package_dir_name(real_dir) else {
                continue;
            };
            if !seen.insert(file.path.to_string()) {
                continue;
            }
            match installed_component(file.path, real_dir, dir_name, file.bytes) {
                Ok((c, note)) => {
                    findings.components.extend(c);
                    if let Some(n) = note {
                        findings.notes.push((file.path.to_string(), n));
                    }
                }
                Err(n) => findings.notes.push((file.path.to_string(), n)),
            }
        }

        // Declared packages from lockfiles, minus what is installed.
        let installed: BTreeSet<(String, String)> = findings
            .components
            .iter()
            .map(|c| (c.name.clone(), c.version.clone()))
            .collect();
        let mut declared: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        for path in &found.lockfiles {
            let file = match view.read(path) {
                Ok(Some(f)) => f,
                Ok(None) | Err(ViewError::NotCaptured { .. }) => continue,
                Err(e) => {
                    findings.notes.push((path.clone(), e.to_string()));
                    continue;
                }
            };
            if file.bytes.len() > MAX_FILE {
                findings.notes.push((
                    file.path.to_string(),
                    format!("lockfile larger than {MAX_FILE} bytes; skipped"),
                ));
                continue;
            }
            let entries = match lockfile_entries(file.path, file.bytes) {
                Ok(e) => e,
                Err(n) => {
                    findings.notes.push((file.path.to_string(), n));
                    continue;
                }
            };
            for key in entries {
                if !installed.contains(&key) {
                    declared
                        .entry(key)
                        .or_default()
                        .insert(file.path.to_string());
                }
            }
        }
        for ((name, version), evidence) in declared {
            let mut c = Component::new(ComponentKind::Npm, &name, &version);
            c.purl = Some(purl(&name, &version));
            c.evidence = evidence.into_iter().collect();
            c.properties
                .insert(PROP_DECLARED.to_string(), "true".to_string());
            findings.components.push(c);
        }
        Ok(findings)
    }
}

/// What the view holds for this analyzer (physical paths, sorted).
#[derive(Default)]
struct Found {
    package_dirs: BTreeSet<String>,
    lockfiles: BTreeSet<String>,
}

/// Package directories and lockfiles among the captured files. These are
/// physical paths, so a package reached through symlinks (pnpm's top-level
/// links, workspace links) appears once, and no directory walk can loop.
fn discover(view: &dyn FsView) -> Found {
    let mut found = Found::default();
    for path in view.captured_files() {
        match path.strip_suffix("/package.json") {
            Some(dir) if package_dir_name(dir).is_some() => {
                found.package_dirs.insert(dir.to_string());
            }
            Some(_) => {}
            None if is_lockfile(&path) => {
                found.lockfiles.insert(path);
            }
            None => {}
        }
    }
    found
}

/// `pkg:npm/%40scope/name@version`.
fn purl(name: &str, version: &str) -> Purl {
    match name.strip_prefix('@').and_then(|n| n.split_once('/')) {
        Some((scope, bare)) => Purl::new("npm", bare)
            .with_namespace(&format!("@{scope}"))
            .with_version(version),
        None => Purl::new("npm", name).with_version(version),
    }
}

fn nonempty_str(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// `license: "MIT"`, `license: {type: "MIT"}`, or the legacy
/// `licenses: ["MIT"]` / `licenses: [{type: "MIT"}]`.
fn licenses(pkg: &Value) -> Vec<String> {
    let one = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Object(o) => nonempty_str(o.get("type")).map(str::to_string),
            _ => None,
        }
    };
    let mut out: Vec<String> = match (pkg.get("license"), pkg.get("licenses")) {
        (Some(l), _) if one(l).is_some_and(|s| !s.is_empty()) => one(l).into_iter().collect(),
        (_, Some(Value::Array(ls))) => ls.iter().filter_map(one).collect(),
        (_, Some(l)) => one(l).into_iter().collect(),
        _ => Vec::new(),
    };
    out.retain(|s| !s.is_empty());
    out.dedup();
    out
}

/// The author's name: `"Name <email> (url)"` or `{name: "Name"}`.
fn author_name(pkg: &Value) -> Option<String> {
    let name = match pkg.get("author")? {
        Value::String(s) => s.split(['<', '(']).next().unwrap_or_default().trim(),
        Value::Object(o) => nonempty_str(o.get("name"))?,
        _ => return None,
    };
    Some(name.to_string()).filter(|n| !n.is_empty())
}

type Installed = (Option<Component>, Option<String>);

/// The component for one package.json; `Err` is a note for a file that
/// gives none, `Ok((_, Some(note)))` a component with a caveat.
fn installed_component(
    path: &str,
    dir: &str,
    dir_name: &str,
    bytes: &[u8],
) -> Result<Installed, String> {
    if bytes.len() > MAX_FILE {
        return Err(format!(
            "package.json larger than {MAX_FILE} bytes; skipped"
        ));
    }
    let pkg: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("malformed package.json: {e}"))?;
    if !pkg.is_object() {
        return Err("malformed package.json: not a JSON object".to_string());
    }
    let Some(version) = nonempty_str(pkg.get("version")) else {
        return Err(format!("{path} has no version; package skipped"));
    };
    let mut note = None;
    let name = match nonempty_str(pkg.get("name")) {
        Some(n) => n,
        None => {
            note = Some(format!(
                "package.json has no name; using the directory name {dir_name}"
            ));
            dir_name
        }
    };
    let mut c = Component::new(ComponentKind::Npm, name, version);
    c.purl = Some(purl(name, version));
    c.licenses = licenses(&pkg);
    c.supplier = author_name(&pkg);
    c.evidence = vec![path.to_string()];
    c.properties.insert(PROP_PATH.to_string(), dir.to_string());
    Ok((Some(c), note))
}

/// (name, version) pairs a lockfile declares.
fn lockfile_entries(path: &str, bytes: &[u8]) -> Result<Vec<(String, String)>, String> {
    let base = path.rsplit_once('/').map_or(path, |(_, b)| b);
    let text = || String::from_utf8_lossy(bytes);
    let mut out = match base {
        "yarn.lock" => yarn_lock(&text()),
        "pnpm-lock.yaml" => pnpm_lock(&text()),
        _ => package_lock(bytes)?,
    };
    out.sort();
    out.dedup();
    Ok(out)
}

/// A registry version (not a `file:`, git or alias reference).
fn plain_version(v: &str) -> bool {
    !v.is_empty() && !v.contains([':', '/', ' '])
}

/// `package-lock.json` / `npm-shrinkwrap.json`, v1 (`dependencies`) and
/// v2/v3 (`packages`; preferred when present).
fn package_lock(bytes: &[u8]) -> Result<Vec<(String, String)>, String> {
    let lock: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("malformed lockfile: {e}"))?;
    let Some(obj) = lock.as_object() else {
        return Err("malformed lockfile: not a JSON object".to_string());
    };
    let mut out = Vec::new();
    if let Some(packages) = obj.get("packages").and_then(Value::as_object) {
        for (key, entry) in packages {
            // "" is the project itself; keys outside node_modules are
            // workspace projects; links point at them.
            let Some(idx) = key.rfind("node_modules/") else {
                continue;
            };
            if entry.get("link").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let dir_name = &key[idx + "node_modules/".len()..];
            let name = nonempty_str(entry.get("name")).unwrap_or(dir_name);
            if let Some(v) = nonempty_str(entry.get("version")).filter(|v| plain_version(v)) {
                if !name.is_empty() {
                    out.push((name.to_string(), v.to_string()));
                }
            }
        }
    } else if let Some(deps) = obj.get("dependencies") {
        let mut stack = vec![(deps, 0usize)];
        while let Some((deps, depth)) = stack.pop() {
            let Some(deps) = deps.as_object() else {
                continue;
            };
            for (name, dep) in deps {
                if let Some(v) = nonempty_str(dep.get("version")).filter(|v| plain_version(v)) {
                    out.push((name.clone(), v.to_string()));
                }
                if let Some(nested) = dep.get("dependencies") {
                    if depth < MAX_LOCK_NESTING {
                        stack.push((nested, depth + 1));
                    }
                }
            }
        }
    }
    Ok(out)
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(s)
}

/// Splits `name@rest` where the name may itself start with `@`.
fn split_at_version(spec: &str) -> Option<(&str, &str)> {
    let at = spec.get(1..)?.find('@')? + 1;
    Some((&spec[..at], &spec[at + 1..]))
}

/// `yarn.lock`, classic (v1) and berry (YAML) syntax: a header line of
/// specs (`"a@^1", a@^1.2:`) followed by an indented `version` line.
fn yarn_lock(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            current = line.strip_suffix(':').and_then(|header| {
                let spec = unquote(header.split(',').next()?);
                let (name, range) = split_at_version(spec)?;
                let local = ["workspace:", "link:", "file:", "portal:", "patch:"];
                if local.iter().any(|p| range.starts_with(p)) || name == "__metadata" {
                    return None;
                }
                Some(name.to_string())
            });
            continue;
        }
        let Some(name) = &current else {
            continue;
        };
        let trimmed = line.trim_start();
        if line.len() - trimmed.len() != 2 {
            continue;
        }
        let value = trimmed
            .strip_prefix("version:")
            .or_else(|| trimmed.strip_prefix("version "));
        if let Some(v) = value.map(unquote).filter(|v| plain_version(v)) {
            out.push((name.clone(), v.to_string()));
        }
    }
    out
}

/// `pnpm-lock.yaml` keys of the `packages:` section: `/name/1.0.0_peer` (v5),
/// `/name@1.0.0(peer)` (v6) and `name@1.0.0` (v9).
fn pnpm_lock(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut in_packages = false;
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if !line.starts_with(' ') && !line.trim().is_empty() {
            in_packages = line.trim_end() == "packages:";
            continue;
        }
        if !in_packages {
            continue;
        }
        let Some(key) = line.strip_prefix("  ").and_then(|k| k.strip_suffix(':')) else {
            continue;
        };
        if key.starts_with(' ') {
            continue;
        }
        let key = unquote(key);
        let key = key.strip_prefix('/').unwrap_or(key);
        let key = key.split('(').next().unwrap_or(key);
        // v5 ends in `/<version>[_peers]`; v6 and later in `@<version>`.
        let v5 = key.rsplit_once('/').filter(|(_, last)| {
            let version = last.split('_').next().unwrap_or(last);
            version.starts_with(|c: char| c.is_ascii_digit()) && !version.contains('@')
        });
        let parsed = match v5 {
            Some((name, last)) => Some((name, last.split('_').next().unwrap_or(last))),
            None => split_at_version(key),
        };
        if let Some((name, version)) = parsed {
            if !name.is_empty() && plain_version(version) {
                out.push((name.to_string(), version.to_string()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_dir_names() {
        assert_eq!(package_dir_name("node_modules/foo"), Some("foo"));
        assert_eq!(package_dir_name("a/node_modules/@s/bar"), Some("@s/bar"));
        assert_eq!(package_dir_name("node_modules/@s"), None);
        assert_eq!(package_dir_name("node_modules/.bin"), None);
        assert_eq!(package_dir_name("node_modules/foo/lib"), None);
        assert_eq!(package_dir_name("node_modules/@s/bar/lib"), None);
        assert_eq!(package_dir_name("node_modules_x/foo"), None);
        assert_eq!(
            package_dir_name("a/node_modules/x/node_modules/@s/y/node_modules/z"),
            Some("z")
        );
        assert_eq!(
            package_dir_name("node_modules/.pnpm/x@1.0.0/node_modules/x"),
            Some("x")
        );
        // A fixture inside a package's test directory is not an install.
        assert_eq!(
            package_dir_name("node_modules/resolve/test/resolver/node_modules/garply"),
            None
        );
        assert_eq!(package_dir_name("node_modules/x/lib/node_modules/y"), None);
        assert_eq!(package_dir_name("foo"), None);
    }

    #[test]
    fn lockfile_key_shapes() {
        let y = "# yarn lockfile v1\n\n\n\"@babel/core@^7.0.0\", \"@babel/core@^7.1.0\":\n  version \"7.24.0\"\n  resolved \"https://x\"\n  dependencies:\n    debug \"^4.1.0\"\n\ndebug@^4.1.0:\n  version \"4.3.4\"\n";
        assert_eq!(
            yarn_lock(y),
            vec![
                ("@babel/core".to_string(), "7.24.0".to_string()),
                ("debug".to_string(), "4.3.4".to_string())
            ]
        );
        let berry = "__metadata:\n  version: 8\n\n\"app@workspace:.\":\n  version: 0.0.0-use.local\n\n\"ms@npm:^2.1.1\":\n  version: 2.1.3\n";
        assert_eq!(
            yarn_lock(berry),
            vec![("ms".to_string(), "2.1.3".to_string())]
        );
        let p5 = "lockfileVersion: 5.4\npackages:\n  /ms/2.1.3:\n    resolved: x\n  /@s/a/1.0.0_react@18.0.0:\n    dev: false\n";
        assert_eq!(
            pnpm_lock(p5),
            vec![
                ("ms".to_string(), "2.1.3".to_string()),
                ("@s/a".to_string(), "1.0.0".to_string())
            ]
        );
        let p9 = "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies: {}\npackages:\n  '@s/a@1.0.0(react@18.0.0)':\n    resolution: {}\n  ms@2.1.3:\n    resolution: {}\nsnapshots:\n  ms@9.9.9: {}\n";
        assert_eq!(
            pnpm_lock(p9),
            vec![
                ("@s/a".to_string(), "1.0.0".to_string()),
                ("ms".to_string(), "2.1.3".to_string())
            ]
        );
    }
}

//! Go executables: the modules the build info says were linked in, and the
//! Go standard library of the toolchain that built them.
//!
//! Reported (`ComponentKind::Golang`, evidence the binary):
//! - the main module (`mod` line; for GOPATH builds, which have none, the
//!   main package `path`, as syft does), with the build settings of interest
//!   as `stella:go:build:KEY` properties and `stella:go:main=true`;
//! - every `dep`, with its `h1:` sum as `stella:go:sum`. A replaced module is
//!   reported as its replacement (that is the code in the binary), the
//!   original kept as `stella:go:replaces=PATH@VERSION`. A replacement by a
//!   local directory (`=> ../dir`) names no module: the original path is
//!   kept with version `(devel)` and the directory in
//!   `stella:go:replaced-by-dir` (syft names it after the directory, which
//!   makes no usable purl);
//! - `stdlib`, versioned from the toolchain: `go1.19.8` → `1.19.8`
//!   (`pkg:golang/stdlib@1.19.8`, as Go vulnerability data keys it), the raw
//!   string kept as `stella:go:version`.
//!
//! The main module's version is `(devel)` unless the build pinned one. Like
//! syft (and trivy for the first), we take, in order: a semantic version set
//! with `-ldflags -X …version=V` (`v` prefixed), then a pseudo-version from
//! the VCS stamp (`v0.0.0-YYYYMMDDhhmmss-rev12`, `+dirty` when modified);
//! `stella:go:main-version-from` says which. Otherwise the version stays
//! `(devel)` and the purl carries none: `(devel)` is not a version.
//!
//! Not a Go binary: no report at all. A blob that cannot be decoded: a note.

mod buildinfo;
mod modinfo;

pub use buildinfo::{uvarint, RawBuildInfo, MAGIC, MAX_STRING, SECTION};
pub use modinfo::{parse as parse_modinfo, ModInfo, Module};

use stella_model::{Component, ComponentKind, Purl};

use super::elf::is_elf;
use crate::file_analyzer::{FileAnalyzer, FileReport};

pub const PROP_SUM: &str = "stella:go:sum";
pub const PROP_GO_VERSION: &str = "stella:go:version";
pub const PROP_MAIN: &str = "stella:go:main";
pub const PROP_PACKAGE: &str = "stella:go:path";
pub const PROP_REPLACES: &str = "stella:go:replaces";
pub const PROP_REPLACED_BY_DIR: &str = "stella:go:replaced-by-dir";
pub const PROP_MAIN_VERSION_FROM: &str = "stella:go:main-version-from";
/// Prefix of the build settings copied to the main module.
pub const PROP_BUILD: &str = "stella:go:build:";
/// What Go writes for a module built from a directory, not a version.
pub const DEVEL: &str = "(devel)";

/// Build settings worth keeping: target, cgo, linker flags, VCS stamp.
const SETTINGS_KEPT: [&str; 10] = [
    "GOOS",
    "GOARCH",
    "CGO_ENABLED",
    "-ldflags",
    "-tags",
    "-buildmode",
    "vcs",
    "vcs.revision",
    "vcs.time",
    "vcs.modified",
];

pub struct GoBuildInfoAnalyzer;

impl FileAnalyzer for GoBuildInfoAnalyzer {
    fn name(&self) -> &'static str {
        "go-buildinfo"
    }

    fn version(&self) -> u32 {
        1
    }

    fn claims(&self, _path: &str, _mode: u32, head: &[u8]) -> bool {
        is_elf(head)
    }

    fn analyze_file(
        &self,
        _path: &str,
        data: &[u8],
        report: &mut FileReport,
    ) -> Result<(), String> {
        let Some(raw) = buildinfo::read(data)? else {
            return Ok(());
        };
        let info = modinfo::parse(&raw.modinfo)?;
        report.components.extend(components(&raw.go_version, &info));
        Ok(())
    }
}

/// `pkg:golang/NAMESPACE/NAME@VERSION` (no version for `(devel)` or none).
pub fn purl(module_path: &str, version: &str) -> Purl {
    let (namespace, name) = module_path.rsplit_once('/').unwrap_or(("", module_path));
    let purl = Purl::new("golang", name).with_namespace(namespace);
    if version == DEVEL {
        purl
    } else {
        purl.with_version(version)
    }
}

fn golang(path: &str, version: &str) -> Component {
    let mut c = Component::new(ComponentKind::Golang, path, version);
    c.purl = Some(purl(path, version));
    c
}

/// The components one binary's build info proves: main module, deps, stdlib.
pub fn components(go_version: &str, info: &ModInfo) -> Vec<Component> {
    let mut out = Vec::new();
    let main_path = info
        .main
        .as_ref()
        .map(|m| m.path.as_str())
        .or(info.path.as_deref())
        .filter(|p| !p.is_empty());
    if let Some(main_path) = main_path {
        let recorded = info.main.as_ref().map_or(DEVEL, |m| m.version.as_str());
        let (version, from) = main_version(recorded, info);
        let mut c = golang(main_path, &version);
        c.properties.insert(PROP_MAIN.into(), "true".into());
        if let Some(from) = from {
            c.properties
                .insert(PROP_MAIN_VERSION_FROM.into(), from.into());
        }
        if let Some(sum) = info.main.as_ref().map(|m| m.sum.as_str()) {
            insert_nonempty(&mut c, PROP_SUM, sum);
        }
        if let Some(package) = &info.path {
            insert_nonempty(&mut c, PROP_PACKAGE, package);
        }
        insert_nonempty(&mut c, PROP_GO_VERSION, go_version);
        for (key, value) in &info.settings {
            if SETTINGS_KEPT.contains(&key.as_str()) {
                c.properties
                    .insert(format!("{PROP_BUILD}{key}"), value.clone());
            }
        }
        out.push(c);
    }
    for dep in &info.deps {
        out.push(dependency(dep));
    }
    if let Some(version) = stdlib_version(go_version) {
        let mut c = golang("stdlib", version);
        c.properties
            .insert(PROP_GO_VERSION.into(), go_version.to_string());
        out.push(c);
    }
    out
}

fn insert_nonempty(c: &mut Component, key: &str, value: &str) {
    if !value.is_empty() {
        c.properties.insert(key.to_string(), value.to_string());
    }
}

fn dependency(dep: &Module) -> Component {
    let Some(replacement) = dep.replace.as_deref() else {
        let mut c = golang(&dep.path, &dep.version);
        insert_nonempty(&mut c, PROP_SUM, &dep.sum);
        return c;
    };
    let original = format!("{}@{}", dep.path, dep.version);
    if is_local_dir(&replacement.path) {
        let mut c = golang(&dep.path, DEVEL);
        c.properties
            .insert(PROP_REPLACED_BY_DIR.into(), replacement.path.clone());
        c.properties.insert(PROP_REPLACES.into(), original);
        return c;
    }
    let mut c = golang(&replacement.path, &replacement.version);
    insert_nonempty(&mut c, PROP_SUM, &replacement.sum);
    c.properties.insert(PROP_REPLACES.into(), original);
    c
}

/// Go's rule for a replacement that is a directory, not a module path.
fn is_local_dir(path: &str) -> bool {
    path.starts_with("./")
        || path.starts_with("../")
        || path.starts_with('/')
        || path == "."
        || path == ".."
}

/// `go1.19.8` → `1.19.8`; `go1.21.0 X:boringcrypto` → `1.21.0`. `None` for
/// development toolchains (`devel go1.22-abc…`), which name no release.
pub fn stdlib_version(go_version: &str) -> Option<&str> {
    let release = go_version.split_whitespace().next()?.strip_prefix("go")?;
    release
        .starts_with(|c: char| c.is_ascii_digit())
        .then_some(release)
}

/// The main module's version and, when `(devel)` was replaced, from what.
fn main_version(recorded: &str, info: &ModInfo) -> (String, Option<&'static str>) {
    if !recorded.is_empty() && recorded != DEVEL {
        return (recorded.to_string(), None);
    }
    if let Some(v) = info.setting("-ldflags").and_then(version_from_ldflags) {
        return (v, Some("ldflags"));
    }
    if let Some(v) = pseudo_version(info) {
        return (v, Some("vcs"));
    }
    (DEVEL.to_string(), None)
}

/// The first `-X PKG.VAR=VALUE` whose variable is called `version` (any
/// case) and whose value is a semantic version; prefixed with `v` as module
/// versions are.
fn version_from_ldflags(ldflags: &str) -> Option<String> {
    let words = split_flags(ldflags);
    let mut words = words.iter();
    while let Some(word) = words.next() {
        let assignment = match word.as_str() {
            "-X" | "--X" => words.next()?.as_str(),
            w => match w.strip_prefix("-X=").or_else(|| w.strip_prefix("--X=")) {
                Some(a) => a,
                None => continue,
            },
        };
        let Some((symbol, value)) = assignment.split_once('=') else {
            continue;
        };
        let var = symbol.rsplit_once('.').map_or(symbol, |(_, v)| v);
        if var.eq_ignore_ascii_case("version") && is_semver(value) {
            let v = value.strip_prefix('v').unwrap_or(value);
            return Some(format!("v{v}"));
        }
    }
    None
}

/// Splits linker flags on spaces, honouring single and double quotes.
fn split_flags(flags: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in flags.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            None => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// `[v]MAJOR.MINOR.PATCH[-pre][+build]`, digits only in the core.
fn is_semver(value: &str) -> bool {
    let v = value.strip_prefix('v').unwrap_or(value);
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && v[core.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.'))
}

/// `v0.0.0-YYYYMMDDhhmmss-REVISION12` from `vcs.time` (UTC, RFC 3339) and
/// `vcs.revision`, as Go's own pseudo-versions are built.
fn pseudo_version(info: &ModInfo) -> Option<String> {
    let revision = info.setting("vcs.revision")?;
    let time = info.setting("vcs.time")?;
    if revision.len() < 12 || !revision.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    // 2023-05-06T07:08:09Z: Go writes UTC with a Z.
    let digits: String = time
        .strip_suffix('Z')?
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    let shape_ok = time.len() == 20 && digits.len() == 14 && time.as_bytes().get(10) == Some(&b'T');
    if !shape_ok {
        return None;
    }
    let dirty = if info.setting("vcs.modified") == Some("true") {
        "+dirty"
    } else {
        ""
    };
    Some(format!("v0.0.0-{digits}-{}{dirty}", &revision[..12]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(text: &str) -> ModInfo {
        modinfo::parse(text).expect("parses")
    }

    #[test]
    fn stdlib_versions() {
        assert_eq!(stdlib_version("go1.19.8"), Some("1.19.8"));
        assert_eq!(stdlib_version("go1.21.0 X:boringcrypto"), Some("1.21.0"));
        assert_eq!(stdlib_version("go1.22rc1"), Some("1.22rc1"));
        assert_eq!(stdlib_version("devel go1.22-abc Tue"), None);
        assert_eq!(stdlib_version("go"), None);
    }

    #[test]
    fn ldflags_versions() {
        assert_eq!(
            version_from_ldflags("-X main.version=1.4.2"),
            Some("v1.4.2".into())
        );
        assert_eq!(
            version_from_ldflags("-s -w -X 'github.com/a/b/internal/build.Version=v2.0.0-rc.1'"),
            Some("v2.0.0-rc.1".into())
        );
        assert_eq!(
            version_from_ldflags("-X=main.Version=0.9.0"),
            Some("v0.9.0".into())
        );
        assert_eq!(version_from_ldflags("-X main.version=dev"), None);
        assert_eq!(version_from_ldflags("-X main.commit=1.2.3"), None);
        assert_eq!(version_from_ldflags("-X"), None);
    }

    #[test]
    fn main_version_sources() {
        let vcs = info(
            "mod\tx.io/m\t(devel)\t\nbuild\tvcs.revision=59290e2dd153b3ca7880e3f838a55d4198b98e3f\n\
             build\tvcs.time=2023-05-06T07:08:09Z\nbuild\tvcs.modified=false\n",
        );
        assert_eq!(
            main_version(DEVEL, &vcs),
            ("v0.0.0-20230506070809-59290e2dd153".into(), Some("vcs"))
        );
        let plain = info("mod\tx.io/m\t(devel)\t\n");
        assert_eq!(main_version(DEVEL, &plain), (DEVEL.into(), None));
        assert_eq!(main_version("v1.0.0", &vcs), ("v1.0.0".into(), None));
    }

    #[test]
    fn replacements_and_purls() {
        let i = info(
            "path\tx.io/m/cmd/m\nmod\tx.io/m\t(devel)\t\n\
             dep\tgithub.com/a/b\tv1.0.0\n=>\tgithub.com/fork/b\tv1.0.1\th1:f=\n\
             dep\tx.io/local\tv0.0.0\n=>\t../local\t(devel)\t\n",
        );
        let cs = components("go1.20.3", &i);
        let names: Vec<(&str, &str)> = cs
            .iter()
            .map(|c| (c.name.as_str(), c.version.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("x.io/m", DEVEL),
                ("github.com/fork/b", "v1.0.1"),
                ("x.io/local", DEVEL),
                ("stdlib", "1.20.3")
            ]
        );
        let purls: Vec<String> = cs
            .iter()
            .map(|c| c.purl.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(
            purls,
            [
                "pkg:golang/x.io/m",
                "pkg:golang/github.com/fork/b@v1.0.1",
                "pkg:golang/x.io/local",
                "pkg:golang/stdlib@1.20.3"
            ]
        );
        assert_eq!(cs[1].properties[PROP_REPLACES], "github.com/a/b@v1.0.0");
        assert_eq!(cs[1].properties[PROP_SUM], "h1:f=");
        assert_eq!(cs[2].properties[PROP_REPLACED_BY_DIR], "../local");
        assert_eq!(cs[0].properties[PROP_PACKAGE], "x.io/m/cmd/m");
    }
}

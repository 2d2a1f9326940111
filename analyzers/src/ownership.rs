//! Which OS package installed which file, from the package managers' own
//! file lists: dpkg `var/lib/dpkg/info/*.list` (and distroless
//! `status.d/*.md5sums`), apk `R:`/`F:` lines, rpm headers' file lists.
//!
//! Two uses: a language package (a Debian `python3-*` dist-info, a jar in
//! `usr/share/java`, a Go binary in `usr/bin`) whose files belong to an OS
//! package is reported once, as that OS package — the distro's advisories
//! are the ones that apply to it; and the usage view maps the files an
//! entrypoint loads back to packages.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use stella_model::{Component, ComponentKind};

use crate::fs::FsView;
use crate::os::apk::{APK_DB, APK_DB_USR};
use crate::os::dpkg::STATUS_D;
use crate::os::rpm;
use crate::squash::SquashedFs;

const DPKG_INFO: &str = "var/lib/dpkg/info/";

/// Property on an OS package listing (space-separated, sorted) the purls of
/// the language packages found inside its files.
pub const LANGUAGE_PURLS: &str = "stella:language:purls";

/// The file lists this module reads (buffered by the layer walk).
pub fn wants(path: &str) -> bool {
    let in_dir = |dir: &str, suffix: &str| {
        path.strip_prefix(dir)
            .and_then(|rest| rest.strip_suffix(suffix))
            .is_some_and(|name| !name.is_empty() && !name.contains('/'))
    };
    in_dir(DPKG_INFO, ".list") || in_dir(&format!("{STATUS_D}/"), ".md5sums")
}

/// File path (physical, no leading `/`) → index of the OS component that owns it.
#[derive(Debug, Default)]
pub struct FileOwners {
    by_path: HashMap<String, usize>,
}

impl FileOwners {
    /// Reads every file list in the final view and maps its paths to the
    /// matching component in `components`. Lists of packages that are not
    /// in `components` (removed, config-files only) are ignored.
    pub fn collect(view: &SquashedFs<'_>, components: &[Component]) -> FileOwners {
        let mut index: HashMap<(ComponentKind, &str, Option<&str>), usize> = HashMap::new();
        for (i, c) in components.iter().enumerate() {
            if matches!(c.kind, ComponentKind::Deb | ComponentKind::Apk) {
                index.insert((c.kind, c.name.as_str(), c.arch.as_deref()), i);
                // An unqualified dpkg list belongs to the one package of that name.
                index.entry((c.kind, c.name.as_str(), None)).or_insert(i);
            }
        }
        let mut owners = FileOwners::default();
        let mut resolved_dirs: HashMap<String, String> = HashMap::new();
        for path in view.captured_files() {
            let (package, arch, md5sums) = if let Some(rest) = path
                .strip_prefix(DPKG_INFO)
                .and_then(|r| r.strip_suffix(".list"))
            {
                match rest.split_once(':') {
                    Some((name, arch)) => (name, Some(arch), false),
                    None => (rest, None, false),
                }
            } else if let Some(rest) = path
                .strip_prefix(STATUS_D)
                .and_then(|r| r.strip_prefix('/'))
                .and_then(|r| r.strip_suffix(".md5sums"))
            {
                (rest, None, true)
            } else {
                continue;
            };
            let Some(&owner) = index.get(&(ComponentKind::Deb, package, arch)) else {
                continue;
            };
            let Ok(Some(file)) = view.read(&path) else {
                continue;
            };
            for line in String::from_utf8_lossy(file.bytes).lines() {
                // md5sums lines are "<md5>  <path>"; .list lines are "/<path>".
                let listed = if md5sums {
                    line.split_once("  ").map_or("", |(_, p)| p)
                } else {
                    line
                };
                owners.add(view, &mut resolved_dirs, listed, owner);
            }
        }
        for db in [APK_DB, APK_DB_USR] {
            if let Ok(Some(file)) = view.read(db) {
                owners.add_apk(view, &mut resolved_dirs, file.bytes, &index);
            }
        }
        owners.add_rpm(view, &mut resolved_dirs, components);
        owners
    }

    /// The OS component that installed `path` (a physical path), if any.
    pub fn owner_of(&self, path: &str) -> Option<usize> {
        self.by_path.get(path).copied()
    }

    pub fn len(&self) -> usize {
        self.by_path.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }

    /// Records `listed` and, when a directory on the way is a symlink (merged
    /// `/usr`: `/bin` → `usr/bin`), the physical path too.
    fn add(
        &mut self,
        view: &SquashedFs<'_>,
        resolved_dirs: &mut HashMap<String, String>,
        listed: &str,
        owner: usize,
    ) {
        let path = listed.trim_start_matches('/');
        if path.is_empty() || path == "." {
            return;
        }
        let physical = match path.rsplit_once('/') {
            Some((dir, base)) => {
                let dir = resolved_dirs
                    .entry(dir.to_string())
                    .or_insert_with(|| view.resolve(dir).unwrap_or_else(|_| dir.to_string()));
                if dir.is_empty() {
                    base.to_string()
                } else {
                    format!("{dir}/{base}")
                }
            }
            None => path.to_string(),
        };
        // First owner wins: a later list claiming the same file (diversions,
        // shared directories) does not steal it; the walk order is sorted.
        if physical != path {
            self.by_path.entry(physical).or_insert(owner);
        }
        self.by_path.entry(path.to_string()).or_insert(owner);
    }

    /// rpm headers carry their file lists. The rpm analyzer already failed
    /// the scan (or warned, in lenient mode) if the database is unreadable.
    fn add_rpm(
        &mut self,
        view: &SquashedFs<'_>,
        resolved_dirs: &mut HashMap<String, String>,
        components: &[Component],
    ) {
        let Ok(Some(db)) = rpm::installed_headers(view, &mut Vec::new()) else {
            return;
        };
        let index: HashMap<(&str, String, Option<&str>), usize> = components
            .iter()
            .enumerate()
            .filter(|(_, c)| c.kind == ComponentKind::Rpm)
            .map(|(i, c)| ((c.name.as_str(), c.version.clone(), c.arch.as_deref()), i))
            .collect();
        for h in &db.headers {
            let Some(&owner) = index.get(&(h.name.as_str(), h.evr(), h.arch.as_deref())) else {
                continue;
            };
            for file in &h.files {
                self.add(view, resolved_dirs, file, owner);
            }
        }
    }

    /// apk's installed db: `P:` starts a package, `F:` sets the directory,
    /// `R:` names a file in it.
    fn add_apk(
        &mut self,
        view: &SquashedFs<'_>,
        resolved_dirs: &mut HashMap<String, String>,
        db: &[u8],
        index: &HashMap<(ComponentKind, &str, Option<&str>), usize>,
    ) {
        let text = String::from_utf8_lossy(db);
        let mut owner = None;
        let mut dir = String::new();
        for line in text.lines() {
            if line.is_empty() {
                owner = None;
                dir.clear();
            } else if let Some(name) = line.strip_prefix("P:") {
                owner = index.get(&(ComponentKind::Apk, name, None)).copied();
            } else if let Some(d) = line.strip_prefix("F:") {
                dir = d.to_string();
            } else if let (Some(file), Some(owner)) = (line.strip_prefix("R:"), owner) {
                let path = if dir.is_empty() {
                    file.to_string()
                } else {
                    format!("{dir}/{file}")
                };
                self.add(view, resolved_dirs, &path, owner);
            }
        }
    }
}

/// The file that proves a language/binary component: its first evidence path,
/// without the `!/inner/path` suffix of nested archives.
fn proving_file(c: &Component) -> Option<&str> {
    let first = c.evidence.first()?;
    Some(
        first
            .split_once('!')
            .map_or(first.as_str(), |(outer, _)| outer),
    )
}

fn is_os_package(kind: ComponentKind) -> bool {
    matches!(
        kind,
        ComponentKind::Deb | ComponentKind::Apk | ComponentKind::Rpm
    )
}

/// Folds each non-OS component whose proving file belongs to an OS package
/// into that package (as a purl in [`LANGUAGE_PURLS`]) and removes it.
/// Returns how many components were folded. `owners` is updated to the new
/// component indices (owners are OS packages, which are never removed).
pub fn fold_owned_language_packages(
    components: &mut Vec<Component>,
    owners: &mut FileOwners,
) -> usize {
    let mut folded: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    let mut keep = vec![true; components.len()];
    for (i, c) in components.iter().enumerate() {
        if is_os_package(c.kind) {
            continue;
        }
        let Some(owner) = proving_file(c).and_then(|p| owners.owner_of(p)) else {
            continue;
        };
        let identity = match &c.purl {
            Some(purl) => purl.to_string(),
            None => format!("{}:{}@{}", c.kind.as_str(), c.name, c.version),
        };
        folded.entry(owner).or_default().insert(identity);
        keep[i] = false;
    }
    let count = keep.iter().filter(|k| !**k).count();
    for (owner, purls) in folded {
        let entry = components[owner]
            .properties
            .entry(LANGUAGE_PURLS.to_string())
            .or_default();
        let mut all: BTreeSet<String> = entry.split_whitespace().map(str::to_string).collect();
        all.extend(purls);
        *entry = all.into_iter().collect::<Vec<_>>().join(" ");
    }
    let mut new_index = Vec::with_capacity(keep.len());
    let mut next = 0;
    for &k in &keep {
        new_index.push(next);
        next += usize::from(k);
    }
    for owner in owners.by_path.values_mut() {
        *owner = new_index.get(*owner).copied().unwrap_or(*owner);
    }
    let mut flags = keep.into_iter();
    components.retain(|_| flags.next().unwrap_or(true));
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{EntryKind, EntryMeta, LayerFs};
    use stella_model::Purl;

    fn entry(kind: EntryKind) -> EntryMeta {
        EntryMeta {
            kind,
            size: 0,
            mode: 0o755,
        }
    }

    fn component(kind: ComponentKind, name: &str, evidence: &str) -> Component {
        let mut c = Component::new(kind, name, "1.0");
        c.evidence.push(evidence.to_string());
        c
    }

    #[test]
    fn folds_packages_whose_files_an_os_package_lists_through_merged_usr() {
        let mut layer = LayerFs {
            entries: vec![
                ("bin".into(), entry(EntryKind::Symlink("usr/bin".into()))),
                ("usr/bin/tool".into(), entry(EntryKind::File)),
                (
                    "var/lib/dpkg/info/tool:amd64.list".into(),
                    entry(EntryKind::File),
                ),
                ("lib/apk/db/installed".into(), entry(EntryKind::File)),
            ],
            ..LayerFs::default()
        };
        layer.captured.insert(
            "var/lib/dpkg/info/tool:amd64.list".into(),
            b"/.\n/bin\n/bin/tool\n".to_vec(),
        );
        layer.captured.insert(
            "lib/apk/db/installed".into(),
            b"P:py3-six\nV:1.0\nF:usr/lib/python3.11/site-packages/six-1.0.dist-info\nR:METADATA\n\n".to_vec(),
        );
        let layers = [layer];
        let mut view = SquashedFs::new(&layers);
        view.apply_all();

        let mut deb = Component::new(ComponentKind::Deb, "tool", "2.0");
        deb.arch = Some("amd64".into());
        let mut gomod = component(ComponentKind::Golang, "example.com/tool", "usr/bin/tool");
        gomod.purl = Some(
            Purl::new("golang", "tool")
                .with_namespace("example.com")
                .with_version("1.0"),
        );
        let mut components = vec![
            deb,
            Component::new(ComponentKind::Apk, "py3-six", "1.0"),
            gomod,
            component(
                ComponentKind::Pypi,
                "six",
                "usr/lib/python3.11/site-packages/six-1.0.dist-info/METADATA",
            ),
            component(
                ComponentKind::Npm,
                "left",
                "app/node_modules/left/package.json",
            ),
        ];
        // A folded component before an OS package shifts that package's index.
        components.swap(1, 2);
        let owners = FileOwners::collect(&view, &components);
        assert_eq!(owners.owner_of("usr/bin/tool"), Some(0), "physical path");
        assert_eq!(owners.owner_of("bin/tool"), Some(0), "listed path");
        let mut owners = owners;
        assert_eq!(
            fold_owned_language_packages(&mut components, &mut owners),
            2
        );
        assert_eq!(owners.owner_of("usr/bin/tool"), Some(0));
        let names: Vec<&str> = components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["tool", "py3-six", "left"]);
        assert_eq!(
            owners.owner_of("usr/lib/python3.11/site-packages/six-1.0.dist-info/METADATA"),
            Some(1)
        );
        assert_eq!(
            components[0].properties[LANGUAGE_PURLS],
            "pkg:golang/example.com/tool@1.0"
        );
        assert_eq!(components[1].properties[LANGUAGE_PURLS], "pypi:six@1.0");
    }

    #[test]
    fn rpm_file_lists_own_files() {
        let db = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/rpm/sqlite/rpmdb.sqlite"
        ))
        .unwrap();
        let mut layer = LayerFs {
            entries: vec![("var/lib/rpm/rpmdb.sqlite".into(), entry(EntryKind::File))],
            ..LayerFs::default()
        };
        layer.captured.insert("var/lib/rpm/rpmdb.sqlite".into(), db);
        let layers = [layer];
        let mut view = SquashedFs::new(&layers);
        view.apply_all();
        let headers = rpm::installed_headers(&view, &mut Vec::new())
            .unwrap()
            .unwrap()
            .headers;
        let beta = headers.iter().find(|h| h.name == "stella-beta").unwrap();
        let mut rpm_component = Component::new(ComponentKind::Rpm, "stella-beta", &beta.evr());
        rpm_component.arch = beta.arch.clone();
        let owners = FileOwners::collect(&view, &[rpm_component]);
        assert_eq!(owners.owner_of("usr/share/stella-beta/README"), Some(0));
        assert_eq!(owners.owner_of("usr/share/stella-gamma/README"), None);
    }
}

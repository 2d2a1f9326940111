//! `FeedDb::lookup_merged` on real records: the GHSA advisories of the
//! parity fixtures and the PyPA/Go OSV records that alias them, built into
//! one DB (the GHSA layout and OSV as two sources), pushed to an OCI layout,
//! pulled, looked up merged.
//!
//! Oracle: Python reads the same files (json, PyYAML) and, for every
//! (ecosystem, name), groups the records that name it by alias closure over
//! `id`, `aliases` and `upstream` (PyPI names PEP 503-normalized, as
//! the DB keys them: GHSA's `GitPython` is PyPA's `gitpython`), and picks the group's canonical id (the
//! lowest CVE by year, then number). The merged lookup must give one
//! advisory per group, with that id and exactly the group's ids.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use stella_feeds::db::{build, pull, push, BuildOptions, FeedDb, SourceSpec};
use stella_feeds::merge::SourceClass;
use stella_registry_store::{open_target, ManifestRef, StoreOptions};

fn parity(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/parity")
        .join(dir)
}

/// `(ecosystem, name)` → the groups of ids, each `(canonical, ids)`.
type Groups = BTreeMap<(String, String), BTreeSet<(String, BTreeSet<String>)>>;

const ORACLE: &str = r#"
import json, os, re, sys, yaml
records = []
for d in sys.argv[1:]:
    for f in sorted(os.listdir(d)):
        p = os.path.join(d, f)
        if f.endswith('.json'):
            records.append(json.load(open(p)))
        elif f.endswith('.yaml'):
            records.append(yaml.safe_load(open(p)))
keys = {}
for r in records:
    for a in r.get('affected', []):
        pkg = a.get('package', {})
        name = pkg.get('name', '')
        if pkg.get('ecosystem') == 'PyPI':
            name = re.sub(r'[-_.]+', '-', name).lower()  # PEP 503
        k = (pkg.get('ecosystem', ''), name)
        keys.setdefault(k, []).append(r)
def cve_key(i):
    m = re.fullmatch(r'CVE-(\d+)-(\d+)', i)
    return (int(m.group(1)), int(m.group(2))) if m else None
out = []
for (eco, name), rs in sorted(keys.items()):
    # union-find over the ids of the records naming this key
    parent = {}
    def find(x):
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x
    uniq = {r['id']: r for r in rs}.values()
    for r in uniq:
        ids = [r['id']] + r.get('aliases', []) + r.get('upstream', [])
        for i in ids[1:]:
            parent[find(i)] = find(ids[0])
    groups = {}
    for r in uniq:
        ids = [r['id']] + r.get('aliases', []) + r.get('upstream', [])
        g = groups.setdefault(find(r['id']), set())
        g.update(ids)
    for ids in groups.values():
        cves = sorted((cve_key(i), i) for i in ids if cve_key(i))
        canonical = cves[0][1] if cves else None
        out.append({'eco': eco, 'name': name, 'canonical': canonical, 'ids': sorted(ids)})
print(json.dumps(out))
"#;

fn python_groups(dirs: &[PathBuf]) -> Groups {
    let out = Command::new("python3")
        .arg("-c")
        .arg(ORACLE)
        .args(dirs)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut groups = Groups::new();
    for g in list {
        let key = (
            g["eco"].as_str().unwrap().to_string(),
            g["name"].as_str().unwrap().to_string(),
        );
        let ids: BTreeSet<String> = g["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let canonical = g["canonical"].as_str().unwrap_or("").to_string();
        groups.entry(key).or_default().insert((canonical, ids));
    }
    groups
}

#[test]
fn merged_lookups_follow_alias_groups() {
    let ghsa = parity("ghsa");
    let osv = parity("osv");
    let specs = vec![
        SourceSpec::parse(&format!("ghsa:{}", ghsa.display())).unwrap(),
        SourceSpec::parse(&format!("osv:{}", osv.display())).unwrap(),
    ];
    let db = build(&specs, &BuildOptions { threads: 2 }).unwrap();
    let work = tempfile::tempdir().unwrap();
    let spec = format!("oci-dir:{}", work.path().join("layout").display());
    let store = open_target(&spec, &StoreOptions::default()).unwrap().store;
    push(store.as_ref(), &db, "v1").unwrap();
    let cache = work.path().join("cache");
    let pulled = pull(store.as_ref(), &ManifestRef::tag("v1").unwrap(), &cache).unwrap();
    let db = FeedDb::open(&cache).unwrap();
    assert_eq!(db.manifest_digest().to_string(), pulled.manifest_digest);

    // Source classes recorded at build time.
    let classes: BTreeMap<&str, (Option<SourceClass>, &[String])> = db
        .metadata()
        .sources
        .iter()
        .map(|s| (s.name.as_str(), (s.class, s.ecosystems.as_slice())))
        .collect();
    assert_eq!(classes["ghsa/ghsa"].0, Some(SourceClass::Ghsa));
    assert_eq!(
        classes["osv/osv"],
        (
            Some(SourceClass::LanguageDatabase),
            [
                "Go".to_string(),
                "PyPI".to_string(),
                "crates.io".to_string()
            ]
            .as_slice()
        )
    );

    let oracle = python_groups(&[ghsa, osv]);
    let mut merged_somewhere = false;
    for ((eco, name), groups) in &oracle {
        let merged = db.lookup_merged(eco, name).unwrap();
        let got: BTreeSet<(String, BTreeSet<String>)> = merged
            .iter()
            .map(|a| {
                let ids: BTreeSet<String> = std::iter::once(a.id.clone())
                    .chain(a.aliases.iter().cloned())
                    .chain(a.upstream.iter().cloned())
                    .collect();
                (a.id.clone(), ids)
            })
            .collect();
        let want: BTreeSet<(String, BTreeSet<String>)> = groups
            .iter()
            .map(|(canonical, ids)| {
                // No CVE in the group: the id is one of the group's.
                let id = if canonical.is_empty() {
                    got.iter()
                        .find(|(_, g)| g == ids)
                        .map(|(id, _)| id.clone())
                        .unwrap_or_default()
                } else {
                    canonical.clone()
                };
                (id, ids.clone())
            })
            .collect();
        assert_eq!(got, want, "{eco}/{name}");
        for a in &merged {
            assert!(a.affected.iter().all(|p| &p.ecosystem == eco));
            let sources: BTreeSet<&str> = a.provenance.iter().map(|p| p.source.as_str()).collect();
            if sources.len() > 1 {
                merged_somewhere = true;
                // Every field choice is explained.
                assert!(!a.decisions.is_empty(), "{}: no decisions", a.id);
                assert!(a.affected.iter().all(|p| !p.sources.is_empty()));
            }
        }
    }
    assert!(merged_somewhere, "no GHSA/OSV pair was merged");

    // A matching handle leaves out only each advisory's long description
    // (and so the merge has no `details` choice to explain).
    let lean = FeedDb::open(&cache).unwrap().without_details();
    let mut described = 0;
    for (eco, name) in oracle.keys() {
        let full = db.lookup_merged(eco, name).unwrap();
        let without = lean.lookup_merged(eco, name).unwrap();
        assert_eq!(full.len(), without.len(), "{eco}/{name}");
        for (mut f, w) in full.into_iter().zip(without) {
            described += usize::from(f.details.is_some());
            assert!(w.details.is_none(), "{}: details kept", w.id);
            f.details = None;
            f.decisions.retain(|d| d.field != "details");
            assert_eq!(f, w, "{eco}/{name}");
        }
    }
    assert!(described > 0, "no fixture advisory has details");

    // Loaded into memory (1 and 3 threads), the DB answers exactly what
    // the lazy one does, for every key and for names spelled otherwise.
    for threads in [1, 3] {
        let loaded = db.load(threads).unwrap();
        assert_eq!(loaded.key_count(), db.key_count());
        assert_eq!(loaded.ecosystems(), db.ecosystems().as_slice());
        assert_eq!(loaded.manifest_digest(), db.manifest_digest());
        for (eco, name) in db.keys() {
            let lazy = db.lookup_merged(&eco, &name).unwrap();
            assert!(!lazy.is_empty(), "{eco}/{name}");
            assert_eq!(*loaded.lookup_merged(&eco, &name), *lazy, "{eco}/{name}");
        }
        assert_eq!(
            *loaded.lookup_merged("PyPI", "GitPython"),
            *db.lookup_merged("PyPI", "GitPython").unwrap()
        );
        assert!(!loaded.lookup_merged("PyPI", "GitPython").is_empty());
        assert!(loaded.lookup_merged("PyPI", "no-such-package").is_empty());
    }
    let ecosystems: BTreeSet<String> = oracle.keys().map(|(e, _)| e.clone()).collect();
    assert_eq!(db.ecosystems(), ecosystems.into_iter().collect::<Vec<_>>());
    assert!(db
        .lookup_merged("PyPI", "no-such-package")
        .unwrap()
        .is_empty());
}

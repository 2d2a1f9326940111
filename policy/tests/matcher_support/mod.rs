//! Shared by the matcher tests: the fixture advisories read by the real
//! feed connectors and merged by alias as the feeds DB does, served from an
//! in-memory index; inventories built by hand; the version oracles.

#![allow(dead_code)] // each test binary uses a different part

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use stella_feeds::connector::{self, SourceKind};
use stella_feeds::merge::{merge, MergeOptions, SourceClass, SourceInfo};
use stella_model::{
    Advisory, Component, ComponentKind, Digest, Distro, ImageInfo, Inventory, Purl, SourcePackage,
    ToolInfo, INVENTORY_SCHEMA,
};
use stella_policy::matcher::{AdvisorySource, SourceError};

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/matcher")
        .join(rel)
}

/// One fixture source: how to read it and how the merge ranks it.
pub struct Feed {
    pub kind: SourceKind,
    pub path: &'static str,
    pub info: SourceInfo,
}

pub fn feeds() -> Vec<Feed> {
    let lang = |name: &str, ecosystems: &[&str]| SourceInfo::language_database(name, ecosystems);
    vec![
        Feed {
            kind: SourceKind::Osv,
            path: "osv-pypi",
            info: lang("osv:pypa", &["PyPI"]),
        },
        Feed {
            kind: SourceKind::Osv,
            path: "osv-go",
            info: lang("osv:go", &["Go"]),
        },
        Feed {
            kind: SourceKind::Osv,
            path: "osv-crates",
            info: lang("osv:rustsec", &["crates.io"]),
        },
        Feed {
            kind: SourceKind::Osv,
            path: "osv-almalinux9",
            info: SourceInfo::new("osv:almalinux", SourceClass::Distro),
        },
        Feed {
            kind: SourceKind::DebianTracker,
            path: "debian-tracker",
            info: SourceInfo::new("debian-tracker", SourceClass::Distro),
        },
        Feed {
            kind: SourceKind::AlpineSecdb,
            path: "alpine-secdb",
            info: SourceInfo::new("alpine-secdb", SourceClass::Distro),
        },
        Feed {
            kind: SourceKind::Ghsa,
            path: "ghsa",
            info: SourceInfo::new("ghsa", SourceClass::Ghsa),
        },
    ]
}

/// Every fixture advisory, read by its connector (nothing quarantined)
/// and merged by alias.
pub fn merged_fixture_advisories() -> Vec<Advisory> {
    let mut inputs = Vec::new();
    for feed in feeds() {
        let import = connector::import(feed.kind, &fixture(feed.path), &feed.info.name)
            .unwrap_or_else(|e| panic!("importing {}: {e}", feed.path));
        assert!(
            import.quarantined.is_empty(),
            "{}: quarantined {:?}",
            feed.path,
            import.quarantined
        );
        inputs.push((feed.info, import.advisories));
    }
    merge(inputs, &MergeOptions::default()).advisories
}

/// Advisories indexed by (ecosystem, name) as a feeds DB keys them, with
/// PyPI names PEP 503 normalized (the contract of
/// `AdvisorySource::advisories`). Records every lookup.
#[derive(Default)]
pub struct MemSource {
    by_key: BTreeMap<(String, String), Vec<Advisory>>,
    pub lookups: std::sync::Mutex<Vec<(String, String)>>,
}

impl MemSource {
    pub fn new(advisories: Vec<Advisory>) -> MemSource {
        let mut by_key: BTreeMap<(String, String), Vec<Advisory>> = BTreeMap::new();
        for advisory in advisories {
            let keys: BTreeSet<(String, String)> = advisory
                .affected
                .iter()
                .map(|a| stella_feeds::merge::package_key(&a.ecosystem, &a.name))
                .collect();
            for key in keys {
                by_key.entry(key).or_default().push(advisory.clone());
            }
        }
        MemSource {
            by_key,
            lookups: Default::default(),
        }
    }

    pub fn fixtures() -> MemSource {
        MemSource::new(merged_fixture_advisories())
    }
}

impl AdvisorySource for MemSource {
    fn advisories(&self, ecosystem: &str, name: &str) -> Result<Arc<[Advisory]>, SourceError> {
        self.lookups
            .lock()
            .expect("lookups lock")
            .push((ecosystem.to_string(), name.to_string()));
        Ok(self
            .by_key
            .get(&(ecosystem.to_string(), name.to_string()))
            .cloned()
            .unwrap_or_default()
            .into())
    }

    fn ecosystems(&self) -> Result<Vec<String>, SourceError> {
        let set: BTreeSet<String> = self.by_key.keys().map(|(e, _)| e.clone()).collect();
        Ok(set.into_iter().collect())
    }
}

pub fn distro(id: &str, version: &str) -> Distro {
    Distro {
        id: id.into(),
        version_id: Some(version.into()),
        evidence: "etc/os-release".into(),
        ..Distro::default()
    }
}

pub fn inventory(distro: Option<Distro>, components: Vec<Component>) -> Inventory {
    Inventory {
        schema: INVENTORY_SCHEMA,
        tool: ToolInfo {
            name: "stella".into(),
            version: "test".into(),
        },
        image: ImageInfo::default(),
        distro,
        layers: Vec::new(),
        components,
        entry_trace: None,
        warnings: Vec::new(),
    }
}

/// A component with layer and evidence, as a scan would give it.
pub fn component(kind: ComponentKind, name: &str, version: &str, evidence: &str) -> Component {
    let mut c = Component::new(kind, name, version);
    c.layer = Some(1);
    c.layer_diff_id = Some(Digest::sha256_of(b"layer 1"));
    c.evidence = vec![evidence.to_string()];
    c
}

pub fn with_purl(mut c: Component, purl: &str) -> Component {
    c.purl = Some(Purl::parse(purl).unwrap_or_else(|e| panic!("{purl}: {e}")));
    c
}

pub fn deb(name: &str, version: &str, source: &str, source_version: &str) -> Component {
    let mut c = component(ComponentKind::Deb, name, version, "var/lib/dpkg/status");
    c.source = Some(SourcePackage {
        name: source.into(),
        version: source_version.into(),
    });
    c
}

pub fn rpm(name: &str, evr: &str, source_rpm: &str) -> Component {
    let mut c = component(ComponentKind::Rpm, name, evr, "var/lib/rpm/rpmdb.sqlite");
    let (nv, release) = source_rpm
        .trim_end_matches(".src.rpm")
        .rsplit_once('-')
        .unwrap_or_else(|| panic!("{source_rpm}"));
    let (n, v) = nv
        .rsplit_once('-')
        .unwrap_or_else(|| panic!("{source_rpm}"));
    c.source = Some(SourcePackage {
        name: n.into(),
        version: format!("{v}-{release}"),
    });
    c
}

pub fn apk(name: &str, version: &str, origin: &str) -> Component {
    let mut c = component(ComponentKind::Apk, name, version, "lib/apk/db/installed");
    c.source = Some(SourcePackage {
        name: origin.into(),
        version: version.into(),
    });
    c
}

/// Runs a program and returns its stdout; a missing oracle fails the test
/// unless `STELLA_SKIP_ORACLES=1` (then `None`).
pub fn oracle(program: &str, args: &[&str], stdin: Option<&str>) -> Option<String> {
    use std::io::Write;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if std::env::var("STELLA_SKIP_ORACLES").as_deref() == Ok("1") => {
            eprintln!("skipping oracle {program}: {e}");
            return None;
        }
        Err(e) => panic!("oracle {program} not runnable ({e}); install it (tests/run.sh) or set STELLA_SKIP_ORACLES=1"),
    };
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin.unwrap_or("").as_bytes())
            .unwrap_or_else(|e| panic!("{program} stdin: {e}"));
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// dpkg's own ordering (`Dpkg::Version::version_compare`, libdpkg-perl):
/// the sign of `a` vs `b` for each pair.
pub fn dpkg_compare(pairs: &[(&str, &str)]) -> Option<Vec<i32>> {
    let input: String = pairs.iter().map(|(a, b)| format!("{a} {b}\n")).collect();
    let out = oracle(
        "perl",
        &[
            "-MDpkg::Version",
            "-ne",
            "chomp; my ($a, $b) = split / /; print version_compare($a, $b), qq(\\n);",
        ],
        Some(&input),
    )?;
    Some(
        out.lines()
            .map(|l| l.trim().parse::<i32>().unwrap_or(99).signum())
            .collect(),
    )
}

/// rpm's own ordering (`rpm.vercmp` in rpm's Lua): the sign of `a` vs `b`.
pub fn rpm_compare(pairs: &[(&str, &str)]) -> Option<Vec<i32>> {
    let lua: String = pairs
        .iter()
        .map(|(a, b)| format!("print(rpm.vercmp(\"{a}\", \"{b}\") .. \" \") "))
        .collect();
    let out = oracle("rpm", &["--eval", &format!("%{{lua: {lua}}}")], None)?;
    Some(
        out.split_whitespace()
            .map(|l| l.parse::<i32>().unwrap_or(99).signum())
            .collect(),
    )
}

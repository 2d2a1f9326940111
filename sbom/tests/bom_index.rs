//! bom-index@1 against an independent oracle: `tests/bom_index_oracle.py`
//! parses our files with its own decoder and CRoaring (pyroaring) and
//! derives what they must hold from the inventory JSON by the rules in
//! docs/formats.md; and our reader reads a file CRoaring wrote with run
//! containers.
//!
//! Needs Python with `pyroaring`; missing tooling is a test FAILURE (CI
//! installs it in tests/run.sh).

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use stella_model::{Component, ComponentKind, EntryTrace, Inventory, Purl, PROP_USAGE};
use stella_sbom::BomIndex;

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn oracle(args: &[&str]) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bom_index_oracle.py");
    let out = Command::new(python())
        .arg(script)
        .args(args)
        .output()
        .expect("run python3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'pyroaring'"),
        "the bom-index oracle needs pyroaring: pip install pyroaring"
    );
    out
}

/// The Debian fixture plus what the plain fixtures lack: a traced
/// entrypoint with used components, a package installed twice, components
/// without purl or layer, non-ASCII and escaped characters.
fn with_everything() -> Inventory {
    let mut inv = common::debian();
    inv.entry_trace = Some(EntryTrace {
        argv: vec!["/usr/bin/tini".into(), "--".into(), "app \"ü\"\t".into()],
        ..EntryTrace::default()
    });
    inv.components[0]
        .properties
        .insert(PROP_USAGE.into(), "true".into());
    let mut twice = Component::new(ComponentKind::Npm, "ms", "2.1.3");
    twice.purl = Some(Purl::new("npm", "ms").with_version("2.1.3"));
    twice.layer = Some(1);
    let mut again = twice.clone();
    again.layer = Some(0);
    again.evidence = vec!["other/package.json".into()];
    again.properties.insert(PROP_USAGE.into(), "true".into());
    let mut odd = Component::new(ComponentKind::Gem, "naïve gem/x", "1.0 beta");
    odd.arch = Some("x86_64".into());
    let mut versionless = Component::new(ComponentKind::Cargo, "nover", "");
    versionless.layer = Some(1);
    inv.components.extend([twice, again, odd, versionless]);
    inv.canonicalize();
    inv
}

fn check_with_oracle(name: &str, inv: &Inventory, generated_at: i64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join(format!("{name}.json"));
    let index = dir.path().join(format!("{name}.bomidx"));
    std::fs::write(&json, serde_json::to_vec(inv).expect("json")).expect("write");
    let bytes = BomIndex::from_inventory(inv, generated_at)
        .expect("index")
        .to_bytes();
    std::fs::write(&index, &bytes).expect("write");
    let out = oracle(&[
        "check",
        json.to_str().unwrap(),
        index.to_str().unwrap(),
        &generated_at.to_string(),
    ]);
    assert!(
        out.status.success(),
        "{name}: oracle disagrees:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn oracle_agrees_on_every_fixture() {
    for (name, inv) in common::all() {
        check_with_oracle(name, &inv, 1_713_830_400_000_000);
    }
    check_with_oracle("everything", &with_everything(), -1);
}

/// The oracle must be able to say no, or its agreement means nothing.
#[test]
fn oracle_rejects_a_wrong_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inv = with_everything();
    let json = dir.path().join("inv.json");
    std::fs::write(&json, serde_json::to_vec(&inv).expect("json")).expect("write");
    // The index of a different inventory: one component moved up a layer.
    let mut other = inv.clone();
    let moved = other
        .components
        .iter_mut()
        .find(|c| c.layer == Some(0))
        .expect("a base-layer component");
    moved.layer = Some(1);
    let index = dir.path().join("wrong.bomidx");
    std::fs::write(
        &index,
        BomIndex::from_inventory(&other, 7)
            .expect("index")
            .to_bytes(),
    )
    .expect("write");
    let out = oracle(&[
        "check",
        json.to_str().unwrap(),
        index.to_str().unwrap(),
        "7",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("wrong.bomidx: "),
        "a verdict, not a crash"
    );
    // A corrupted byte inside the component table.
    let mut bytes = BomIndex::from_inventory(&inv, 7).expect("index").to_bytes();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    std::fs::write(&index, &bytes).expect("write");
    let out = oracle(&[
        "check",
        json.to_str().unwrap(),
        index.to_str().unwrap(),
        "7",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("wrong.bomidx: "),
        "a verdict, not a crash"
    );
}

#[test]
fn reads_an_index_croaring_wrote_with_run_containers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("foreign.bomidx");
    let out = oracle(&["write", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: Value = serde_json::from_slice(&out.stdout).expect("oracle JSON");
    let idx = BomIndex::from_bytes(&std::fs::read(&path).expect("read")).expect("our reader");

    assert_eq!(idx.image_digest(), want["imageDigest"]);
    assert_eq!(idx.generated_at_us(), want["generatedAt"].as_i64().unwrap());
    assert_eq!(
        idx.layers().len() as u64,
        want["layerCount"].as_u64().unwrap()
    );
    assert_eq!(
        idx.entrypoints().unwrap(),
        want["entrypoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    );
    let comps = want["components"].as_object().unwrap();
    assert_eq!(idx.components().len(), comps.len());
    for c in idx.components() {
        let w = &comps[c.identity()];
        let list = |v: &Value| -> Vec<u32> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as u32)
                .collect()
        };
        assert_eq!(
            c.layers().iter().collect::<Vec<_>>(),
            list(&w["layers"]),
            "{}",
            c.identity()
        );
        assert_eq!(
            c.entrypoints().iter().collect::<Vec<_>>(),
            list(&w["entrypoints"]),
            "{}",
            c.identity()
        );
    }
}

#[test]
fn byte_identical_for_the_same_inventory() {
    let inv = with_everything();
    let a = BomIndex::from_inventory(&inv, 5).expect("index").to_bytes();
    let mut shuffled = inv.clone();
    shuffled.components.rotate_left(3);
    let b = BomIndex::from_inventory(&shuffled, 5)
        .expect("index")
        .to_bytes();
    assert_eq!(a, b);
    // Reading and writing again changes nothing.
    assert_eq!(BomIndex::from_bytes(&a).expect("read").to_bytes(), a);
}

//! The composer analyzer against real Composer installations (see
//! `fixtures/composer/make-fixture.sh`): the vendor directories Debian's
//! dokuwiki and icingaweb2 packages ship, and a project where this machine's
//! Composer ran `composer require` (dependencies, one dev package). The
//! oracle is Composer's own view of each: `composer show -f json` (what is
//! installed — a package whose directory is gone is not), `composer licenses
//! -f json`, and `composer show --no-dev` for the dev split.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use stella_analyzers::lang::composer::{ComposerAnalyzer, PROP_DECLARED, PROP_DEV};
use stella_analyzers::squash::SquashedFs;
use stella_analyzers::{AnalyzeContext, Findings, FsView, MemFs, PackageAnalyzer};
use stella_model::ComponentKind;

/// (name, version, licenses).
type Row = (String, String, Vec<String>);

fn make_fixture() -> tempfile::TempDir {
    for tool in ["php", "composer"] {
        let ok = Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "{tool} is required for the composer analyzer oracle test: apt-get install composer php-cli"
        );
    }
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/composer/make-fixture.sh");
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new("sh")
        .arg(&script)
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed ({}):\n{}\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

fn analyze(view: &dyn FsView) -> Findings {
    ComposerAnalyzer
        .analyze(view, &AnalyzeContext::default())
        .expect("the composer analyzer never fails as a whole")
}

/// `composer show` prints a dev version with its reference: `dev-master 3c12a79`.
fn show_version(v: &Value) -> String {
    v.as_str()
        .unwrap_or_default()
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn names(list: &Value) -> Vec<(String, String)> {
    list["installed"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap_or_default().to_string(),
                        show_version(&p["version"]),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn real_vendor_dirs_match_composer_show() {
    let dir = make_fixture();
    let root = dir.path();
    let oracle: Value =
        serde_json::from_slice(&std::fs::read(root.join("oracle.json")).expect("oracle.json"))
            .expect("oracle is JSON");
    let projects = oracle.as_array().expect("oracle is an array");
    assert_eq!(projects.len(), 3, "{oracle:#}");

    let layer = common::layer_of_dir(root, &|p| ComposerAnalyzer.wants(p));
    let layers = [layer];
    let mut view = SquashedFs::new(&layers);
    view.apply_all();
    let f = analyze(&view);
    assert!(f.notes.is_empty(), "notes: {:?}", f.notes);
    assert!(
        f.components.iter().all(|c| c.kind == ComponentKind::Composer
            && !c.properties.contains_key(PROP_DECLARED)),
        "the project's composer.lock is fully installed: nothing is only declared"
    );

    let mut dropped = 0;
    for project in projects {
        let installed_json = project["installed_json"].as_str().expect("path");
        let licenses: BTreeMap<&str, Vec<String>> = project["licenses"]["dependencies"]
            .as_object()
            .expect("composer licenses")
            .iter()
            .map(|(name, d)| {
                let l = d["license"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                (name.as_str(), l)
            })
            .collect();
        let want: BTreeSet<Row> = names(&project["show"])
            .into_iter()
            .map(|(n, v)| {
                let l = licenses.get(n.as_str()).cloned().unwrap_or_default();
                (n, v, l)
            })
            .collect();
        assert!(
            want.len() >= 5,
            "{installed_json}: oracle too small {want:?}"
        );
        let mine: Vec<_> = f
            .components
            .iter()
            .filter(|c| c.evidence == [installed_json])
            .collect();
        let got: BTreeSet<Row> = mine
            .iter()
            .map(|c| (c.name.clone(), c.version.clone(), c.licenses.clone()))
            .collect();
        assert_eq!(mine.len(), got.len(), "{installed_json}: no duplicates");
        assert_eq!(
            got, want,
            "{installed_json}: analyzer vs composer show/licenses"
        );
        for c in &mine {
            let (vendor, name) = c.name.split_once('/').expect("vendor/name");
            assert_eq!(
                c.purl.as_ref().map(ToString::to_string).unwrap_or_default(),
                format!("pkg:composer/{vendor}/{name}@{}", c.version)
            );
        }

        // Entries of installed.json whose directory is gone are the ones
        // Composer does not show either.
        let doc: Value = serde_json::from_slice(
            &std::fs::read(root.join(installed_json)).expect("installed.json"),
        )
        .expect("installed.json is JSON");
        dropped += doc["packages"].as_array().map_or(0, Vec::len) - want.len();

        if !project["no_dev"].is_null() {
            let runtime: BTreeSet<String> = names(&project["no_dev"])
                .into_iter()
                .map(|(n, _)| n)
                .collect();
            let want_dev: BTreeSet<&str> = want
                .iter()
                .map(|(n, _, _)| n.as_str())
                .filter(|n| !runtime.contains(*n))
                .collect();
            let got_dev: BTreeSet<&str> = mine
                .iter()
                .filter(|c| c.properties.get(PROP_DEV).map(String::as_str) == Some("true"))
                .map(|c| c.name.as_str())
                .collect();
            assert!(!want_dev.is_empty(), "the fixture must have a dev package");
            assert_eq!(got_dev, want_dev, "dev packages");

            // The lockfile alone (no vendor/): its runtime packages, declared.
            let lock = format!(
                "{}/composer.lock",
                installed_json.trim_end_matches("/vendor/composer/installed.json")
            );
            let fs = MemFs::from_dir(root, &|p| p == lock).expect("load lock");
            let lf = analyze(&fs);
            assert!(lf.notes.is_empty(), "{:?}", lf.notes);
            let declared: BTreeSet<(String, String)> = lf
                .components
                .iter()
                .map(|c| {
                    assert_eq!(
                        c.properties.get(PROP_DECLARED).map(String::as_str),
                        Some("true")
                    );
                    assert_eq!(c.evidence, vec![lock.clone()]);
                    (c.name.clone(), c.version.clone())
                })
                .collect();
            let want_runtime: BTreeSet<(String, String)> =
                names(&project["no_dev"]).into_iter().collect();
            assert_eq!(declared, want_runtime, "composer.lock runtime packages");
        }
    }
    assert!(
        dropped > 0,
        "the fixture must list packages whose directory was removed (Debian's dokuwiki does)"
    );
}

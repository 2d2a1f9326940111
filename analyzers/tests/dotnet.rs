//! The .NET analyzer against real `*.deps.json` files (written by the .NET
//! SDK, shipped in pythonnet's wheels, installed with pip: see
//! `fixtures/dotnet/make-fixture.sh`). The oracle is those files read with
//! Python's json module: every `package` (and `runtimepack`) library.
//! The tree goes through the engine's layer reader and squashed view.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use stella_analyzers::lang::dotnet::{
    DotnetAnalyzer, PROP_PATH, PROP_RUNTIMEPACK, PROP_RUNTIME_ASSETS, PROP_SHA512,
};
use stella_analyzers::squash::SquashedFs;
use stella_analyzers::{AnalyzeContext, PackageAnalyzer};
use stella_model::ComponentKind;

/// (deps.json path, name, version, sha512, path, runtimepack).
type Row = (String, String, String, Option<String>, Option<String>, bool);

#[test]
fn real_deps_json_match_python_json() {
    let python = Command::new("python3").arg("--version").output();
    assert!(
        python.is_ok_and(|o| o.status.success()),
        "python3 with pip (and access to PyPI) is required for the .NET analyzer oracle test"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dotnet/make-fixture.sh");
    let out = Command::new("sh")
        .arg(&script)
        .arg(root)
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
    let oracle: Value =
        serde_json::from_slice(&std::fs::read(root.join("oracle.json")).expect("oracle.json"))
            .expect("oracle is JSON");
    let s = |v: &Value| v.as_str().map(str::to_string);
    let want: BTreeSet<Row> = oracle
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            (
                s(&r["path"]).unwrap_or_default(),
                s(&r["name"]).unwrap_or_default(),
                s(&r["version"]).unwrap_or_default(),
                s(&r["sha512"]),
                s(&r["pkgpath"]),
                r["runtimepack"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    let files: BTreeSet<&str> = want.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(files.len(), 2, "two deps.json files: {files:?}");
    assert!(want.len() >= 20, "oracle too small: {want:#?}");

    let layers = [common::layer_of_dir(root, &|p| DotnetAnalyzer.wants(p))];
    let mut view = SquashedFs::new(&layers);
    view.apply_all();
    let f = DotnetAnalyzer
        .analyze(&view, &AnalyzeContext::default())
        .expect("the dotnet analyzer never fails as a whole");
    assert!(f.notes.is_empty(), "notes: {:?}", f.notes);
    let got: BTreeSet<Row> = f
        .components
        .iter()
        .map(|c| {
            assert_eq!(c.kind, ComponentKind::Nuget);
            assert_eq!(
                c.purl.as_ref().map(ToString::to_string).unwrap_or_default(),
                format!("pkg:nuget/{}@{}", c.name, c.version)
            );
            assert_eq!(c.evidence.len(), 1, "{c:?}");
            (
                c.evidence[0].clone(),
                c.name.clone(),
                c.version.clone(),
                c.properties.get(PROP_SHA512).cloned(),
                c.properties.get(PROP_PATH).cloned(),
                c.properties.contains_key(PROP_RUNTIMEPACK),
            )
        })
        .collect();
    assert_eq!(f.components.len(), got.len(), "no duplicates");
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
    // SourceLink is a build-time package: listed, but with no runtime asset.
    let sourcelink = f
        .components
        .iter()
        .find(|c| c.name == "Microsoft.SourceLink.GitHub")
        .expect("SourceLink is in pythonnet's deps.json");
    assert_eq!(
        sourcelink
            .properties
            .get(PROP_RUNTIME_ASSETS)
            .map(String::as_str),
        Some("false")
    );
    let csharp = f
        .components
        .iter()
        .find(|c| c.name == "Microsoft.CSharp")
        .expect("Microsoft.CSharp is in pythonnet's deps.json");
    assert!(
        !csharp.properties.contains_key(PROP_RUNTIME_ASSETS),
        "{csharp:?}"
    );
    eprintln!("oracle: {} libraries, all matched", want.len());
}

//! Writes CycloneDX and SPDX documents for realistic inventories and checks
//! them with the reference validators (`tests/validate.py`: the official
//! CycloneDX 1.6 JSON schema and spdx-tools), plus structural invariants the
//! schemas cannot express (unique refs, complete relationships).
//!
//! Needs Python with `cyclonedx-python-lib[validation]` and `spdx-tools`.
//! Missing tooling is a test FAILURE, not a skip: CI installs it.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const INSTALL: &str = "pip install 'cyclonedx-python-lib[validation]' spdx-tools";

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn require_validators() {
    let out = Command::new(python())
        .args(["-c", "import cyclonedx, spdx_tools, jsonschema"])
        .output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "SBOM schema validation needs Python packages that are not installed.\n\
             Install them with:\n    {INSTALL}\n(python said: {})",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => panic!(
            "SBOM schema validation needs `{}` ({e}). Install Python 3, then:\n    {INSTALL}",
            python()
        ),
    }
}

fn validate(kind: &str, files: &[PathBuf]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validate.py");
    let out = Command::new(python())
        .arg(&script)
        .arg(kind)
        .args(files)
        .output()
        .expect("run validate.py");
    assert!(
        out.status.success(),
        "{kind} validation failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn documents_validate_against_official_schemas() {
    require_validators();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cdx_files = Vec::new();
    let mut spdx_files = Vec::new();
    for (name, inv) in common::all() {
        let cdx = stella_sbom::cyclonedx_json(&inv, &common::opts()).expect("cyclonedx");
        let spdx = stella_sbom::spdx_json(&inv, &common::opts()).expect("spdx");
        let cdx_path = dir.path().join(format!("{name}.cdx.json"));
        let spdx_path = dir.path().join(format!("{name}.spdx.json"));
        std::fs::write(&cdx_path, &cdx).expect("write");
        std::fs::write(&spdx_path, &spdx).expect("write");
        cdx_files.push(cdx_path);
        spdx_files.push(spdx_path);
    }
    // files[] (what a BuildKit generator lists for layer lookup).
    let files = [
        stella_sbom::SpdxFile {
            path: "./var/lib/dpkg/info/hello.list".into(),
            sha1_hex: "da39a3ee5e6b4b0d3255bfef95601890afd80709".into(),
            sha256_hex: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
        },
        stella_sbom::SpdxFile {
            path: "./usr/lib/x y.so".into(),
            sha1_hex: "da39a3ee5e6b4b0d3255bfef95601890afd80709".into(),
            sha256_hex: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
        },
    ];
    let with_files =
        stella_sbom::spdx_json_with_files(&common::dir_scan(), &common::opts(), &files).unwrap();
    let parsed: Value = serde_json::from_slice(&with_files).unwrap();
    let names: Vec<&str> = parsed["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fileName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["./usr/lib/x y.so", "./var/lib/dpkg/info/hello.list"]
    );
    let path = dir.path().join("with-files.spdx.json");
    std::fs::write(&path, &with_files).expect("write");
    spdx_files.push(path);
    validate("cyclonedx", &cdx_files);
    validate("spdx", &spdx_files);
}

#[test]
fn scan_warnings_become_annotations_in_both_formats() {
    let inv = common::dir_scan();
    let cdx: Value =
        serde_json::from_slice(&stella_sbom::cyclonedx_json(&inv, &common::opts()).unwrap())
            .unwrap();
    let spdx: Value =
        serde_json::from_slice(&stella_sbom::spdx_json(&inv, &common::opts()).unwrap()).unwrap();
    let root = cdx["metadata"]["component"]["bom-ref"].clone();
    let cdx_texts: Vec<&str> = cdx["annotations"]
        .as_array()
        .expect("cyclonedx annotations")
        .iter()
        .map(|a| {
            assert_eq!(a["subjects"], serde_json::json!([root]));
            assert_eq!(a["annotator"]["component"]["name"], "stella");
            a["text"].as_str().unwrap()
        })
        .collect();
    let spdx_texts: Vec<&str> = spdx["annotations"]
        .as_array()
        .expect("spdx annotations")
        .iter()
        .map(|a| {
            assert_eq!(a["annotationType"], "OTHER");
            assert_eq!(a["annotator"], "Tool: stella-0.1.0");
            a["comment"].as_str().unwrap()
        })
        .collect();
    assert_eq!(cdx_texts, spdx_texts);
    assert_eq!(
        cdx_texts,
        [
            "stella warning: layer 0: /usr/lib/python3/dist-packages/x.dist-info/METADATA: \
             unreadable: Permission denied (os error 13)",
            "stella warning: rpm database \"quoted\" skipped",
        ]
    );
    // Without warnings, no annotations key at all (outputs stay as before).
    let clean = stella_sbom::spdx_json(&common::debian(), &common::opts()).unwrap();
    assert!(!String::from_utf8(clean).unwrap().contains("annotations"));
}

/// The validator must actually reject things, or a green run means nothing.
#[test]
fn validator_rejects_broken_documents() {
    require_validators();
    let dir = tempfile::tempdir().expect("tempdir");
    let inv = common::debian();

    let mut cdx: Value = serde_json::from_slice(
        &stella_sbom::cyclonedx_json(&inv, &common::opts()).expect("cyclonedx"),
    )
    .expect("json");
    cdx["components"][1]["licenses"] = serde_json::json!([{"license": {"id": "GPLv2+"}}]);
    let mut spdx: Value =
        serde_json::from_slice(&stella_sbom::spdx_json(&inv, &common::opts()).expect("spdx"))
            .expect("json");
    spdx["packages"][2]["licenseDeclared"] = Value::from("LicenseRef-not-defined");
    let mut spdx_typo = spdx.clone();
    spdx_typo["packages"][2]["licenseDeclared"] = Value::from("MIT");
    spdx_typo["packages"][2]["primaryPackagePurpse"] = Value::from("LIBRARY");

    for (kind, name, doc) in [
        ("cyclonedx", "bad.cdx.json", &cdx),
        ("spdx", "bad.spdx.json", &spdx),
        ("spdx", "typo.spdx.json", &spdx_typo),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, serde_json::to_vec(doc).expect("json")).expect("write");
        let status = Command::new(python())
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validate.py"))
            .arg(kind)
            .arg(&path)
            .output()
            .expect("run validate.py")
            .status;
        assert_eq!(status.code(), Some(1), "{name} should be rejected");
    }
}

fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn cyclonedx_structure() {
    for (name, inv) in common::all() {
        let doc = parse(&stella_sbom::cyclonedx_json(&inv, &common::opts()).expect("cdx"));
        let comps = doc["components"].as_array().expect("components array");
        let expected = inv.components.len() + usize::from(inv.distro.is_some());
        assert_eq!(comps.len(), expected, "{name}: component count");

        let refs: Vec<String> = comps
            .iter()
            .map(|c| c["bom-ref"].as_str().expect("bom-ref").to_string())
            .collect();
        let unique: BTreeSet<&String> = refs.iter().collect();
        assert_eq!(unique.len(), refs.len(), "{name}: bom-refs unique");

        let image_ref = doc["metadata"]["component"]["bom-ref"]
            .as_str()
            .expect("image ref");
        assert!(
            !unique.contains(&image_ref.to_string()),
            "{name}: image ref distinct"
        );
        let deps = doc["dependencies"].as_array().expect("dependencies");
        assert_eq!(deps.len(), 1);
        assert_eq!(deps[0]["ref"], image_ref);
        let mut sorted_refs = refs.clone();
        sorted_refs.sort();
        assert_eq!(
            strs(&deps[0]["dependsOn"]),
            sorted_refs,
            "{name}: dependsOn"
        );

        for c in comps {
            let props = c["properties"].as_array().cloned().unwrap_or_default();
            let names: Vec<&str> = props.iter().filter_map(|p| p["name"].as_str()).collect();
            let mut sorted = names.clone();
            sorted.sort();
            assert_eq!(names, sorted, "{name}: properties sorted");
        }
    }

    let doc = parse(&stella_sbom::cyclonedx_json(&common::debian(), &common::opts()).expect("cdx"));
    let refs: Vec<&str> = doc["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter_map(|c| c["bom-ref"].as_str())
        .collect();
    let libfoo = "pkg:deb/debian/libfoo1@1.0~rc1-1~bpo12+1?arch=amd64&distro=debian-12";
    assert!(refs.contains(&libfoo), "{refs:?}");
    assert!(refs.contains(&format!("{libfoo}#2").as_str()), "{refs:?}");
    assert!(refs.contains(&"component:deb:local tool@0.0.1"), "{refs:?}");
    assert_eq!(refs[0], "os:debian@12");
}

#[test]
fn spdx_structure() {
    for (name, inv) in common::all() {
        let doc = parse(&stella_sbom::spdx_json(&inv, &common::opts()).expect("spdx"));
        let packages = doc["packages"].as_array().expect("packages");
        let expected = 1 + inv.components.len() + usize::from(inv.distro.is_some());
        assert_eq!(packages.len(), expected, "{name}: package count");

        let ids: Vec<&str> = packages
            .iter()
            .map(|p| p["SPDXID"].as_str().expect("SPDXID"))
            .collect();
        assert_eq!(
            ids.iter().collect::<BTreeSet<_>>().len(),
            ids.len(),
            "{name}: SPDXIDs unique"
        );
        for id in &ids {
            let tail = id.strip_prefix("SPDXRef-").expect("SPDXRef- prefix");
            assert!(
                tail.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
                "{name}: bad SPDXID {id}"
            );
        }

        let rels = doc["relationships"].as_array().expect("relationships");
        assert_eq!(
            rels.len(),
            ids.len(),
            "{name}: DESCRIBES + one CONTAINS each"
        );
        let keys: Vec<(String, String, String)> = rels
            .iter()
            .map(|r| {
                (
                    r["spdxElementId"].as_str().unwrap_or("").to_string(),
                    r["relationshipType"].as_str().unwrap_or("").to_string(),
                    r["relatedSpdxElement"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{name}: relationships sorted");

        let ns = doc["documentNamespace"].as_str().expect("namespace");
        assert!(ns.starts_with("https://stella-ops.org/spdx/"), "{ns}");
        assert!(!ns.contains('#') && !ns.contains(' '), "{ns}");
    }

    let doc = parse(&stella_sbom::spdx_json(&common::rpm(), &common::opts()).expect("spdx"));
    let declared = |name: &str| -> String {
        doc["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["licenseDeclared"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(declared("libxml2"), "LicenseRef-MIT-and-BSD");
    assert_eq!(declared("openssl-libs"), "LicenseRef-ASL-2.0");
    // "GPLv2+" and "GPLv2" both sanitize to "GPLv2": hashed suffixes keep them apart.
    let gplv2plus = declared("kernel-headers");
    let gplv2 = declared("kmod-libs");
    assert!(gplv2plus.starts_with("LicenseRef-GPLv2-") && gplv2.starts_with("LicenseRef-GPLv2-"));
    assert_ne!(gplv2plus, gplv2);
    let extracted = doc["hasExtractedLicensingInfos"]
        .as_array()
        .expect("extracted");
    let gpl = extracted
        .iter()
        .find(|e| e["licenseId"] == gplv2plus.as_str())
        .expect("GPLv2+ defined");
    assert_eq!(gpl["extractedText"], "GPLv2+");
    let ids: Vec<&str> = extracted
        .iter()
        .filter_map(|e| e["licenseId"].as_str())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);

    let doc = parse(&stella_sbom::spdx_json(&common::debian(), &common::opts()).expect("spdx"));
    let libc = doc["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "libc6")
        .expect("libc6");
    assert_eq!(
        libc["licenseDeclared"],
        "GPL-2.0-only AND LGPL-2.1-or-later AND LicenseRef-GPL-2"
    );
    assert_eq!(
        libc["sourceInfo"],
        format!(
            "built from source package glibc version 2.36-9+deb12u4; introduced by layer 0 (diffID {}); evidence: /var/lib/dpkg/status",
            common::digest("diff0")
        )
    );
    assert_eq!(
        libc["supplier"],
        "Organization: GNU Libc Maintainers <debian-glibc@lists.debian.org>"
    );
}

/// The serialNumber is UUIDv5(namespace, "<identity>|stella|<version>"),
/// recomputed here independently with Python's uuid module.
#[test]
fn serial_number_matches_python_uuid5() {
    require_validators();
    for (name, inv) in common::all() {
        let doc = parse(&stella_sbom::cyclonedx_json(&inv, &common::opts()).expect("cdx"));
        let identity = inv
            .image
            .identity_digest()
            .map(ToString::to_string)
            .unwrap_or_else(|| inv.image.source.clone());
        let out = Command::new(python())
            .args([
                "-c",
                "import sys, uuid; print(uuid.uuid5(uuid.UUID(sys.argv[1]), sys.argv[2]))",
                &stella_sbom::STELLA_UUID_NAMESPACE.to_string(),
                &format!("{identity}|stella|0.1.0"),
            ])
            .output()
            .expect("python");
        assert!(out.status.success());
        let expected = format!("urn:uuid:{}", String::from_utf8_lossy(&out.stdout).trim());
        assert_eq!(doc["serialNumber"], expected.as_str(), "{name}");
    }
}

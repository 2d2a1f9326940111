//! Generator mode (the BuildKit SBOM generator protocol) run the way
//! BuildKit runs it: the `stella` binary without arguments, with
//! `BUILDKIT_SCAN_SOURCE` / `BUILDKIT_SCAN_DESTINATION` set. The real
//! BuildKit run is in tests/buildkit.rs; these cover the edge cases.
//!
//! Oracles: dpkg's own view (`dpkg-query --admindir`), `go version -m` for a
//! Go binary, `sha1sum`/`sha256sum` for file checksums, spdx-tools for SPDX
//! validity (sbom/tests/validate.py).

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

#[path = "support/images.rs"]
mod images;

const SPDX: &str = "https://spdx.dev/Document";

/// Runs the generator: `stella` with no arguments and the BuildKit env.
fn generate(source: &Path, dest: &Path, extras: Option<&Path>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stella"));
    cmd.env("BUILDKIT_SCAN_SOURCE", source)
        .env("BUILDKIT_SCAN_DESTINATION", dest)
        .env_remove("BUILDKIT_SCAN_SOURCE_EXTRAS")
        .env_remove("STELLA_STRICT")
        .env_remove("SOURCE_DATE_EPOCH");
    if let Some(e) = extras {
        cmd.env("BUILDKIT_SCAN_SOURCE_EXTRAS", e);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run stella")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every file in the destination, checked against the protocol: regular
/// files only (no subdirectories), each an in-toto statement with the SPDX
/// predicate type and an empty subject. Returns name → statement.
fn statements(dest: &Path) -> std::collections::BTreeMap<String, Value> {
    let mut out = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(dest).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            entry.file_type().unwrap().is_file(),
            "{name}: BuildKit accepts only regular files"
        );
        let st: Value = serde_json::from_slice(&std::fs::read(entry.path()).unwrap())
            .unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
        assert_eq!(st["_type"], "https://in-toto.io/Statement/v0.1", "{name}");
        assert_eq!(st["predicateType"], SPDX, "{name}");
        assert_eq!(st["subject"], serde_json::json!([]), "{name}");
        out.insert(name, st);
    }
    out
}

/// Validates the predicates with spdx-tools. The pass-through document's
/// one extension key (the inventory) is the only non-SPDX field: it is
/// taken out first, so anything else non-standard still fails.
fn validate_spdx(predicates: &[&Value]) {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, p) in predicates.iter().enumerate() {
        let path = dir.path().join(format!("{i}.spdx.json"));
        let mut p = (*p).clone();
        if let Some(doc) = p.as_object_mut() {
            doc.remove("stellaInventory");
        }
        std::fs::write(&path, serde_json::to_vec(&p).unwrap()).unwrap();
        files.push(path);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sbom/tests/validate.py");
    let out = Command::new("python3")
        .arg(script)
        .arg("spdx")
        .args(&files)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "spdx-tools: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `name version` of every package the SPDX document lists with a purl of `ty`.
fn spdx_packages(doc: &Value, ty: &str) -> BTreeSet<String> {
    doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["externalRefs"].as_array().into_iter().flatten().any(|r| {
                r["referenceLocator"]
                    .as_str()
                    .is_some_and(|l| l.starts_with(&format!("pkg:{ty}/")))
            })
        })
        .map(|p| {
            format!(
                "{} {}",
                p["name"].as_str().unwrap(),
                p["versionInfo"].as_str().unwrap()
            )
        })
        .collect()
}

/// (path, size, mtime, mode) of everything under `root`: proves a run
/// wrote nothing there.
fn tree_state(root: &Path) -> Vec<(PathBuf, u64, i64, u32)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let m = e.path().symlink_metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            }
            out.push((e.path(), m.size(), m.mtime(), m.mode()));
        }
    }
    out.sort();
    out
}

/// A Python distribution's `METADATA` under `root`'s dist-packages.
fn write_dist_info(root: &Path, name: &str, version: &str) {
    let dir = root.join(format!(
        "usr/lib/python3/dist-packages/{name}-{version}.dist-info"
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("METADATA"),
        format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
    )
    .unwrap();
}

fn run_tool(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(out.status.success(), "{cmd} {args:?}: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn real_rootfs_matches_dpkg_and_is_deterministic() {
    let rootfs = images::images_dir_with(".done").join("multi-rootfs");
    let before = tree_state(&rootfs);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let out = generate(&rootfs, a.path(), None, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = generate(&rootfs, b.path(), None, &[("STELLA_THREADS", "1")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        tree_state(&rootfs),
        before,
        "the generator wrote into its source"
    );

    let sts = statements(a.path());
    let names: Vec<&str> = sts.keys().map(String::as_str).collect();
    assert_eq!(names, ["sbom.spdx.json", "stella-inventory.spdx.json"]);
    for name in names {
        assert_eq!(
            std::fs::read(a.path().join(name)).unwrap(),
            std::fs::read(b.path().join(name)).unwrap(),
            "{name} differs between two runs"
        );
    }
    let core = &sts["sbom.spdx.json"]["predicate"];
    validate_spdx(&[core, &sts["stella-inventory.spdx.json"]["predicate"]]);

    // dpkg's own view of the same root filesystem.
    let admindir = format!("--admindir={}", rootfs.join("var/lib/dpkg").display());
    let dpkg: BTreeSet<String> = run_tool(
        "dpkg-query",
        &[
            &admindir,
            "-W",
            "-f",
            "${db:Status-Status} ${Package} ${Version}\n",
        ],
    )
    .lines()
    .filter_map(|l| l.strip_prefix("installed "))
    .map(str::to_string)
    .collect();
    assert!(dpkg.len() > 50, "{dpkg:?}");
    assert_eq!(spdx_packages(core, "deb"), dpkg);

    // Every listed file exists with the checksums sha1sum/sha256sum compute,
    // and every deb package points at its own dpkg .list file.
    let inventory = &sts["stella-inventory.spdx.json"]["predicate"]["stellaInventory"];
    let attribution = inventory["attribution"].as_array().unwrap();
    let components = inventory["inventory"]["components"].as_array().unwrap();
    assert_eq!(attribution.len(), components.len());
    for (c, a) in components.iter().zip(attribution) {
        if c["kind"] == "deb" {
            let name = c["name"].as_str().unwrap();
            let a = a
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no attribution"));
            assert!(
                a == format!("./var/lib/dpkg/info/{name}.list")
                    || a.starts_with(&format!("./var/lib/dpkg/info/{name}:")),
                "{name}: {a}"
            );
        }
    }
    let files = core["files"].as_array().unwrap();
    assert!(files.len() >= dpkg.len());
    for f in files {
        let name = f["fileName"].as_str().unwrap();
        assert!(name.starts_with("./"), "{name}");
        let path = rootfs.join(name.trim_start_matches("./"));
        let sum = |tool| {
            run_tool(tool, &[path.to_str().unwrap()])
                .split_whitespace()
                .next()
                .unwrap()
                .to_string()
        };
        assert_eq!(f["checksums"][0]["algorithm"], "SHA1");
        assert_eq!(f["checksums"][0]["checksumValue"], sum("sha1sum"), "{name}");
        assert_eq!(
            f["checksums"][1]["checksumValue"],
            sum("sha256sum"),
            "{name}"
        );
    }
}

#[test]
fn empty_rootfs_gives_empty_valid_documents() {
    let (src, dest) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let out = generate(
        src.path(),
        dest.path(),
        None,
        &[("SOURCE_DATE_EPOCH", "1700000000")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let sts = statements(dest.path());
    let core = &sts["sbom.spdx.json"]["predicate"];
    assert_eq!(core["creationInfo"]["created"], "2023-11-14T22:13:20Z");
    assert!(spdx_packages(core, "deb").is_empty());
    assert!(core.get("files").is_none(), "{core}");
    assert_eq!(
        sts["stella-inventory.spdx.json"]["predicate"]["stellaInventory"]["inventory"]
            ["components"],
        serde_json::json!([])
    );
    validate_spdx(&[core, &sts["stella-inventory.spdx.json"]["predicate"]]);
}

#[test]
fn scratch_image_with_one_static_go_binary() {
    let work = tempfile::tempdir().unwrap();
    let module = work.path().join("hello");
    std::fs::create_dir(&module).unwrap();
    std::fs::write(
        module.join("go.mod"),
        "module example.com/hello\n\ngo 1.19\n",
    )
    .unwrap();
    std::fs::write(
        module.join("main.go"),
        "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hi\") }\n",
    )
    .unwrap();
    let rootfs = work.path().join("rootfs");
    std::fs::create_dir_all(rootfs.join("app")).unwrap();
    let bin = rootfs.join("app/hello");
    let out = Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(&module)
        .env("CGO_ENABLED", "0")
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("GOCACHE", work.path().join("gocache"))
        .env("GOPATH", work.path().join("gopath"))
        .output()
        .expect("go (apt golang-go)");
    assert!(out.status.success(), "go build: {}", stderr(&out));
    // `go version -m` is the oracle for what the binary records.
    let info = run_tool("go", &["version", "-m", bin.to_str().unwrap()]);
    let go_version = info
        .split_whitespace()
        .nth(1)
        .expect("go version")
        .trim_start_matches("go")
        .to_string();
    assert!(info.contains("mod\texample.com/hello"), "{info}");

    let dest = tempfile::tempdir().unwrap();
    let out = generate(&rootfs, dest.path(), None, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let sts = statements(dest.path());
    let core = &sts["sbom.spdx.json"]["predicate"];
    let golang = spdx_packages(core, "golang");
    assert!(
        golang.contains(&format!("stdlib {go_version}")),
        "{golang:?} vs go{go_version}"
    );
    assert!(
        golang.iter().any(|p| p.starts_with("example.com/hello ")),
        "{golang:?}"
    );
    let files: Vec<&str> = core["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fileName"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["./app/hello"]);
    validate_spdx(&[core]);
}

/// A root filesystem with a package database the scanner cannot read:
/// a warning inside the SBOM (annotation), exit 0 — unless STELLA_STRICT=1.
#[test]
fn unreadable_files_are_warnings_unless_strict() {
    let work = tempfile::tempdir().unwrap();
    let rootfs = work.path().join("rootfs");
    let dpkg = rootfs.join("var/lib/dpkg");
    std::fs::create_dir_all(&dpkg).unwrap();
    std::fs::write(
        dpkg.join("status"),
        "Package: hello\nStatus: install ok installed\nVersion: 2.10-3\nArchitecture: amd64\n\n",
    )
    .unwrap();
    std::fs::set_permissions(dpkg.join("status"), std::fs::Permissions::from_mode(0o000)).unwrap();
    write_dist_info(&rootfs, "demo", "1.0");
    for dir in [work.path(), rootfs.as_path()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // As root every file is readable, so run the generator as nobody.
    let run_as_nobody = |dest: &Path, strict: bool| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_stella"))
            .env("BUILDKIT_SCAN_SOURCE", &rootfs)
            .env("BUILDKIT_SCAN_DESTINATION", dest)
            .env_remove("BUILDKIT_SCAN_SOURCE_EXTRAS");
        if strict {
            cmd.env("STELLA_STRICT", "1");
        } else {
            cmd.env_remove("STELLA_STRICT");
        }
        cmd.output().expect("setpriv (util-linux)")
    };
    let dest = work.path().join("out");
    std::fs::create_dir(&dest).unwrap();
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = run_as_nobody(&dest, false);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("var/lib/dpkg/status"),
        "{}",
        stderr(&out)
    );
    let sts = statements(&dest);
    let core = &sts["sbom.spdx.json"]["predicate"];
    let notes: Vec<&str> = core["annotations"]
        .as_array()
        .expect("annotations")
        .iter()
        .map(|a| a["comment"].as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("/var/lib/dpkg/status") && n.contains("ermission denied")),
        "{notes:?}"
    );
    // What could be read is still there.
    assert_eq!(
        spdx_packages(core, "pypi"),
        BTreeSet::from(["demo 1.0".to_string()])
    );
    validate_spdx(&[core]);

    let strict_dest = work.path().join("strict");
    std::fs::create_dir(&strict_dest).unwrap();
    std::fs::set_permissions(&strict_dest, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = run_as_nobody(&strict_dest, true);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("STELLA_STRICT"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("var/lib/dpkg/status"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_dir(&strict_dest).unwrap().count(),
        0,
        "wrote despite failing"
    );
}

#[test]
fn extras_get_their_own_statements() {
    let work = tempfile::tempdir().unwrap();
    let rootfs = work.path().join("rootfs");
    std::fs::create_dir_all(&rootfs).unwrap();
    let extras = work.path().join("extras");
    let build = extras.join("sbom-build/var/lib/dpkg");
    std::fs::create_dir_all(&build).unwrap();
    std::fs::write(
        build.join("status"),
        "Package: gcc-12\nStatus: install ok installed\nVersion: 12.2.0-14\nArchitecture: amd64\n\n",
    )
    .unwrap();
    let context = extras.join("sbom-context/app");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(
        context.join("package-lock.json"),
        r#"{"name":"app","lockfileVersion":3,"packages":{"":{"name":"app"},"node_modules/left-pad":{"version":"1.3.0"}}}"#,
    )
    .unwrap();
    let dest = work.path().join("out");
    std::fs::create_dir(&dest).unwrap();
    let out = generate(&rootfs, &dest, Some(&extras), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let sts = statements(&dest);
    let names: Vec<&str> = sts.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "sbom-build.spdx.json",
            "sbom-context.spdx.json",
            "sbom.spdx.json",
            "stella-inventory.spdx.json"
        ]
    );
    assert_eq!(
        spdx_packages(&sts["sbom-build.spdx.json"]["predicate"], "deb"),
        BTreeSet::from(["gcc-12 12.2.0-14".to_string()])
    );
    assert!(spdx_packages(&sts["sbom.spdx.json"]["predicate"], "deb").is_empty());
    let preds: Vec<&Value> = sts.values().map(|s| &s["predicate"]).collect();
    validate_spdx(&preds);

    // An extra whose name cannot be a file name is refused, by name.
    std::fs::create_dir(extras.join("bad name")).unwrap();
    let dest2 = work.path().join("out2");
    std::fs::create_dir(&dest2).unwrap();
    let out = generate(&rootfs, &dest2, Some(&extras), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("\"bad name\""), "{}", stderr(&out));
}

#[test]
fn half_set_environment_is_an_error_naming_the_missing_variable() {
    let src = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stella"))
        .env("BUILDKIT_SCAN_SOURCE", src.path())
        .env_remove("BUILDKIT_SCAN_DESTINATION")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("BUILDKIT_SCAN_DESTINATION"),
        "{}",
        stderr(&out)
    );

    let out = generate(&src.path().join("missing"), src.path(), None, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("BUILDKIT_SCAN_SOURCE="),
        "{}",
        stderr(&out)
    );
}

#[test]
fn layer_files_can_be_left_out() {
    let work = tempfile::tempdir().unwrap();
    let rootfs = work.path().join("rootfs");
    write_dist_info(&rootfs, "demo", "1.0");
    let with = work.path().join("with");
    let without = work.path().join("without");
    std::fs::create_dir(&with).unwrap();
    std::fs::create_dir(&without).unwrap();
    let out = generate(&rootfs, &with, None, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = generate(
        &rootfs,
        &without,
        None,
        &[("STELLA_GENERATOR_LAYER_FILES", "0")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (with, without) = (statements(&with), statements(&without));
    let files = |sts: &std::collections::BTreeMap<String, Value>| {
        sts["sbom.spdx.json"]["predicate"]["files"]
            .as_array()
            .map(Vec::len)
    };
    assert_eq!(files(&with), Some(1));
    assert_eq!(files(&without), None);
    let attribution =
        &without["stella-inventory.spdx.json"]["predicate"]["stellaInventory"]["attribution"];
    assert_eq!(*attribution, serde_json::json!([null]));
    // The SBOM's packages do not depend on it.
    assert_eq!(
        spdx_packages(&with["sbom.spdx.json"]["predicate"], "pypi"),
        spdx_packages(&without["sbom.spdx.json"]["predicate"], "pypi")
    );
}

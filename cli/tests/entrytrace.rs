//! EntryTrace and the usage view on real images (samples/build-test-images.sh:
//! `entry-python`, `entry-tini`, `entry-scratch`, built from Debian packages).
//!
//! The expected chains are written out below with the reason for each step.
//! The usage closure is checked against independent oracles run on the
//! image's own root filesystem (kept as `entry-rootfs`, the rootfs of
//! `entry-tini`, which contains `entry-python`'s): the image's dynamic loader
//! (`ld.so --list`, inside a chroot) for the libraries, and dpkg's own
//! database (`dpkg-query -S`) for the packages that own them.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

#[path = "support/images.rs"]
mod images;
use images::{images_dir_with, stella};

fn images_dir() -> PathBuf {
    images_dir_with(".done-entry")
}

fn scan(tag: &str, extra: &[&str]) -> Value {
    let source = format!("oci-dir:{}:{tag}", images_dir().join("oci").display());
    let mut args = vec!["scan", source.as_str(), "-q"];
    if !extra.contains(&"-o") {
        args.extend(["-o", "json"]);
    }
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = stella(&args);
    assert_eq!(code, 0, "stella scan {source} failed: {stderr}");
    serde_json::from_str(&stdout).expect("scan output is JSON")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().expect("string").to_string())
        .collect()
}

/// (kind, path, argv) of each step of the only chain; asserts it did not stop.
fn only_chain(scan: &Value) -> Vec<(String, String, Vec<String>)> {
    let chains = scan["entryTrace"]["chains"].as_array().expect("chains");
    assert_eq!(chains.len(), 1, "{chains:?}");
    assert!(chains[0].get("stopped").is_none(), "{}", chains[0]);
    chains[0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap().to_string(),
                s["path"].as_str().unwrap().to_string(),
                strings(&s["argv"]),
            )
        })
        .collect()
}

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

fn rootfs() -> PathBuf {
    images_dir().join("entry-rootfs")
}

/// `readlink -f` inside the rootfs (absolute links point into it, not the host).
fn realpaths(paths: &[String]) -> Vec<String> {
    if paths.is_empty() {
        return Vec::new();
    }
    let out = Command::new("chroot")
        .arg(rootfs())
        .arg("readlink")
        .arg("-f")
        .args(paths)
        .output()
        .expect("chroot readlink (tests run as root)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_start_matches('/').to_string())
        .collect()
}

/// An ELF regular file (a symlink to one is not: the closure lists both).
fn is_elf(rel: &str) -> bool {
    let path = rootfs().join(rel);
    std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file())
        && std::fs::read(path).is_ok_and(|b| b.starts_with(b"\x7fELF"))
}

/// What the image's own dynamic loader loads for `program`: every library
/// and the loader itself, as physical paths (empty for a static binary).
fn ld_so_list(program: &str) -> BTreeSet<String> {
    let out = Command::new("chroot")
        .arg(rootfs())
        .args(["/lib64/ld-linux-x86-64.so.2", "--list"])
        .arg(format!("/{program}"))
        .output()
        .expect("chroot ld.so --list (tests run as root)");
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("not a dynamic executable") {
        return BTreeSet::new();
    }
    assert!(
        out.status.success(),
        "ld.so --list /{program}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut paths = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        // `libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x…)` or `/lib64/ld-linux-x86-64.so.2 (0x…)`.
        let path = match line.split_once(" => ") {
            Some((_, rest)) => rest,
            None => line,
        };
        let path = path.split(" (").next().unwrap_or_default();
        assert!(!path.contains("not found"), "{program}: {line}");
        if path.starts_with('/') {
            paths.push(path.to_string());
        }
    }
    realpaths(&paths).into_iter().collect()
}

/// The packages dpkg says own `files`. dpkg records paths as shipped
/// (`/lib/x86_64-linux-gnu/libc.so.6`); on this merged-/usr image they live
/// under `usr/`, so `usr/lib/…`, `usr/bin/…`, `usr/sbin/…` are also asked
/// for without the `usr`.
fn dpkg_owners(files: &[String]) -> BTreeSet<String> {
    let mut queries = Vec::new();
    for f in files {
        queries.push(format!("/{f}"));
        for dir in ["lib/", "bin/", "sbin/"] {
            if let Some(rest) = f.strip_prefix(&format!("usr/{dir}")) {
                queries.push(format!("/{dir}{rest}"));
            }
        }
    }
    let out = Command::new("dpkg-query")
        .arg(format!(
            "--admindir={}",
            rootfs().join("var/lib/dpkg").display()
        ))
        .arg("-S")
        .args(&queries)
        .output()
        .expect("dpkg-query (apt-get install dpkg)");
    // Exit 1 just means some paths (our own script) belong to no package.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("diversion "))
        .filter_map(|l| l.split_once(": ").map(|(pkgs, _)| pkgs.to_string()))
        .flat_map(|pkgs| {
            pkgs.split(", ")
                .map(|p| p.split(':').next().unwrap_or(p).to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn used_debs(scan: &Value) -> BTreeSet<String> {
    scan["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "deb" && c["properties"]["stella:usage"] == "true")
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

/// Checks the closure of a Debian image against ld.so and dpkg.
fn check_closure(scan: &Value, programs: &[&str]) {
    let files = strings(&scan["entryTrace"]["files"]);
    assert!(
        scan["entryTrace"].get("unresolved").is_none(),
        "{}",
        scan["entryTrace"]["unresolved"]
    );
    // Roots: the programs on the chain, plus what python3.11 loads by
    // itself, its extension modules (listed here from the rootfs).
    let mut roots: Vec<String> = programs.iter().map(|p| p.to_string()).collect();
    let dynload = rootfs().join("usr/lib/python3.11/lib-dynload");
    for entry in std::fs::read_dir(&dynload).expect("lib-dynload") {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".so") {
            roots.push(format!("usr/lib/python3.11/lib-dynload/{name}"));
        }
    }
    assert!(roots.len() > 40, "lib-dynload looks empty: {roots:?}");
    let mut expected: BTreeSet<String> = roots.iter().cloned().collect();
    for root in &roots {
        expected.extend(ld_so_list(root));
    }
    let ours: BTreeSet<String> = files.iter().filter(|f| is_elf(f)).cloned().collect();
    let missing: Vec<_> = expected.difference(&ours).collect();
    let extra: Vec<_> = ours.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "ELF closure vs ld.so --list: missing {missing:?}, extra {extra:?}"
    );
    // The packages: dpkg's answer for every closure file, ELF or not.
    let owners = dpkg_owners(&files);
    assert!(
        owners.contains("libc6") && owners.contains("python3.11-minimal"),
        "{owners:?}"
    );
    assert_eq!(
        used_debs(scan),
        owners,
        "packages marked stella:usage vs dpkg -S"
    );
}

#[test]
fn python3_entrypoint() {
    let scan = scan("entry-python", &[]);
    assert_eq!(
        scan["entryTrace"]["argv"],
        serde_json::json!(["python3", "-m", "http.server"])
    );
    // ENTRYPOINT ["python3"] + CMD ["-m", "http.server"], no Env: Docker's
    // default PATH; /usr/local/{sbin,bin} and /usr/sbin hold no python3, so
    // /usr/bin/python3, python3-minimal's symlink to python3.11, the ELF
    // binary of python3.11-minimal. Nothing follows an interpreter.
    assert_eq!(
        only_chain(&scan),
        vec![(
            "elf".to_string(),
            "usr/bin/python3.11".to_string(),
            argv(&["python3", "-m", "http.server"])
        )]
    );
    // Independently: where the name resolves inside the rootfs.
    assert_eq!(
        realpaths(&["/usr/bin/python3".into()]),
        vec!["usr/bin/python3.11"]
    );
    // It ran through python3-minimal's symlink: that package is in use too
    // (check_closure asks dpkg -S for the owner of every closure file).
    assert_eq!(
        scan["entryTrace"]["chains"][0]["steps"][0]["via"],
        "usr/bin/python3"
    );
    assert!(strings(&scan["entryTrace"]["files"]).contains(&"usr/bin/python3".into()));
    check_closure(&scan, &["usr/bin/python3.11"]);
    assert!(used_debs(&scan).contains("python3-minimal"));
    // Python 3.11's standard library landmark is part of what it runs.
    assert!(strings(&scan["entryTrace"]["files"]).contains(&"usr/lib/python3.11/os.py".into()));
}

#[test]
fn tini_and_a_docker_entrypoint_script() {
    let scan = scan("entry-tini", &[]);
    let full = ["python3", "-m", "http.server"];
    assert_eq!(
        only_chain(&scan),
        vec![
            // `tini` via the image's PATH: tini's /usr/bin/tini, a wrapper;
            // it skips `--` and execs the rest.
            (
                "wrapper".to_string(),
                "usr/bin/tini".to_string(),
                argv(&[
                    "tini",
                    "--",
                    "docker-entrypoint.sh",
                    "python3",
                    "-m",
                    "http.server"
                ])
            ),
            // Found in /usr/local/bin (first PATH entry holding it); a `#!/bin/sh` script.
            (
                "script".to_string(),
                "usr/local/bin/docker-entrypoint.sh".to_string(),
                argv(&["docker-entrypoint.sh", "python3", "-m", "http.server"])
            ),
            // The kernel runs the #! interpreter with the script's full path
            // and the original arguments; /bin/sh is dash (bin → usr/bin, sh → dash).
            (
                "interpreter".to_string(),
                "usr/bin/dash".to_string(),
                argv(&[
                    "/bin/sh",
                    "/usr/local/bin/docker-entrypoint.sh",
                    "python3",
                    "-m",
                    "http.server"
                ])
            ),
            // The script's last exec line is `exec "$@"`: the CMD runs.
            (
                "elf".to_string(),
                "usr/bin/python3.11".to_string(),
                argv(&full)
            ),
        ]
    );
    assert_eq!(realpaths(&["/bin/sh".into()]), vec!["usr/bin/dash"]);
    // `/bin/sh` with /bin → usr/bin resolved: dash's own symlink.
    assert_eq!(
        scan["entryTrace"]["chains"][0]["steps"][2]["via"],
        "usr/bin/sh"
    );
    // Found under its own name: no symlink on the way.
    assert!(scan["entryTrace"]["chains"][0]["steps"][0]
        .get("via")
        .is_none());
    check_closure(
        &scan,
        &["usr/bin/tini", "usr/bin/dash", "usr/bin/python3.11"],
    );
    let used = used_debs(&scan);
    assert!(used.contains("tini") && used.contains("dash"), "{used:?}");
    // Packages the image has but the entrypoint never touches.
    for unused in ["apt", "perl-base", "python3", "coreutils"] {
        assert!(!used.contains(unused), "{unused} marked as used");
    }
}

#[test]
fn scratch_image_with_a_static_binary() {
    let scan = scan("entry-scratch", &[]);
    // No Env: `busybox` is looked up in Docker's default PATH and found in /bin.
    assert_eq!(
        only_chain(&scan),
        vec![(
            "elf".to_string(),
            "bin/busybox".to_string(),
            argv(&["busybox", "httpd", "-f", "-p", "8080"])
        )]
    );
    // Static: readelf (on the binary from the same .deb) shows no program
    // interpreter and no NEEDED, so the closure is the file itself.
    let debs = images_dir().join("work/entry-debs");
    let deb = std::fs::read_dir(&debs)
        .expect("work/entry-debs")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("busybox-static_"))
        })
        .expect("busybox-static .deb");
    let unpacked = tempfile::tempdir().unwrap();
    let status = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(unpacked.path())
        .status()
        .expect("dpkg-deb");
    assert!(status.success());
    let out = Command::new("readelf")
        .args(["-l", "-d"])
        .arg(unpacked.path().join("bin/busybox"))
        .output()
        .expect("readelf (apt-get install binutils)");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("program interpreter") && !text.contains("(NEEDED)"),
        "{text}"
    );
    assert_eq!(strings(&scan["entryTrace"]["files"]), vec!["bin/busybox"]);
    // No package database, no component proves the binary: nothing to mark.
    assert_eq!(scan["components"], serde_json::json!([]));
}

#[test]
fn usage_view_emits_only_the_closure_components() {
    let full = scan("entry-tini", &[]);
    let usage = scan("entry-tini", &["--view", "usage"]);
    let used = used_debs(&full);
    let listed: BTreeSet<String> = usage["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, used);
    assert!(full["components"].as_array().unwrap().len() > listed.len() + 50);
    // CycloneDX carries the mark as a property.
    let cdx = scan("entry-tini", &["-o", "cyclonedx-json"]);
    let marked = cdx["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["properties"].as_array().is_some_and(|p| {
                p.iter()
                    .any(|p| p["name"] == "stella:usage" && p["value"] == "true")
            })
        })
        .count();
    assert_eq!(marked, used.len());
}

#[test]
fn usage_view_needs_an_image_config() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!("dir:{}", dir.path().display());
    let (code, _, stderr) = stella(&["scan", &source, "-q", "-o", "json", "--view", "usage"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("--view usage needs an image"), "{stderr}");
}

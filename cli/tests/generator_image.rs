//! `stella generator push` and `docker stella`, end to end: the image is
//! read back by skopeo and run by the real docker engine; the plugin is run
//! by the real docker CLI.
//!
//! The docker tests need the e2e harness (`tests/e2e/up.sh`, seen through
//! `stella_testkit::buildkit::E2e`). Without it they print "skipped: no e2e
//! harness" — unless `STELLA_REQUIRE_E2E=1` (CI), where a missing harness
//! fails them.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use sha2::{Digest as _, Sha256};
use stella_testkit::buildkit::E2e;

const STELLA: &str = env!("CARGO_BIN_EXE_stella");
const EPOCH: &str = "1700000000";

fn stella(args: &[&str]) -> Output {
    Command::new(STELLA)
        .args(args)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .output()
        .expect("run stella")
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sha256_file(path: &Path) -> String {
    hex::encode(Sha256::digest(fs::read(path).unwrap()))
}

#[test]
fn push_to_layouts_is_reproducible_and_readable_by_skopeo() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let first = ok(
        &stella(&[
            "generator",
            "push",
            "--oci-dir",
            &format!("{}/l:v1", a.path().display()),
        ]),
        "push a",
    );
    // Another directory, another copy of the binary: the same image.
    let copy = b.path().join("stella-copy");
    fs::copy(STELLA, &copy).unwrap();
    let second = ok(
        &stella(&[
            "generator",
            "push",
            "--binary",
            copy.to_str().unwrap(),
            "--oci-dir",
            &format!("{}/other:v2", b.path().display()),
        ]),
        "push b",
    );
    assert_eq!(first, second);
    let digest = first.trim();
    assert!(digest.starts_with("sha256:"), "{digest}");

    let reference = format!("oci:{}/l:v1", a.path().display());
    let skopeo_digest = ok(
        &Command::new("skopeo")
            .args(["inspect", "--format", "{{.Digest}}", &reference])
            .output()
            .expect("skopeo (apt-get install skopeo)"),
        "skopeo inspect",
    );
    assert_eq!(skopeo_digest.trim(), digest);
    let dir = a.path().join("copied");
    ok(
        &Command::new("skopeo")
            .args(["copy", &reference, &format!("dir:{}", dir.display())])
            .output()
            .unwrap(),
        "skopeo copy",
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:");
    let rootfs = a.path().join("rootfs");
    fs::create_dir(&rootfs).unwrap();
    ok(
        &Command::new("tar")
            .arg("-xzf")
            .arg(dir.join(layer))
            .arg("-C")
            .arg(&rootfs)
            .output()
            .unwrap(),
        "tar",
    );
    assert_eq!(
        sha256_file(&rootfs.join("usr/local/bin/stella")),
        sha256_file(Path::new(STELLA))
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.version"],
        env!("CARGO_PKG_VERSION")
    );
}

#[test]
fn push_needs_a_destination() {
    let out = stella(&["generator", "push"]);
    assert_eq!(out.status.code(), Some(64));
    let out = stella(&[
        "generator",
        "push",
        "--binary",
        "/nonexistent/stella",
        "--oci-dir",
        "/tmp/x",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("/nonexistent/stella"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn plugin_metadata_and_argument_stripping() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cli-plugins");
    ok(
        &stella(&["docker-plugin", "install", "--dir", dir.to_str().unwrap()]),
        "install",
    );
    let plugin = dir.join("docker-stella");
    assert_eq!(
        fs::canonicalize(&plugin).unwrap(),
        fs::canonicalize(STELLA).unwrap()
    );
    let out = Command::new(&plugin)
        .arg("docker-cli-plugin-metadata")
        .output()
        .unwrap();
    let meta: serde_json::Value = serde_json::from_str(&ok(&out, "metadata")).unwrap();
    assert_eq!(meta["SchemaVersion"], "0.1.0");
    assert_eq!(meta["Vendor"], "Stella");
    assert_eq!(meta["Version"], env!("CARGO_PKG_VERSION"));
    let out = Command::new(&plugin)
        .args(["stella", "--version"])
        .output()
        .unwrap();
    assert!(ok(&out, "--version").contains(env!("CARGO_PKG_VERSION")));
}

/// `docker ARGS` on the harness's daemon; with `config`, that docker CLI
/// config directory instead of the harness's.
fn docker(e2e: &E2e, args: &[&str], config: Option<&Path>) -> Output {
    let mut cmd = e2e.docker();
    cmd.args(args);
    if let Some(c) = config {
        cmd.env("DOCKER_CONFIG", c);
    }
    cmd.output().expect("docker CLI")
}

/// A repository name no other test run uses.
fn unique_repo(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

#[test]
fn docker_runs_the_generator_image() {
    let Some(e2e) = E2e::require() else { return };
    let reference = e2e.image_ref(&format!("{}:t", unique_repo("stella-generator-test")));
    let digest = ok(&stella(&["generator", "push", &reference]), "push");
    let pinned = format!("{}@{}", reference.trim_end_matches(":t"), digest.trim());
    let out = docker(&e2e, &["run", "--rm", &pinned, "--version"], None);
    let version = ok(&out, "docker run --version");
    assert_eq!(
        version.trim(),
        format!("stella {}", env!("CARGO_PKG_VERSION"))
    );
    // With no arguments the Entrypoint alone runs: our main answers (with
    // its usage error until generator mode takes the no-argument case).
    let out = docker(&e2e, &["run", "--rm", &pinned], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Usage: stella") || out.status.success(),
        "{}: {stderr}",
        out.status
    );
    let _ = docker(&e2e, &["rmi", "--force", &pinned], None);
}

#[test]
fn docker_stella_is_a_cli_plugin() {
    let Some(e2e) = E2e::require() else { return };
    // A private copy of the docker config: the plugin goes there, not into
    // the user's (or the shared harness's) config.
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("docker-config");
    fs::create_dir(&config).unwrap();
    let original = e2e.docker_config().join("config.json");
    if original.exists() {
        fs::copy(&original, config.join("config.json")).unwrap();
    }
    let out = Command::new(STELLA)
        .args(["docker-plugin", "install"])
        .env("DOCKER_CONFIG", &config)
        .output()
        .unwrap();
    ok(&out, "docker-plugin install");
    assert!(config.join("cli-plugins/docker-stella").exists());

    let help = ok(&docker(&e2e, &["--help"], Some(&config)), "docker --help");
    assert!(
        help.lines().any(|l| l.trim_start().starts_with("stella*")),
        "docker --help lists no stella plugin:\n{help}"
    );
    let help = ok(
        &docker(&e2e, &["stella", "--help"], Some(&config)),
        "docker stella --help",
    );
    assert!(help.contains("scan"), "{help}");

    let image = format!("registry:{}", e2e.base_image());
    let mut cmd = e2e.docker();
    cmd.args(["stella", "scan", &image, "-o", "json"])
        .env("DOCKER_CONFIG", &config)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env("STELLA_NO_CACHE", "1");
    let via_docker = ok(&cmd.output().unwrap(), "docker stella scan");
    let mut cmd = Command::new(STELLA);
    cmd.args(["scan", &image, "-o", "json"])
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env("STELLA_NO_CACHE", "1");
    let direct = ok(&cmd.output().unwrap(), "stella scan");
    let parsed: serde_json::Value = serde_json::from_str(&direct).unwrap();
    assert!(
        parsed.to_string().contains("pkg:deb/debian/"),
        "the base image scan finds Debian packages"
    );
    assert_eq!(via_docker, direct);
}

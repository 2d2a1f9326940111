//! `stella policy validate|push|pull` as a user runs them, against a real
//! OCI layout and the CNCF distribution registry, with oras as the
//! independent reader (and writer) of policy artifacts. Layout files are
//! read with serde_json and sha2 here, not through our store.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use sha2::Digest as _;
use stella_testkit::distribution::Distribution;

const POLICY_TYPE: &str = "application/vnd.stellaops.policy.v1+yaml";

const POLICY: &str = "schema: stella-policy@1
name: ci
rules:
  - id: no-critical
    action: fail
    severity: critical
  - id: banned
    action: fail
    packages:
      deny: [pkg:pypi/pyyaml@5.3.1]
exceptions:
  - id: EX-1
    vulnerability: CVE-2021-33503
    expires: 2026-12-31
    reason: not reachable
";

fn stella(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stella"))
        .args(args)
        .output()
        .expect("run stella")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// stdout of a successful run, trimmed.
fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

fn blob_path(layout: &Path, digest: &str) -> PathBuf {
    let (alg, hex) = digest.split_once(':').unwrap();
    layout.join("blobs").join(alg).join(hex)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn write_policy(dir: &Path, name: &str, yaml: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, yaml).unwrap();
    path
}

#[test]
fn validate_files() {
    let work = tempfile::tempdir().unwrap();
    let good = write_policy(work.path(), "good.yaml", POLICY);
    let out = stella(&["policy", "validate", good.to_str().unwrap()]);
    // A file's revision is the sha256 of its bytes.
    assert_eq!(ok(&out), sha256(POLICY.as_bytes()));
    assert!(
        text(&out.stderr).contains("2 rules, 1 exceptions"),
        "{}",
        text(&out.stderr)
    );

    let typo = write_policy(
        work.path(),
        "typo.yaml",
        &POLICY.replace("severity: critical", "severity: critcal"),
    );
    let out = stella(&["policy", "validate", typo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("rules[0].severity: unknown severity \"critcal\"") && err.contains("line 6"),
        "{err}"
    );
    let unknown_key = write_policy(
        work.path(),
        "key.yaml",
        &POLICY.replace(
            "action: fail\n    sev",
            "action: fail\n    sevrity: high\n    sev",
        ),
    );
    let out = stella(&["policy", "validate", unknown_key.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("unknown field `sevrity`"),
        "{}",
        text(&out.stderr)
    );

    let missing = work.path().join("missing.yaml");
    assert_eq!(
        stella(&["policy", "validate", missing.to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(stella(&["policy", "validate"]).status.code(), Some(64));
}

#[test]
fn push_and_pull_through_an_oci_layout() {
    let work = tempfile::tempdir().unwrap();
    let file = write_policy(work.path(), "policy.yaml", POLICY);
    let layout = work.path().join("layout");
    let target = format!("oci-dir:{}", layout.display());
    let revision = ok(&stella(&[
        "policy",
        "push",
        file.to_str().unwrap(),
        &target,
    ]));

    // The manifest as stored: its digest is the revision, it is the
    // artifact docs/policy.md describes, its one layer is the file.
    let manifest_bytes = std::fs::read(blob_path(&layout, &revision)).unwrap();
    assert_eq!(sha256(&manifest_bytes), revision);
    let manifest: Value = serde_json::from_slice(&manifest_bytes).unwrap();
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(manifest["artifactType"], POLICY_TYPE);
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0]["mediaType"], POLICY_TYPE);
    assert_eq!(
        layers[0]["annotations"]["org.opencontainers.image.title"],
        "policy.yaml"
    );
    assert_eq!(layers[0]["digest"], sha256(POLICY.as_bytes()));
    assert_eq!(layers[0]["size"], POLICY.len());
    assert_eq!(
        std::fs::read(blob_path(&layout, layers[0]["digest"].as_str().unwrap())).unwrap(),
        POLICY.as_bytes()
    );
    let config = manifest["config"]["digest"].as_str().unwrap();
    assert_eq!(std::fs::read(blob_path(&layout, config)).unwrap(), b"{}");
    let index = read_json(&layout.join("index.json"));
    assert!(index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["digest"] == revision.as_str()
            && m["annotations"]["org.opencontainers.image.ref.name"] == "latest"));

    // Same bytes, same revision; a tag of its own.
    let again = ok(&stella(&[
        "policy",
        "push",
        file.to_str().unwrap(),
        &format!("{target}:v1"),
    ]));
    assert_eq!(again, revision);

    // Pulled to a file: the exact bytes, the same revision.
    let pulled = work.path().join("out/pulled.yaml");
    std::fs::create_dir(work.path().join("out")).unwrap();
    let out = stella(&[
        "policy",
        "pull",
        &format!("{target}:v1"),
        "-o",
        pulled.to_str().unwrap(),
    ]);
    assert_eq!(ok(&out), revision);
    assert_eq!(std::fs::read(&pulled).unwrap(), POLICY.as_bytes());
    // To stdout: the YAML there, the revision on stderr.
    let out = stella(&["policy", "pull", &format!("{target}:latest")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(out.stdout, POLICY.as_bytes());
    assert_eq!(text(&out.stderr).trim(), revision);
    // Validate reads artifacts too, and reports the manifest digest.
    assert_eq!(
        ok(&stella(&["policy", "validate", &format!("{target}:v1")])),
        revision
    );
    assert_eq!(
        ok(&stella(&[
            "policy",
            "validate",
            &format!("{target}@{revision}")
        ])),
        revision
    );

    if let Some(oras) = stella_testkit::oras::find() {
        let fetched = run_oras(
            &oras,
            &[
                "manifest",
                "fetch",
                "--oci-layout",
                &format!("{}:v1", layout.display()),
            ],
            work.path(),
        );
        assert_eq!(fetched, manifest_bytes, "oras manifest fetch");
        let dir = work.path().join("oras-out");
        std::fs::create_dir(&dir).unwrap();
        run_oras(
            &oras,
            &[
                "pull",
                "--oci-layout",
                "-o",
                dir.to_str().unwrap(),
                &format!("{}:v1", layout.display()),
            ],
            work.path(),
        );
        assert_eq!(
            std::fs::read(dir.join("policy.yaml")).unwrap(),
            POLICY.as_bytes(),
            "oras pull"
        );
    }
}

#[test]
fn invalid_policies_are_not_pushed() {
    let work = tempfile::tempdir().unwrap();
    let bad = write_policy(
        work.path(),
        "bad.yaml",
        &POLICY.replace("action: fail", "action: block"),
    );
    let layout = work.path().join("layout");
    let out = stella(&[
        "policy",
        "push",
        bad.to_str().unwrap(),
        &format!("oci-dir:{}", layout.display()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("nothing pushed") && err.contains("rules[0].action: unknown action \"block\""),
        "{err}"
    );
    let pushed = layout.join("index.json").exists()
        && !read_json(&layout.join("index.json"))["manifests"]
            .as_array()
            .unwrap()
            .is_empty();
    assert!(!pushed, "an invalid policy reached the layout");
}

#[test]
fn pull_refuses_what_is_not_a_good_policy() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let target = format!("oci-dir:{}", layout.display());
    // A missing layout is an error, and is not created by reading.
    let out = stella(&["policy", "pull", &target]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!layout.exists());

    // A first push to a new layout with a tag creates the layout (not a
    // directory named `layout:p`).
    let file = write_policy(work.path(), "p.yaml", POLICY);
    ok(&stella(&[
        "policy",
        "push",
        file.to_str().unwrap(),
        &format!("{target}:p"),
    ]));
    assert!(layout.join("oci-layout").is_file());

    // Another artifact (a feeds DB) in the same layout.
    let osv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../feeds/tests/fixtures/osv/osv-go");
    ok(&stella(&[
        "feeds",
        "build",
        &format!("osv:{}", osv.display()),
        "-o",
        &format!("{target}:feeds"),
    ]));
    let out = stella(&["policy", "pull", &format!("{target}:feeds")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is not a policy: artifactType"),
        "{}",
        text(&out.stderr)
    );
    // A tag that is not there.
    assert_eq!(
        stella(&["policy", "pull", &format!("{target}:nope")])
            .status
            .code(),
        Some(1)
    );

    // The policy's layer altered on disk.
    let blob = blob_path(&layout, &sha256(POLICY.as_bytes()));
    std::fs::write(&blob, POLICY.replace("critical", "low")).unwrap();
    let out_file = work.path().join("never.yaml");
    let out = stella(&[
        "policy",
        "pull",
        &format!("{target}:p"),
        "-o",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(!out_file.exists(), "a tampered policy was written");
}

fn run_oras(oras: &Path, args: &[&str], cwd: &Path) -> Vec<u8> {
    stella_testkit::oras::run(oras, args, cwd)
}

#[test]
fn push_and_pull_through_a_real_registry() {
    let registry = Distribution::start(None);
    let work = tempfile::tempdir().unwrap();
    let file = write_policy(work.path(), "policy.yaml", POLICY);
    let reference = format!("{}/policies/ci:v1", registry.addr);
    let revision = ok(&stella(&[
        "policy",
        "push",
        file.to_str().unwrap(),
        &format!("registry:{reference}"),
    ]));
    let pulled = work.path().join("pulled.yaml");
    let out = stella(&[
        "policy",
        "pull",
        &format!("registry:{reference}"),
        "-o",
        pulled.to_str().unwrap(),
    ]);
    assert_eq!(ok(&out), revision);
    assert_eq!(std::fs::read(&pulled).unwrap(), POLICY.as_bytes());
    let by_digest = format!("registry:{}/policies/ci@{revision}", registry.addr);
    assert_eq!(ok(&stella(&["policy", "validate", &by_digest])), revision);
    // Untagged: `latest`, which does not exist yet.
    let out = stella(&[
        "policy",
        "pull",
        &format!("registry:{}/policies/ci", registry.addr),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", registry.log());

    let Some(oras) = stella_testkit::oras::find() else {
        return;
    };
    // oras reads what we pushed…
    let manifest = run_oras(
        &oras,
        &["manifest", "fetch", "--plain-http", &reference],
        work.path(),
    );
    assert_eq!(sha256(&manifest), revision, "oras manifest fetch");
    let dir = work.path().join("oras-out");
    std::fs::create_dir(&dir).unwrap();
    run_oras(
        &oras,
        &[
            "pull",
            "--plain-http",
            "-o",
            dir.to_str().unwrap(),
            &reference,
        ],
        work.path(),
    );
    assert_eq!(
        std::fs::read(dir.join("policy.yaml")).unwrap(),
        POLICY.as_bytes(),
        "oras pull"
    );

    // …and we read what oras pushed.
    let theirs = POLICY.replace("name: ci", "name: from-oras");
    let src = work.path().join("src");
    std::fs::create_dir(&src).unwrap();
    write_policy(&src, "policy.yaml", &theirs);
    let oras_ref = format!("{}/policies/oras:v1", registry.addr);
    run_oras(
        &oras,
        &[
            "push",
            "--plain-http",
            "--artifact-type",
            POLICY_TYPE,
            &oras_ref,
            &format!("policy.yaml:{POLICY_TYPE}"),
        ],
        &src,
    );
    let their_manifest = run_oras(
        &oras,
        &["manifest", "fetch", "--plain-http", &oras_ref],
        work.path(),
    );
    let out = stella(&["policy", "pull", &format!("registry:{oras_ref}")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(out.stdout, theirs.as_bytes());
    assert_eq!(text(&out.stderr).trim(), sha256(&their_manifest));
}

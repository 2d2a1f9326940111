//! `stella attest` / `stella verify` against the real CNCF distribution
//! registry (no referrers API: the tag-schema fallback) with the real
//! cosign 2.5 as the other side: cosign verifies what we attest (the
//! `.att` tag layout and the Sigstore bundle), we verify what cosign
//! attests, both refuse the same tampering; oras is the independent
//! referrers reader and the attacker's writer.
//!
//! cosign: `STELLA_COSIGN`, else the e2e harness's; without it the test
//! prints SKIPPED (a failure when `STELLA_REQUIRE_E2E=1`).

mod attest_support;

use std::path::Path;
use std::process::{Command, Output};

use attest_support::*;
use serde_json::{json, Value};
use stella_testkit::distribution::Distribution;

fn cosign_verify(bin: &Path, home: &Path, type_: &str, pub_key: &Path, image: &str) -> Output {
    cosign(
        bin,
        home,
        &[
            "verify-attestation",
            "--insecure-ignore-tlog",
            "--allow-http-registry",
            "--type",
            type_,
            "--key",
            pub_key.to_str().unwrap(),
            image,
        ],
    )
}

fn skopeo(args: &[&str]) -> Vec<u8> {
    let out = Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo (apt-get install skopeo)");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        text(&out.stderr)
    );
    out.stdout
}

/// Copies a fresh one-layer image into the registry; (raw manifest, digest).
fn push_image(work: &Path, reference: &str, marker: &str) -> (Vec<u8>, String) {
    let dir = work.join(marker);
    image_layout(&dir, marker);
    skopeo(&[
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        &format!("oci:{}", dir.display()),
        &format!("docker://{reference}"),
    ]);
    let raw = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{reference}"),
    ]);
    let digest = format!("sha256:{}", sha256_hex(&raw));
    (raw, digest)
}

fn oras(bin: &Path, cwd: &Path, args: &[&str]) -> Vec<u8> {
    stella_testkit::oras::run(bin, args, cwd)
}

/// Attaches `envelope` to `subject` with oras (the attacker's writer).
fn oras_attach(bin: &Path, cwd: &Path, subject: &str, envelope: &[u8], name: &str) {
    std::fs::write(cwd.join(name), envelope).unwrap();
    oras(
        bin,
        cwd,
        &[
            "attach",
            "--plain-http",
            "--artifact-type",
            DSSE,
            subject,
            &format!("{name}:{DSSE}"),
        ],
    );
}

#[test]
fn cosign_interop_through_a_registry() {
    let Some(cosign_path) = cosign_bin() else {
        return;
    };
    let Some(oras_bin) = stella_testkit::oras::find() else {
        return;
    };
    let registry = Distribution::start(None);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let home = w.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let repo = format!("{}/stella/attest", registry.addr);
    let (raw, digest) = push_image(w, &format!("{repo}:v1"), "one");
    let image = format!("registry:{repo}:v1");
    let by_digest = format!("{repo}@{digest}");
    let cosign_pub = key("cosign.pub");

    ok(&stella(&[
        "scan",
        &image,
        "-q",
        "--attach",
        "-o",
        "json=/dev/null",
    ]));
    let bundle = w.join("att.bundle.json");
    let r: Value = serde_json::from_str(&ok(&stella(&[
        "attest",
        &image,
        "--type",
        "cyclonedx",
        "--key",
        &key_arg("cosign.key"),
        "--cosign-compat",
        "--bundle",
        bundle.to_str().unwrap(),
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!(r["subject"]["digest"], digest.as_str());
    assert_eq!(r["subjectName"], repo.as_str());
    let att_tag = format!("sha256-{}.att", digest.trim_start_matches("sha256:"));
    assert_eq!(r["cosignTag"]["tag"], att_tag.as_str());
    assert_eq!(r["cosignTag"]["layers"], 1);

    // cosign accepts ours, and its refusals show it looks.
    let out = cosign_verify(&cosign_path, &home, "cyclonedx", &cosign_pub, &by_digest);
    assert!(
        out.status.success(),
        "cosign rejects ours: {}",
        text(&out.stderr)
    );
    let out = cosign_verify(
        &cosign_path,
        &home,
        "cyclonedx",
        &key("p256.pub.pem"),
        &by_digest,
    );
    assert!(!out.status.success(), "cosign accepted another key");
    let out = cosign_verify(&cosign_path, &home, "spdx", &cosign_pub, &by_digest);
    assert!(!out.status.success(), "cosign found an spdx attestation");
    // The bundle: the image's manifest bytes are the attested blob.
    let manifest_file = w.join("manifest.json");
    std::fs::write(&manifest_file, &raw).unwrap();
    let trusted_root = w.join("trusted_root.json");
    std::fs::write(
        &trusted_root,
        br#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}"#,
    )
    .unwrap();
    cosign_ok(
        &cosign_path,
        &home,
        &[
            "verify-blob-attestation",
            "--new-bundle-format",
            "--insecure-ignore-tlog",
            "--type",
            "cyclonedx",
            "--key",
            cosign_pub.to_str().unwrap(),
            "--trusted-root",
            trusted_root.to_str().unwrap(),
            "--bundle",
            bundle.to_str().unwrap(),
            manifest_file.to_str().unwrap(),
        ],
    );

    // oras sees our referrer (through the fallback tag).
    let discovered: Value = serde_json::from_slice(&oras(
        &oras_bin,
        w,
        &["discover", "--plain-http", "--format", "json", &by_digest],
    ))
    .unwrap();
    let list = discovered["manifests"]
        .as_array()
        .or_else(|| discovered["referrers"].as_array())
        .expect("oras discover JSON");
    assert!(
        list.iter()
            .any(|d| d["artifactType"] == DSSE && d["digest"] == r["referrer"]["digest"]),
        "{discovered:#}"
    );

    // cosign attest appends to our .att; ours appends to cosign's.
    let spdx = w.join("spdx.json");
    std::fs::write(&spdx, ok(&stella(&["sbom", &image, "-o", "spdx-json"]))).unwrap();
    cosign_ok(
        &cosign_path,
        &home,
        &[
            "attest",
            "--tlog-upload=false",
            "--allow-http-registry",
            "--type",
            "spdx",
            "--predicate",
            spdx.to_str().unwrap(),
            "--key",
            key("cosign.key").to_str().unwrap(),
            &by_digest,
        ],
    );
    let custom = w.join("custom.json");
    std::fs::write(&custom, br#"{"reviewed":true}"#).unwrap();
    let r2: Value = serde_json::from_str(&ok(&stella(&[
        "attest",
        &image,
        "--type",
        "custom",
        "--predicate",
        custom.to_str().unwrap(),
        "--key",
        &key_arg("cosign.key"),
        "--cosign-compat",
        "--no-referrer",
        "-o",
        "json",
    ])))
    .unwrap();
    assert_eq!(r2["cosignTag"]["layers"], 3, "{r2:#}");
    assert!(r2.get("referrer").is_none());
    for t in ["cyclonedx", "spdx", "custom"] {
        let out = cosign_verify(&cosign_path, &home, t, &cosign_pub, &by_digest);
        assert!(
            out.status.success(),
            "cosign --type {t}: {}",
            text(&out.stderr)
        );
    }

    // stella verify: the referrer and the three .att layers.
    let (code, report) = verify(&image, &["cosign.pub"], &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        verdicts(&report),
        vec![
            ("verified".into(), "verified".into(), "cosign-tag".into()),
            ("verified".into(), "verified".into(), "cosign-tag".into()),
            ("verified".into(), "verified".into(), "cosign-tag".into()),
            ("verified".into(), "verified".into(), "referrer".into()),
        ]
    );
    // cosign's own spdx attestation, alone with --type.
    let (code, report) = verify(&image, &["cosign.pub"], &["--type", "spdx"]);
    assert_eq!(code, 0, "{report:#}");
    let verified: Vec<&Value> = report["attestations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["verdict"] == "verified")
        .collect();
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0]["origin"], "cosign-tag");
    assert_eq!(verified[0]["predicateType"], "https://spdx.dev/Document");

    // Tampered: a forged payload under the genuine signature, attached by oras.
    let envelope_digest = r["envelope"]["digest"].as_str().unwrap();
    let genuine = oras(
        &oras_bin,
        w,
        &[
            "blob",
            "fetch",
            "--plain-http",
            "--output",
            "-",
            &format!("{repo}@{envelope_digest}"),
        ],
    );
    let mut envelope: Value = serde_json::from_slice(&genuine).unwrap();
    let mut statement = statement_of(&envelope);
    statement["predicate"]["components"] = json!([]);
    envelope["payload"] = json!(b64_encode(&serde_json::to_vec(&statement).unwrap()));
    oras_attach(
        &oras_bin,
        w,
        &by_digest,
        &serde_json::to_vec(&envelope).unwrap(),
        "forged.json",
    );
    let (code, report) = verify(&image, &["cosign.pub"], &["--type", "cyclonedx"]);
    assert_eq!(code, 4, "{report:#}");
    assert!(verdicts(&report).contains(&(
        "rejected".into(),
        "signature-mismatch".into(),
        "referrer".into()
    )));
    // Wrong key for everything.
    let (code, report) = verify(&image, &["p256.pub.pem"], &["--type", "spdx"]);
    assert_eq!(code, 4, "{report:#}");
    assert_eq!(report["verified"], 0);

    // Another image carrying image one's genuine attestations: the subject
    // digest differs. cosign refuses the copied .att too.
    let (_, digest_b) = push_image(w, &format!("{repo}:v2"), "two");
    let b_by_digest = format!("{repo}@{digest_b}");
    oras_attach(&oras_bin, w, &b_by_digest, &genuine, "genuine.json");
    let att = oras(
        &oras_bin,
        w,
        &[
            "manifest",
            "fetch",
            "--plain-http",
            &format!("{repo}:{att_tag}"),
        ],
    );
    std::fs::write(w.join("att.json"), &att).unwrap();
    let att_b = format!("sha256-{}.att", digest_b.trim_start_matches("sha256:"));
    oras(
        &oras_bin,
        w,
        &[
            "manifest",
            "push",
            "--plain-http",
            "--media-type",
            "application/vnd.oci.image.manifest.v1+json",
            &format!("{repo}:{att_b}"),
            "att.json",
        ],
    );
    let out = cosign_verify(&cosign_path, &home, "cyclonedx", &cosign_pub, &b_by_digest);
    assert!(
        !out.status.success(),
        "cosign accepted another image's attestation"
    );
    let (code, report) = verify(&format!("registry:{repo}:v2"), &["cosign.pub"], &[]);
    assert_eq!(code, 4, "{report:#}");
    let codes: Vec<(String, String, String)> = verdicts(&report);
    assert_eq!(codes.len(), 4, "{report:#}");
    assert!(
        codes
            .iter()
            .all(|(v, c, _)| v == "rejected" && c == "subject-mismatch"),
        "{report:#}"
    );
}

/// `stella scan --attach --sign-key`: the verdict, signed, next to the
/// plain one; `stella verify --type verdict` accepts it, openssl verifies
/// the signature over PAE, and the predicate is the `-o verdict-json` file.
#[test]
fn scan_signs_the_verdict() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let dir = w.join("image");
    let (_, subject) = image_layout(&dir, "verdict");
    let image = format!("oci-dir:{}", dir.display());
    let osv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../feeds/tests/fixtures/osv/osv-go");
    let db = format!("oci-dir:{}", w.join("db").display());
    ok(&stella(&[
        "feeds",
        "build",
        &format!("osv:{}", osv.display()),
        "-o",
        &db,
    ]));
    let policy = w.join("policy.yaml");
    std::fs::write(
        &policy,
        "schema: stella-policy@1\nname: t\nrules:\n  - id: critical\n    action: fail\n    severity: critical\n",
    )
    .unwrap();
    let verdict_file = w.join("verdict.json");
    let args = [
        "scan",
        &image,
        "-q",
        "--feeds",
        &db,
        "--feeds-cache",
        &w.join("cache").display().to_string(),
        "--policy",
        policy.to_str().unwrap(),
        "--at",
        "2026-01-01T00:00:00Z",
        "-o",
        &format!("verdict-json={}", verdict_file.display()),
        "--attach",
        "--sign-key",
        &key_arg("ed25519.pkcs8.pem"),
    ]
    .map(String::from);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&stella(&args));
    let (code, report) = verify(&image, &["ed25519.pub.pem"], &["--type", "verdict"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["verified"], 1);
    let a = report["attestations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["verdict"] == "verified")
        .unwrap();
    // The signed predicate is the verdict `-o verdict-json` wrote.
    let layer = a["layer"].as_str().unwrap();
    let envelope: Value = serde_json::from_slice(
        &std::fs::read(
            dir.join("blobs/sha256")
                .join(layer.trim_start_matches("sha256:")),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(openssl_verifies(&envelope, &key("ed25519.pub.pem"), true));
    let statement = statement_of(&envelope);
    assert_eq!(statement["predicate"], read_json(&verdict_file));
    assert_eq!(
        statement["predicateType"],
        "https://stella-ops.org/attestations/verdict/v1"
    );
    assert_eq!(
        statement["subject"][0]["digest"]["sha256"],
        subject.trim_start_matches("sha256:")
    );
    // Without a policy there is no verdict to sign.
    let out = stella(&[
        "scan",
        &image,
        "-q",
        "--attach",
        "--sign-key",
        &key_arg("ed25519.pkcs8.pem"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--policy"),
        "{}",
        text(&out.stderr)
    );
}

/// Signed VEX: OpenVEX predicates of in-toto attestations — one made by
/// `stella attest` (DSSE referrer), one by `cosign attest --type openvex`
/// (cosign's `.att` tag) — are read by VEX discovery only when a
/// `--vex-key` verifies them; otherwise they are listed as skipped with
/// the reason. The documents found are the predicates cosign and stella
/// were given (ids and statement counts read from the fixture files).
#[test]
fn signed_vex_is_read_only_when_a_key_verifies_it() {
    let Some(cosign_bin) = cosign_bin() else {
        return;
    };
    let registry = Distribution::start(None);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let home = w.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let repo = format!("{}/stella/signed-vex", registry.addr);
    let (_, digest) = push_image(w, &format!("{repo}:v1"), "signed-vex");
    let image = format!("registry:{repo}:v1");
    let vex_fixture = |name: &str| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../policy/tests/fixtures/vex")
            .join(name)
    };
    let expected = |name: &str| {
        let doc = read_json(&vex_fixture(name));
        (
            doc["@id"].as_str().unwrap().to_string(),
            doc["statements"].as_array().unwrap().len() as u64,
        )
    };

    ok(&stella(&[
        "attest",
        &image,
        "--type",
        "openvex",
        "--predicate",
        vex_fixture("alias.openvex.json").to_str().unwrap(),
        "--key",
        &key_arg("p256.pkcs8.pem"),
    ]));
    cosign_ok(
        &cosign_bin,
        &home,
        &[
            "attest",
            "--tlog-upload=false",
            "--allow-http-registry",
            "--type",
            "openvex",
            "--predicate",
            vex_fixture("versionless.openvex.json").to_str().unwrap(),
            "--key",
            key("cosign.key").to_str().unwrap(),
            &format!("{repo}@{digest}"),
        ],
    );

    let list = |keys: &[&str]| -> Value {
        let mut args = vec!["vex", "list", image.as_str(), "-o", "json"];
        for k in keys {
            args.extend(["--vex-key", k]);
        }
        serde_json::from_str(&ok(&stella(&args))).unwrap()
    };
    let found = |v: &Value| -> Vec<(String, u64)> {
        let mut f: Vec<(String, u64)> = v["vex"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["id"].as_str().unwrap().to_string(),
                    d["statements"].as_u64().unwrap(),
                )
            })
            .collect();
        f.sort();
        f
    };
    let skipped = |v: &Value| -> Vec<String> {
        v["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };

    // No key: nothing applied, both named as skipped.
    let v = list(&[]);
    assert!(found(&v).is_empty(), "{v:#}");
    let s = skipped(&v);
    assert_eq!(s.len(), 2, "{v:#}");
    assert!(s.iter().all(|s| s.contains("no --vex-key")), "{s:?}");

    // Both keys: both documents, as signed.
    let p256 = key_arg("p256.pub.pem");
    let cosign_pub = key_arg("cosign.pub");
    let v = list(&[&p256, &cosign_pub]);
    let mut want = vec![
        expected("alias.openvex.json"),
        expected("versionless.openvex.json"),
    ];
    want.sort();
    assert_eq!(found(&v), want, "{v:#}");
    assert!(skipped(&v).is_empty(), "{v:#}");

    // Only stella's key: cosign's attestation does not verify.
    let v = list(&[&p256]);
    assert_eq!(found(&v), vec![expected("alias.openvex.json")], "{v:#}");
    let s = skipped(&v);
    assert_eq!(s.len(), 1, "{v:#}");
    assert!(s[0].contains("(signature-mismatch)"), "{s:?}");
    assert!(s[0].contains(".att") || s[0].contains("sha256:"), "{s:?}");

    // An SBOM attestation next to them (in both places) is not VEX: not
    // reported, and its envelope blob is not even read — a proxy in front
    // of the registry sees exactly the two VEX envelopes fetched.
    ok(&stella(&[
        "attest",
        &image,
        "--type",
        "cyclonedx",
        "--predicate",
        key("predicate.cdx.json").to_str().unwrap(),
        "--key",
        &key_arg("cosign.key"),
        "--cosign-compat",
    ]));
    let proxy = stella_testkit::proxy::Proxy::start(&registry.addr);
    let through_proxy = format!("registry:{}/stella/signed-vex:v1", proxy.addr);
    let out = stella(&[
        "vex",
        "list",
        &through_proxy,
        "-o",
        "json",
        "--vex-key",
        &p256,
        "--vex-key",
        &cosign_pub,
    ]);
    let v: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(found(&v), want, "{v:#}");
    assert!(skipped(&v).is_empty(), "{v:#}");
    let blob_reads: Vec<String> = proxy
        .seen()
        .into_iter()
        .filter(|s| s.method == "GET" && s.target.contains("/blobs/"))
        .map(|s| s.target)
        .collect();
    // The SBOM envelopes: the cyclonedx layer of the `.att` manifest and the
    // layer of the cyclonedx referrer (both read with skopeo).
    let raw_manifest = |reference: &str| -> Value {
        serde_json::from_slice(&skopeo(&[
            "inspect",
            "--tls-verify=false",
            "--raw",
            &format!("docker://{reference}"),
        ]))
        .unwrap()
    };
    let cdx = "https://cyclonedx.org/bom";
    let mut sbom_blobs: Vec<String> = Vec::new();
    let att = raw_manifest(&format!(
        "{repo}:sha256-{}.att",
        digest.trim_start_matches("sha256:")
    ));
    for layer in att["layers"].as_array().unwrap() {
        if layer["annotations"]["predicateType"] == cdx {
            sbom_blobs.push(layer["digest"].as_str().unwrap().to_string());
        }
    }
    let referrers: Value =
        serde_json::from_str(&ok(&stella(&["referrers", &image, "-o", "json"]))).unwrap();
    for r in referrers["referrers"].as_array().unwrap() {
        if r["annotations"]["in-toto.io/predicate-type"] == cdx {
            let m = raw_manifest(&format!("{repo}@{}", r["digest"].as_str().unwrap()));
            for layer in m["layers"].as_array().unwrap() {
                sbom_blobs.push(layer["digest"].as_str().unwrap().to_string());
            }
        }
    }
    assert_eq!(sbom_blobs.len(), 2, "{sbom_blobs:?}");
    // Read: the image config (opening the image) and the two VEX envelopes.
    assert_eq!(blob_reads.len(), 3, "{blob_reads:#?}");
    for sbom in &sbom_blobs {
        assert!(
            !blob_reads.iter().any(|t| t.ends_with(sbom.as_str())),
            "{sbom} was read: {blob_reads:#?}"
        );
    }
}

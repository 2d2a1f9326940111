//! The transparency log in `stella attest --rekor-url` and
//! `stella verify --rekor-key`, against the RFC 6962 test log of
//! stella-testkit (a test log, not Rekor: none is reachable here).
//!
//! Oracles: the log's own REST answers (the entry in the bundle is the one
//! the log serves), and the real cosign 2.5, which verifies our bundles
//! with its transparency-log checks on (`--trusted-root` naming the test
//! log's key) and must refuse each tampered entry we refuse; cosign's own
//! `attest --new-bundle-format --rekor-url` through the test log is the
//! reverse direction. Without cosign (`STELLA_COSIGN` or the e2e harness)
//! the cosign halves print SKIPPED (a failure with `STELLA_REQUIRE_E2E=1`).

mod attest_support;

use std::path::Path;
use std::process::{Command, Output};

use attest_support::*;
use serde_json::{json, Value};
use stella_testkit::distribution::Distribution;
use stella_testkit::rfc6962_log::{TestLog, TestLogOptions};

/// A Sigstore trusted root (protobuf JSON, v0.1) whose only transparency
/// log is the test log: its SPKI DER, log ID = SHA-256 of it.
fn trusted_root(log: &TestLog) -> Value {
    let der = pem_der(&log.public_key_pem());
    json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [{
            "baseUrl": log.url(),
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": b64_encode(&der),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": {"start": "2020-01-01T00:00:00Z"}
            },
            "logId": {"keyId": b64_encode(&hex::decode(sha256_hex(&der)).unwrap())}
        }],
        "certificateAuthorities": [],
        "ctlogs": [],
        "timestampAuthorities": []
    })
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    b64(&body)
}

/// The image's manifest bytes (the blob a bundle's statement is about).
fn manifest_bytes(layout: &Path, digest: &str) -> Vec<u8> {
    std::fs::read(
        layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
    .unwrap()
}

/// `stella attest … -o json` with extra arguments.
fn attest(image: &str, predicate: &Path, extra: &[&str]) -> Output {
    let k = key_arg("cosign.key");
    let p = predicate.display().to_string();
    let mut args = vec![
        "attest",
        image,
        "--type",
        "custom",
        "--predicate",
        &p,
        "--key",
        &k,
        "-o",
        "json",
    ];
    args.extend_from_slice(extra);
    stella(&args)
}

/// The tlog status, verdict and code of the only attestation of a report.
fn only(report: &Value) -> (String, String, String, String) {
    let list = report["attestations"].as_array().expect("attestations");
    assert_eq!(list.len(), 1, "{report:#}");
    let a = &list[0];
    (
        a["verdict"].as_str().unwrap_or("").to_string(),
        a["code"].as_str().unwrap_or("").to_string(),
        a["tlog"]["status"].as_str().unwrap_or("-").to_string(),
        a["tlog"]["check"].as_str().unwrap_or("-").to_string(),
    )
}

/// cosign verify-blob-attestation with transparency-log verification on,
/// the test log as the only trusted log.
fn cosign_verify_bundle(
    bin: &Path,
    home: &Path,
    root: &Path,
    bundle: &Path,
    blob: &Path,
) -> Output {
    cosign(
        bin,
        home,
        &[
            "verify-blob-attestation",
            "--new-bundle-format",
            "--type",
            "custom",
            "--key",
            key("cosign.pub").to_str().unwrap(),
            "--trusted-root",
            root.to_str().unwrap(),
            "--bundle",
            bundle.to_str().unwrap(),
            blob.to_str().unwrap(),
        ],
    )
}

#[test]
fn attest_logs_the_envelope_and_verify_checks_the_entry() {
    let log = TestLog::start(TestLogOptions::default()).expect("test log");
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let dir = w.join("image");
    let (_, subject) = image_layout(&dir, "tlog");
    let image = format!("oci-dir:{}", dir.display());
    let log_key = w.join("log.pub");
    std::fs::write(&log_key, log.public_key_pem()).unwrap();
    let log_key_arg = log_key.display().to_string();
    let url = log.url();

    // Earlier entries, so that ours has a non-empty audit path.
    for i in 0..3 {
        let p = w.join(format!("earlier-{i}.json"));
        std::fs::write(&p, format!(r#"{{"earlier":{i}}}"#)).unwrap();
        let b = w.join(format!("earlier-{i}.sigstore.json"));
        ok(&attest(
            &image,
            &p,
            &[
                "--no-referrer",
                "--bundle",
                b.to_str().unwrap(),
                "--rekor-url",
                &url,
                "--rekor-key",
                &log_key_arg,
            ],
        ));
    }
    assert_eq!(log.size(), 3);

    let predicate = w.join("predicate.json");
    std::fs::write(&predicate, br#"{"reviewed":true}"#).unwrap();
    let bundle = w.join("att.sigstore.json");
    let bundle_arg = bundle.display().to_string();
    let r: Value = serde_json::from_str(&ok(&attest(
        &image,
        &predicate,
        &[
            "--bundle",
            &bundle_arg,
            "--rekor-url",
            &url,
            "--rekor-key",
            &log_key_arg,
        ],
    )))
    .unwrap();
    assert_eq!(log.size(), 4);
    assert_eq!(r["tlog"]["logIndex"], 3);
    assert_eq!(r["tlog"]["kind"], "dsse 0.0.1");
    assert_eq!(r["tlog"]["logKey"], "pinned");
    assert_eq!(r["tlog"]["logId"], log.log_id_hex());
    // The referrer is a Sigstore bundle (the entry needs a home).
    assert_eq!(
        r["referrer"]["artifactType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );

    // The bundle's entry is the one the log serves (its REST answer is the
    // oracle for every field).
    let b = read_json(&bundle);
    assert_eq!(
        b["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    let entries = b["verificationMaterial"]["tlogEntries"]
        .as_array()
        .expect("tlogEntries");
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    let served = log_get(&log, "/api/v1/log/entries?logIndex=3");
    let (uuid, s) = served.as_object().unwrap().iter().next().unwrap();
    assert_eq!(r["tlog"]["uuid"], uuid.as_str());
    assert_eq!(e["logIndex"], "3");
    assert_eq!(e["canonicalizedBody"], s["body"]);
    assert_eq!(e["integratedTime"], s["integratedTime"].to_string());
    assert_eq!(
        b64(e["logId"]["keyId"].as_str().unwrap()),
        hex::decode(s["logID"].as_str().unwrap()).unwrap()
    );
    assert_eq!(
        e["kindVersion"],
        json!({"kind": "dsse", "version": "0.0.1"})
    );
    assert_eq!(
        e["inclusionPromise"]["signedEntryTimestamp"],
        s["verification"]["signedEntryTimestamp"]
    );
    let p = &e["inclusionProof"];
    let sp = &s["verification"]["inclusionProof"];
    assert_eq!(p["logIndex"], "3");
    assert_eq!(p["treeSize"], "4");
    assert_eq!(
        b64(p["rootHash"].as_str().unwrap()),
        hex::decode(sp["rootHash"].as_str().unwrap()).unwrap()
    );
    let hashes: Vec<Vec<u8>> = p["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| b64(h.as_str().unwrap()))
        .collect();
    let served_hashes: Vec<Vec<u8>> = sp["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hex::decode(h.as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(hashes, served_hashes);
    assert_eq!(hashes.len(), 2, "index 3 of 4 has a two-hash path");
    assert_eq!(p["checkpoint"]["envelope"], sp["checkpoint"]);
    // The body logs this envelope: payload hash and signature.
    let body: Value =
        serde_json::from_slice(&b64(e["canonicalizedBody"].as_str().unwrap())).unwrap();
    let envelope = &b["dsseEnvelope"];
    assert_eq!(
        body["spec"]["payloadHash"]["value"],
        sha256_hex(&b64(envelope["payload"].as_str().unwrap()))
    );
    assert_eq!(
        body["spec"]["signatures"][0]["signature"],
        envelope["signatures"][0]["sig"]
    );

    // The same envelope again: the log answers 409 and its existing entry
    // (with a fresh proof) is used; nothing new is logged.
    let again: Value = serde_json::from_str(&ok(&attest(
        &image,
        &predicate,
        &[
            "--no-referrer",
            "--bundle",
            w.join("again.json").to_str().unwrap(),
            "--rekor-url",
            &url,
            "--rekor-key",
            &log_key_arg,
        ],
    )))
    .unwrap();
    assert_eq!(again["tlog"]["alreadyLogged"], true);
    assert_eq!(again["tlog"]["logIndex"], 3);
    assert_eq!(log.size(), 4);

    // stella verify: the bundle referrer's entry verifies.
    let (code, report) = verify(
        &image,
        &["cosign.pub"],
        &["--rekor-key", &log_key_arg, "--require-tlog"],
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        only(&report),
        (
            "verified".into(),
            "verified".into(),
            "verified".into(),
            "-".into()
        )
    );
    assert_eq!(report["attestations"][0]["origin"], "bundle-referrer");
    assert_eq!(report["attestations"][0]["tlog"]["logIndex"], 3);
    assert_eq!(report["tlog"]["logId"], log.log_id_hex());
    assert_eq!(report["tlog"]["required"], true);
    // The table shows the column.
    let table = ok(&stella(&[
        "verify",
        &image,
        "--key",
        &key_arg("cosign.pub"),
        "--rekor-key",
        &log_key_arg,
    ]));
    println!("{table}");
    assert!(table.contains("TLOG"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("verified") && l.contains(" verified ")),
        "{table}"
    );
    // Without --rekor-key nothing changes: no tlog field.
    let (code, report) = verify(&image, &["cosign.pub"], &[]);
    assert_eq!(code, 0, "{report:#}");
    assert!(
        report["attestations"][0].get("tlog").is_none(),
        "{report:#}"
    );
    assert!(report.get("tlog").is_none());

    // Another log's key: the entry is rejected, naming both logs.
    let other_key = key("p256.pub.pem");
    let other_arg = other_key.display().to_string();
    let (code, report) = verify(&image, &["cosign.pub"], &["--rekor-key", &other_arg]);
    assert_eq!(code, 4, "{report:#}");
    assert_eq!(
        only(&report),
        (
            "rejected".into(),
            "tlog-rejected".into(),
            "rejected".into(),
            "unknown-log".into()
        )
    );
    let reason = report["attestations"][0]["reason"].as_str().unwrap();
    assert!(reason.contains(&log.log_id_hex()), "{reason}");

    // An attestation without an entry: absent; with --require-tlog rejected.
    let plain_dir = w.join("plain");
    image_layout(&plain_dir, "plain");
    let plain = format!("oci-dir:{}", plain_dir.display());
    ok(&attest(&plain, &predicate, &[]));
    let (code, report) = verify(&plain, &["cosign.pub"], &["--rekor-key", &log_key_arg]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        only(&report),
        (
            "verified".into(),
            "verified".into(),
            "absent".into(),
            "-".into()
        )
    );
    let (code, report) = verify(
        &plain,
        &["cosign.pub"],
        &["--rekor-key", &log_key_arg, "--require-tlog"],
    );
    assert_eq!(code, 4, "{report:#}");
    assert_eq!(
        only(&report),
        (
            "rejected".into(),
            "tlog-missing".into(),
            "absent".into(),
            "-".into()
        )
    );
    // --require-tlog without a log key is a usage error.
    let out = stella(&[
        "verify",
        &plain,
        "--key",
        &key_arg("cosign.pub"),
        "--require-tlog",
    ]);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out.stderr));

    // Trust on first use: without --rekor-key the log's served key is used
    // and the report says so.
    let tofu_dir = w.join("tofu");
    image_layout(&tofu_dir, "tofu");
    let tofu = format!("oci-dir:{}", tofu_dir.display());
    let out = attest(&tofu, &predicate, &["--rekor-url", &url]);
    let r: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(r["tlog"]["logKey"], "trust-on-first-use");
    assert!(
        text(&out.stderr).contains("trusting the log key")
            && text(&out.stderr).contains("first use"),
        "{}",
        text(&out.stderr)
    );
    // A pinned key that is not the log's: attest fails, nothing attached.
    let before = log.size();
    let out = attest(
        &plain,
        &w.join("predicate.json"),
        &["--rekor-url", &url, "--rekor-key", &other_arg],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("does not verify"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        log.size(),
        before + 1,
        "the log took it; we refused its answer"
    );
    let (_, report) = verify(&plain, &["cosign.pub"], &[]);
    assert_eq!(
        report["attestations"].as_array().unwrap().len(),
        1,
        "nothing new attached"
    );

    // An intoto 0.0.2 entry instead of dsse: the same checks hold.
    let intoto_dir = w.join("intoto");
    image_layout(&intoto_dir, "intoto");
    let intoto = format!("oci-dir:{}", intoto_dir.display());
    let intoto_bundle = w.join("intoto.sigstore.json");
    let r: Value = serde_json::from_str(&ok(&attest(
        &intoto,
        &predicate,
        &[
            "--rekor-url",
            &url,
            "--rekor-key",
            &log_key_arg,
            "--rekor-entry-type",
            "intoto",
            "--bundle",
            intoto_bundle.to_str().unwrap(),
        ],
    )))
    .unwrap();
    assert_eq!(r["tlog"]["kind"], "intoto 0.0.2");
    let (code, report) = verify(
        &intoto,
        &["cosign.pub"],
        &["--rekor-key", &log_key_arg, "--require-tlog"],
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["attestations"][0]["tlog"]["status"], "verified");

    // The tampered-bundle matrix, judged by stella and by cosign.
    tamper_matrix(&log, w, &dir, &subject, &bundle, &log_key_arg);
    if let Some(bin) = cosign_bin() {
        let home = w.join("home");
        let blob = w.join("intoto-manifest.json");
        let (_, intoto_subject) = image_layout(&w.join("intoto-copy"), "intoto");
        std::fs::write(&blob, manifest_bytes(&intoto_dir, &intoto_subject)).unwrap();
        let out = cosign_verify_bundle(
            &bin,
            &home,
            &w.join("trusted_root.json"),
            &intoto_bundle,
            &blob,
        );
        println!(
            "cosign on the intoto 0.0.2 bundle: exit {:?}: {}",
            out.status.code(),
            text(&out.stderr).trim()
        );
        assert!(
            out.status.success(),
            "cosign (tlog on) rejects our intoto entry"
        );
    }
}

/// GET a JSON document from the test log (its own answer, read here with
/// a raw HTTP client, not through our Rekor client).
fn log_get(log: &TestLog, path: &str) -> Value {
    let url = log.url();
    let addr = url.trim_start_matches("http://");
    let resp = stella_testkit::http::raw_request(addr, "GET", path, &[]).expect("GET the test log");
    assert_eq!(resp.status, 200, "GET {path}: {}", text(&resp.body));
    serde_json::from_slice(&resp.body).expect("JSON from the log")
}

/// Each tampering of a genuine bundle (written by `stella attest
/// --rekor-url`) is rejected by `stella verify --bundle` with the named
/// check, and — when cosign is here — by cosign with tlog verification on,
/// which accepts the genuine one.
fn tamper_matrix(
    log: &TestLog,
    w: &Path,
    layout: &Path,
    subject: &str,
    genuine: &Path,
    log_key_arg: &str,
) {
    // A second genuine bundle of another envelope (for the swapped entry).
    let other_pred = w.join("other.json");
    std::fs::write(&other_pred, br#"{"reviewed":false}"#).unwrap();
    let other_bundle = w.join("other.sigstore.json");
    let image = format!("oci-dir:{}", layout.display());
    ok(&attest(
        &image,
        &other_pred,
        &[
            "--no-referrer",
            "--bundle",
            other_bundle.to_str().unwrap(),
            "--rekor-url",
            &log.url(),
            "--rekor-key",
            log_key_arg,
        ],
    ));
    let good = read_json(genuine);
    let other = read_json(&other_bundle);
    let flip_b64 = |s: &str, at: usize| {
        let mut bytes = b64(s);
        let i = at.min(bytes.len() - 1);
        bytes[i] ^= 0x01;
        b64_encode(&bytes)
    };
    let entry = |b: &Value| b["verificationMaterial"]["tlogEntries"][0].clone();
    let with_entry = |e: Value| {
        let mut b = good.clone();
        b["verificationMaterial"]["tlogEntries"][0] = e;
        b
    };
    let mut cases: Vec<(&str, Value, &str)> = Vec::new();
    // The body: a changed payload hash (still JSON, still dsse).
    {
        let mut e = entry(&good);
        let body = String::from_utf8(b64(e["canonicalizedBody"].as_str().unwrap())).unwrap();
        let v: Value = serde_json::from_str(&body).unwrap();
        let h = v["spec"]["payloadHash"]["value"]
            .as_str()
            .unwrap()
            .to_string();
        let changed = format!("{}{}", if h.starts_with('0') { "1" } else { "0" }, &h[1..]);
        e["canonicalizedBody"] = json!(b64_encode(body.replace(&h, &changed).as_bytes()));
        cases.push(("body", with_entry(e), "inclusion-proof"));
    }
    {
        let mut e = entry(&good);
        let h = e["inclusionProof"]["hashes"][0]
            .as_str()
            .unwrap()
            .to_string();
        e["inclusionProof"]["hashes"][0] = json!(flip_b64(&h, 5));
        cases.push(("proof hash", with_entry(e), "inclusion-proof"));
    }
    {
        let mut e = entry(&good);
        let h = e["inclusionProof"]["rootHash"]
            .as_str()
            .unwrap()
            .to_string();
        e["inclusionProof"]["rootHash"] = json!(flip_b64(&h, 7));
        cases.push(("root hash", with_entry(e), "inclusion-proof"));
    }
    {
        let mut e = entry(&good);
        let set = e["inclusionPromise"]["signedEntryTimestamp"]
            .as_str()
            .unwrap()
            .to_string();
        e["inclusionPromise"]["signedEntryTimestamp"] = json!(flip_b64(&set, 20));
        cases.push(("SET", with_entry(e), "set-signature"));
    }
    {
        let mut e = entry(&good);
        e["integratedTime"] = json!("1700000001");
        cases.push(("integrated time", with_entry(e), "set-signature"));
    }
    {
        let mut e = entry(&good);
        let cp = e["inclusionProof"]["checkpoint"]["envelope"]
            .as_str()
            .unwrap()
            .to_string();
        // The signature line: flip a byte of the signature (after the
        // 4-byte key hash).
        let (text_part, sig_line) = cp.split_once("\n\n").unwrap();
        let (name, sig) = sig_line.trim_end().rsplit_once(' ').unwrap();
        let tampered = format!("{text_part}\n\n{name} {}\n", flip_b64(sig, 12));
        e["inclusionProof"]["checkpoint"]["envelope"] = json!(tampered);
        cases.push((
            "checkpoint signature",
            with_entry(e),
            "checkpoint-signature",
        ));
    }
    // A genuine entry of another envelope.
    cases.push((
        "entry of another envelope",
        with_entry(entry(&other)),
        "other-envelope",
    ));

    let cosign = cosign_bin();
    let home = w.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let root = w.join("trusted_root.json");
    std::fs::write(&root, trusted_root(log).to_string()).unwrap();
    let blob = w.join("manifest.json");
    std::fs::write(&blob, manifest_bytes(layout, subject)).unwrap();

    // The genuine bundle: stella and cosign (tlog on) accept it.
    let g = genuine.display().to_string();
    let empty_dir = w.join("empty");
    let (_, same) = image_layout(&empty_dir, "tlog");
    assert_eq!(same, subject, "the same image, without referrers");
    let empty = format!("oci-dir:{}", empty_dir.display());
    let (code, report) = verify(
        &empty,
        &["cosign.pub"],
        &["--rekor-key", log_key_arg, "--require-tlog", "--bundle", &g],
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["attestations"][0]["origin"], "bundle-file");
    if let Some(bin) = &cosign {
        let out = cosign_verify_bundle(bin, &home, &root, genuine, &blob);
        assert!(
            out.status.success(),
            "cosign (tlog on) rejects our bundle: {}{}",
            text(&out.stderr),
            text(&out.stdout)
        );
        println!("cosign on the genuine bundle: {}", text(&out.stderr).trim());
        // The same bundle with another trusted log: cosign finds no entry it can verify.
        let mut other_root = trusted_root(log);
        let other_der = pem_der(&std::fs::read_to_string(key("p256.pub.pem")).unwrap());
        other_root["tlogs"][0]["publicKey"]["rawBytes"] = json!(b64_encode(&other_der));
        other_root["tlogs"][0]["logId"]["keyId"] =
            json!(b64_encode(&hex::decode(sha256_hex(&other_der)).unwrap()));
        let other_root_path = w.join("other_root.json");
        std::fs::write(&other_root_path, other_root.to_string()).unwrap();
        let out = cosign_verify_bundle(bin, &home, &other_root_path, genuine, &blob);
        assert!(
            !out.status.success(),
            "cosign accepted an entry of an untrusted log"
        );
        println!(
            "cosign with another log's key: {}",
            text(&out.stderr).trim()
        );
    }

    for (what, bundle, check) in cases {
        let path = w.join(format!("tampered-{}.json", what.replace(' ', "-")));
        std::fs::write(&path, bundle.to_string()).unwrap();
        let p = path.display().to_string();
        let (code, report) = verify(
            &empty,
            &["cosign.pub"],
            &["--rekor-key", log_key_arg, "--bundle", &p],
        );
        assert_eq!(code, 4, "{what}: {report:#}");
        assert_eq!(
            only(&report),
            (
                "rejected".into(),
                "tlog-rejected".into(),
                "rejected".into(),
                check.into()
            ),
            "{what}: {report:#}"
        );
        if let Some(bin) = &cosign {
            let out = cosign_verify_bundle(bin, &home, &root, &path, &blob);
            assert!(
                !out.status.success(),
                "cosign accepted the bundle with a tampered {what}"
            );
            println!("cosign on tampered {what}: {}", text(&out.stderr).trim());
        }
    }
}

#[test]
fn cosign_reads_our_logged_bundle_referrer_and_we_read_cosigns() {
    let Some(cosign_path) = cosign_bin() else {
        return;
    };
    let log = TestLog::start(TestLogOptions::default()).expect("test log");
    let registry = Distribution::start(None);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let home = w.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let log_key = w.join("log.pub");
    std::fs::write(&log_key, log.public_key_pem()).unwrap();
    let log_key_arg = log_key.display().to_string();
    let root = w.join("trusted_root.json");
    std::fs::write(&root, trusted_root(&log).to_string()).unwrap();

    let repo = format!("{}/stella/tlog", registry.addr);
    let layout = w.join("one");
    image_layout(&layout, "one");
    let out = Command::new("skopeo")
        .args(["copy", "--quiet", "--dest-tls-verify=false"])
        .arg(format!("oci:{}", layout.display()))
        .arg(format!("docker://{repo}:v1"))
        .output()
        .expect("skopeo");
    assert!(out.status.success(), "skopeo: {}", text(&out.stderr));
    let raw = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw"])
        .arg(format!("docker://{repo}:v1"))
        .output()
        .expect("skopeo")
        .stdout;
    let digest = format!("sha256:{}", sha256_hex(&raw));
    let image = format!("registry:{repo}:v1");
    let by_digest = format!("{repo}@{digest}");

    // A first entry, so that no bundle below holds a proof in a one-leaf
    // tree: sigstore-go refuses an inclusion proof without hashes ("nil
    // value in transaction log entry"), which only a one-leaf tree has.
    let first = w.join("first.json");
    std::fs::write(&first, br#"{"first":true}"#).unwrap();
    ok(&attest(
        &image,
        &first,
        &[
            "--no-referrer",
            "--bundle",
            w.join("first.sigstore.json").to_str().unwrap(),
            "--rekor-url",
            &log.url(),
            "--rekor-key",
            &log_key_arg,
        ],
    ));
    // cosign attests through the test log.
    let cosign_type = "https://example.com/cosign-made/v1";
    let cosign_pred = w.join("cosign-pred.json");
    std::fs::write(&cosign_pred, br#"{"from":"cosign"}"#).unwrap();
    let out = cosign(
        &cosign_path,
        &home,
        &[
            "attest",
            "--new-bundle-format",
            "--allow-http-registry",
            "--rekor-url",
            &log.url(),
            "--type",
            cosign_type,
            "--predicate",
            cosign_pred.to_str().unwrap(),
            "--key",
            key("cosign.key").to_str().unwrap(),
            &by_digest,
        ],
    );
    assert!(
        out.status.success(),
        "cosign attest --rekor-url <test log>: {}",
        text(&out.stderr)
    );
    assert_eq!(
        log.size(),
        2,
        "cosign logged its attestation in the test log"
    );

    let predicate = w.join("predicate.json");
    std::fs::write(&predicate, br#"{"reviewed":true}"#).unwrap();
    let r: Value = serde_json::from_str(&ok(&attest(
        &image,
        &predicate,
        &["--rekor-url", &log.url(), "--rekor-key", &log_key_arg],
    )))
    .unwrap();
    assert_eq!(r["subject"]["digest"], digest.as_str());
    assert_eq!(r["tlog"]["logIndex"], 2);
    assert_eq!(log.size(), 3);

    // cosign finds both bundle referrers and verifies each, log included.
    let verify_args = |type_: &str| {
        vec![
            "verify-attestation".to_string(),
            "--new-bundle-format".into(),
            "--allow-http-registry".into(),
            "--trusted-root".into(),
            root.display().to_string(),
            "--type".into(),
            type_.into(),
            "--key".into(),
            key("cosign.pub").display().to_string(),
            by_digest.clone(),
        ]
    };
    for type_ in ["custom", cosign_type] {
        let args = verify_args(type_);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = cosign(&cosign_path, &home, &args);
        assert!(
            out.status.success(),
            "cosign verify-attestation --type {type_} (tlog on): {}{}",
            text(&out.stderr),
            text(&out.stdout)
        );
        println!(
            "cosign verify-attestation --type {type_}: {}",
            text(&out.stderr).trim()
        );
    }
    // With another log in the trusted root cosign refuses ours.
    let mut other_root = trusted_root(&log);
    let other_der = pem_der(&std::fs::read_to_string(key("p256.pub.pem")).unwrap());
    other_root["tlogs"][0]["publicKey"]["rawBytes"] = json!(b64_encode(&other_der));
    other_root["tlogs"][0]["logId"]["keyId"] =
        json!(b64_encode(&hex::decode(sha256_hex(&other_der)).unwrap()));
    std::fs::write(&root, other_root.to_string()).unwrap();
    let args = verify_args("custom");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = cosign(&cosign_path, &home, &args);
    assert!(!out.status.success(), "cosign accepted an untrusted log");
    println!(
        "cosign verify-attestation, another log trusted: {}",
        text(&out.stderr).trim()
    );

    // stella verifies cosign's entry and its own.
    let (code, report) = verify(
        &image,
        &["cosign.pub"],
        &["--rekor-key", &log_key_arg, "--require-tlog"],
    );
    assert_eq!(code, 0, "{report:#}");
    let list = report["attestations"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{report:#}");
    let mut indexes: Vec<i64> = Vec::new();
    for a in list {
        assert_eq!(a["origin"], "bundle-referrer", "{report:#}");
        assert_eq!(a["verdict"], "verified", "{report:#}");
        assert_eq!(a["tlog"]["status"], "verified", "{report:#}");
        indexes.push(a["tlog"]["logIndex"].as_i64().unwrap());
    }
    indexes.sort();
    assert_eq!(indexes, vec![1, 2]);
    // Pinning another log's key rejects both.
    let other = key_arg("p256.pub.pem");
    let (code, report) = verify(&image, &["cosign.pub"], &["--rekor-key", &other]);
    assert_eq!(code, 4, "{report:#}");
}

/// cosign's tag layout: `--cosign-compat --rekor-url` puts the entry in the
/// `.att` layer's `dev.sigstore.cosign/bundle` annotation (SET, no proof),
/// which `cosign verify-attestation` checks offline with the log key
/// (SIGSTORE_REKOR_PUBLIC_KEY) when tlog verification is on; and stella
/// verifies what `cosign attest --rekor-url` put there.
#[test]
fn cosign_tag_layers_carry_the_log_promise() {
    let Some(cosign_path) = cosign_bin() else {
        return;
    };
    let log = TestLog::start(TestLogOptions::default()).expect("test log");
    let registry = Distribution::start(None);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let home = w.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let log_key = w.join("log.pub");
    std::fs::write(&log_key, log.public_key_pem()).unwrap();
    let log_key_arg = log_key.display().to_string();

    let repo = format!("{}/stella/tlog-att", registry.addr);
    let layout = w.join("one");
    image_layout(&layout, "att");
    let out = Command::new("skopeo")
        .args(["copy", "--quiet", "--dest-tls-verify=false"])
        .arg(format!("oci:{}", layout.display()))
        .arg(format!("docker://{repo}:v1"))
        .output()
        .expect("skopeo");
    assert!(out.status.success(), "skopeo: {}", text(&out.stderr));
    let raw = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw"])
        .arg(format!("docker://{repo}:v1"))
        .output()
        .expect("skopeo")
        .stdout;
    let digest = format!("sha256:{}", sha256_hex(&raw));
    let image = format!("registry:{repo}:v1");
    let by_digest = format!("{repo}@{digest}");

    let predicate = w.join("predicate.json");
    std::fs::write(&predicate, br#"{"reviewed":true}"#).unwrap();
    let r: Value = serde_json::from_str(&ok(&attest(
        &image,
        &predicate,
        &[
            "--cosign-compat",
            "--no-referrer",
            "--bundle",
            w.join("b.json").to_str().unwrap(),
            "--rekor-url",
            &log.url(),
            "--rekor-key",
            &log_key_arg,
        ],
    )))
    .unwrap();
    assert_eq!(r["cosignTag"]["layers"], 1);

    // cosign (old format, tlog on) verifies the SET with the test log's key.
    let cosign_verify = |type_: &str, rekor_pub: &Path| {
        Command::new(&cosign_path)
            .args([
                "verify-attestation",
                "--allow-http-registry",
                "--offline",
                "--type",
                type_,
                "--key",
            ])
            .arg(key("cosign.pub"))
            .arg(&by_digest)
            .current_dir(&home)
            .env("COSIGN_PASSWORD", PASSWORD)
            .env("HOME", &home)
            .env("DOCKER_CONFIG", &home)
            .env("TUF_ROOT", home.join("tuf"))
            .env("SIGSTORE_REKOR_PUBLIC_KEY", rekor_pub)
            .output()
            .expect("cosign")
    };
    let out = cosign_verify("custom", &log_key);
    assert!(
        out.status.success(),
        "cosign verify-attestation (tlog on) rejects our .att layer: {}",
        text(&out.stderr)
    );
    println!(
        "cosign verify-attestation on our .att layer: {}",
        text(&out.stderr).trim()
    );
    let out = cosign_verify("custom", &key("p256.pub.pem"));
    assert!(!out.status.success(), "cosign accepted another log's key");
    println!(
        "cosign verify-attestation, another log key: {}",
        text(&out.stderr).trim()
    );

    // cosign attest (old format) through the test log: stella checks the
    // promise it stored.
    let cosign_pred = w.join("cosign-pred.json");
    std::fs::write(&cosign_pred, br#"{"from":"cosign"}"#).unwrap();
    let out = Command::new(&cosign_path)
        .args([
            "attest",
            "--allow-http-registry",
            "--rekor-url",
            &log.url(),
            "--type",
            "https://example.com/cosign-made/v1",
            "--predicate",
        ])
        .arg(&cosign_pred)
        .arg("--key")
        .arg(key("cosign.key"))
        .arg(&by_digest)
        .current_dir(&home)
        .env("COSIGN_PASSWORD", PASSWORD)
        .env("COSIGN_YES", "true")
        .env("HOME", &home)
        .env("DOCKER_CONFIG", &home)
        .env("TUF_ROOT", home.join("tuf"))
        .env("SIGSTORE_REKOR_PUBLIC_KEY", &log_key)
        .output()
        .expect("cosign");
    assert!(
        out.status.success(),
        "cosign attest --rekor-url: {}",
        text(&out.stderr)
    );
    assert_eq!(log.size(), 2);
    let (code, report) = verify(
        &image,
        &["cosign.pub"],
        &["--rekor-key", &log_key_arg, "--require-tlog"],
    );
    assert_eq!(code, 0, "{report:#}");
    let list = report["attestations"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{report:#}");
    for a in list {
        assert_eq!(a["origin"], "cosign-tag", "{report:#}");
        assert_eq!(a["tlog"]["status"], "verified", "{report:#}");
        assert_eq!(a["tlog"]["inclusionVerified"], false, "{report:#}");
    }
    let out = cosign_verify("https://example.com/cosign-made/v1", &log_key);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // Another log's key: both promises are rejected.
    let other = key_arg("p256.pub.pem");
    let (code, report) = verify(&image, &["cosign.pub"], &["--rekor-key", &other]);
    assert_eq!(code, 4, "{report:#}");
    for a in report["attestations"].as_array().unwrap() {
        assert_eq!(a["code"], "tlog-rejected", "{report:#}");
        assert_eq!(a["tlog"]["check"], "unknown-log", "{report:#}");
    }
}

/// A log with an Ed25519 key (its checkpoint key hash is the Go note
/// format's, over the signer name): known only by its key, it still
/// verifies; another key's log does not.
#[test]
fn an_ed25519_log_known_only_by_its_key() {
    use stella_testkit::rfc6962_log::TestLogKeyType;
    let log = TestLog::start(TestLogOptions {
        key: TestLogKeyType::Ed25519,
        ..Default::default()
    })
    .expect("test log");
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let dir = w.join("image");
    image_layout(&dir, "ed25519");
    let image = format!("oci-dir:{}", dir.display());
    let log_key = w.join("log.pub");
    std::fs::write(&log_key, log.public_key_pem()).unwrap();
    let log_key_arg = log_key.display().to_string();
    let predicate = w.join("predicate.json");
    std::fs::write(&predicate, br#"{"ed25519":true}"#).unwrap();
    let r: Value = serde_json::from_str(&ok(&attest(
        &image,
        &predicate,
        &["--rekor-url", &log.url(), "--rekor-key", &log_key_arg],
    )))
    .unwrap();
    assert_eq!(r["tlog"]["logId"], log.log_id_hex());
    let (code, report) = verify(
        &image,
        &["cosign.pub"],
        &["--rekor-key", &log_key_arg, "--require-tlog"],
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["attestations"][0]["tlog"]["status"], "verified");
    let other = key_arg("ed25519.pub.pem");
    let (code, report) = verify(&image, &["cosign.pub"], &["--rekor-key", &other]);
    assert_eq!(code, 4, "{report:#}");
    assert_eq!(report["attestations"][0]["tlog"]["check"], "unknown-log");
}

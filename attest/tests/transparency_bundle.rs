//! Log entries in Sigstore bundles, as `stella attest --rekor-url` writes
//! them and `stella verify --rekor-key` reads them.
//!
//! Oracles: real bundles written by Sigstore clients for the public-good
//! and staging Rekor (fixtures/transparency/SOURCE.md): our writer must
//! give back exactly the `tlogEntries[]` JSON they hold; their entries must
//! verify with only the log's key (no checkpoint name given), and bind to
//! the DSSE envelope the npm bundle carries, not to a changed one.

use base64::Engine as _;
use serde_json::Value;
use stella_attest::bundle::Bundle;
use stella_attest::dsse::Envelope;
use stella_attest::transparency::{
    checkpoint::CheckpointError, BindingError, EntryVerifyError, EnvelopeEntryError, LogEntry,
    LogKey, TrustedLog,
};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/transparency")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn key(name: &str) -> LogKey {
    LogKey::from_spki_pem(&String::from_utf8(fixture(name)).unwrap()).unwrap()
}

fn bundle(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

const FIXTURES: [(&str, &str); 3] = [
    (
        "prod-hashedrekord.bundle-v0.2.json",
        "rekor.sigstore.dev.pub",
    ),
    ("prod-intoto.bundle-v0.2.json", "rekor.sigstore.dev.pub"),
    (
        "staging-hashedrekord.bundle-v0.3.json",
        "rekor.sigstage.dev.pub",
    ),
];

#[test]
fn written_entries_are_what_sigstore_clients_write() {
    for (name, _) in FIXTURES {
        let b = bundle(name);
        let original = &b["verificationMaterial"]["tlogEntries"][0];
        let entry = LogEntry::from_bundle_tlog_entry(original).unwrap();
        assert_eq!(&entry.to_bundle_tlog_entry(), original, "{name}");
        // Without the declared kindVersion it is taken from the body.
        let mut no_kind = entry.clone();
        no_kind.kind_version = None;
        assert_eq!(&no_kind.to_bundle_tlog_entry(), original, "{name}");
    }
}

#[test]
fn real_entries_verify_with_the_log_key_alone() {
    for (name, key_file) in FIXTURES {
        let b = bundle(name);
        let entry =
            LogEntry::from_bundle_tlog_entry(&b["verificationMaterial"]["tlogEntries"][0]).unwrap();
        let mut log = TrustedLog::for_key(key(key_file));
        log.require_set = true;
        let verified = entry.verify(&log).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(verified.set_verified);
    }
    // Another log's checkpoint (same shape, other key) is not accepted: the
    // staging checkpoint in the production entry.
    let mut prod =
        bundle("prod-intoto.bundle-v0.2.json")["verificationMaterial"]["tlogEntries"][0].clone();
    let staging = bundle("staging-hashedrekord.bundle-v0.3.json");
    prod["inclusionProof"]["checkpoint"] =
        staging["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"].clone();
    let entry = LogEntry::from_bundle_tlog_entry(&prod).unwrap();
    let err = entry
        .verify(&TrustedLog::for_key(key("rekor.sigstore.dev.pub")))
        .unwrap_err();
    assert!(
        matches!(
            err,
            EntryVerifyError::Checkpoint(CheckpointError::NoSignatureFromKey { .. })
        ),
        "{err}"
    );
}

#[test]
fn the_npm_entry_binds_to_its_envelope_only() {
    let b = bundle("prod-intoto.bundle-v0.2.json");
    let envelope = Envelope::from_wire_value(b["dsseEnvelope"].clone()).unwrap();
    let entry =
        LogEntry::from_bundle_tlog_entry(&b["verificationMaterial"]["tlogEntries"][0]).unwrap();
    let log = TrustedLog::for_key(key("rekor.sigstore.dev.pub"));
    let verified = entry.verify_for_envelope(&log, &envelope).unwrap();
    assert_eq!(verified.log_index, 168704762);

    let mut changed = envelope.clone();
    changed.payload.push(b' ');
    let err = entry.verify_for_envelope(&log, &changed).unwrap_err();
    assert!(
        matches!(
            err,
            EnvelopeEntryError::Binding(BindingError::PayloadHashMismatch { .. })
        ),
        "{err}"
    );
    assert_eq!(err.code(), "other-envelope");

    let mut resigned = envelope.clone();
    resigned.signatures[0].sig[10] ^= 1;
    let err = entry.verify_for_envelope(&log, &resigned).unwrap_err();
    assert_eq!(
        err,
        EnvelopeEntryError::Binding(BindingError::SignatureNotInLog)
    );

    // A flipped SET is named as such.
    let mut e = b["verificationMaterial"]["tlogEntries"][0].clone();
    let set = e["inclusionPromise"]["signedEntryTimestamp"]
        .as_str()
        .unwrap()
        .to_string();
    let mut raw = B64.decode(set).unwrap();
    raw[20] ^= 1;
    e["inclusionPromise"]["signedEntryTimestamp"] = Value::String(B64.encode(raw));
    let err = LogEntry::from_bundle_tlog_entry(&e)
        .unwrap()
        .verify_for_envelope(&log, &envelope)
        .unwrap_err();
    assert_eq!(err.code(), "set-signature", "{err}");
}

#[test]
fn a_stella_bundle_keeps_its_entries() {
    let b = bundle("prod-intoto.bundle-v0.2.json");
    let envelope = Envelope::from_wire_value(b["dsseEnvelope"].clone()).unwrap();
    let original = b["verificationMaterial"]["tlogEntries"][0].clone();
    let entry = LogEntry::from_bundle_tlog_entry(&original).unwrap();
    let mut ours = Bundle::new(envelope, "hint");
    ours.tlog_entries.push(entry.to_bundle_tlog_entry());
    let json = ours.to_json();
    let back = Bundle::from_json(&json).unwrap();
    assert_eq!(back.tlog_entries, vec![original]);
    assert_eq!(
        LogEntry::parse_bundle_tlog_entries(&json).unwrap(),
        vec![entry]
    );
}

#[test]
fn a_promise_alone_is_checked_in_cosigns_annotation_format() {
    let b = bundle("prod-intoto.bundle-v0.2.json");
    let envelope = Envelope::from_wire_value(b["dsseEnvelope"].clone()).unwrap();
    let entry =
        LogEntry::from_bundle_tlog_entry(&b["verificationMaterial"]["tlogEntries"][0]).unwrap();
    let log = TrustedLog::for_key(key("rekor.sigstore.dev.pub"));
    // Through cosign's `.att` annotation shape and back: no proof travels.
    let annotation = entry.to_cosign_bundle_annotation();
    let promised = LogEntry::from_cosign_bundle_annotation(annotation.as_bytes()).unwrap();
    assert!(promised.inclusion_proof.is_none());
    assert_eq!(promised.body, entry.body);
    let verified = promised
        .verify_promise_for_envelope(&log, &envelope)
        .unwrap();
    assert!(verified.set_verified && !verified.inclusion_verified);
    // The full check needs the proof it does not have.
    assert_eq!(
        promised.verify(&log).unwrap_err(),
        EntryVerifyError::NoInclusionProof
    );
    // A changed integrated time breaks the SET.
    let mut v: Value = serde_json::from_str(&annotation).unwrap();
    v["Payload"]["integratedTime"] = Value::from(1738701348_i64);
    let changed = LogEntry::from_cosign_bundle_annotation(v.to_string().as_bytes()).unwrap();
    let err = changed
        .verify_promise_for_envelope(&log, &envelope)
        .unwrap_err();
    assert_eq!(err.code(), "set-signature", "{err}");
    // Staging's key does not vouch for a production entry.
    let staging = TrustedLog::for_key(key("rekor.sigstage.dev.pub"));
    let err = promised
        .verify_promise_for_envelope(&staging, &envelope)
        .unwrap_err();
    assert_eq!(err.code(), "unknown-log", "{err}");
}

//! Attestation documents from untrusted bytes: DSSE envelopes, in-toto
//! statements, Sigstore bundles, Rekor log entries (REST answers, bundle
//! `tlogEntries`, cosign's `.att` bundle annotation) and signed checkpoints.
//! Errors are fine; panics and hangs are not. What parses is also verified
//! (against fixed test keys), so the verification paths meet hostile input
//! too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stella_attest::keys::VerifyingKey;
use stella_attest::transparency::checkpoint::SignedNote;
use stella_attest::transparency::entry::LogEntry;
use stella_attest::transparency::{LogKey, TrustedLog};
use stella_attest::{bundle, dsse, sign, statement};

const SIGNER: &[u8] = include_bytes!("../../attest/tests/fixtures/signing/p256.pub.pem");
const REKOR: &str = include_str!("../../attest/tests/fixtures/transparency/rekor.sigstore.dev.pub");

fuzz_target!(|data: &[u8]| {
    let keys: Vec<VerifyingKey> = VerifyingKey::from_pem(SIGNER).into_iter().collect();
    if let Ok(envelope) = dsse::Envelope::from_json(data) {
        let _ = sign::verify(&envelope, &keys);
    }
    let _ = statement::Statement::from_json(data);
    let _ = bundle::Bundle::from_json(data);
    let log = LogKey::from_spki_pem(REKOR)
        .ok()
        .map(|key| TrustedLog::new(key, "rekor.sigstore.dev"));
    for entries in [
        LogEntry::parse_rekor_response(data),
        LogEntry::parse_bundle_tlog_entries(data),
    ] {
        if let (Ok(entries), Some(log)) = (entries, &log) {
            for entry in entries {
                let _ = entry.verify(log);
            }
        }
    }
    // cosign's `dev.sigstore.cosign/bundle` layer annotation (SET only),
    // and what it round-trips to.
    if let Ok(entry) = LogEntry::from_cosign_bundle_annotation(data) {
        if let Some(log) = &log {
            let _ = entry.verify_promise(log);
        }
        let _ =
            LogEntry::from_cosign_bundle_annotation(entry.to_cosign_bundle_annotation().as_bytes());
        let _ = entry.to_bundle_tlog_entry();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = SignedNote::parse(text);
    }
});

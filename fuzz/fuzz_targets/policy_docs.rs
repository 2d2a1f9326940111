//! The policy engine's documents from untrusted bytes: stella-policy@1 YAML,
//! OpenVEX / CycloneDX VEX JSON and RFC 3339 times. Errors are fine; panics
//! and hangs are not. A VEX document that parses must apply to a finding
//! without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stella_policy::{rules, time, vex};

fuzz_target!(|data: &[u8]| {
    let _ = rules::parse(data);
    if let Ok(doc) = vex::parse(data) {
        assert_eq!(doc.digest, stella_model::Digest::sha256_of(data));
        let _ = vex::apply(&mut [], &[doc], None);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = time::parse_instant(text);
        let _ = rules::Timestamp::parse(text);
    }
});

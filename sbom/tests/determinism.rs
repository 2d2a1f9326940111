//! Same inventory + options → same bytes; identifiers derived, not random.

mod common;

use stella_model::{Digest, ImageInfo};
use stella_sbom::{cyclonedx_json, spdx_json, SbomError, SbomOptions};

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}

#[test]
fn same_input_gives_identical_bytes() {
    for (name, inv) in common::all() {
        let opts = common::opts();
        // A fresh clone each time: nothing may depend on addresses or caches.
        let a = cyclonedx_json(&inv.clone(), &opts).expect("cdx");
        let b = cyclonedx_json(&inv.clone(), &opts).expect("cdx");
        assert_eq!(a, b, "{name}: CycloneDX not deterministic");
        let a = spdx_json(&inv.clone(), &opts).expect("spdx");
        let b = spdx_json(&inv.clone(), &opts).expect("spdx");
        assert_eq!(a, b, "{name}: SPDX not deterministic");
    }
}

#[test]
fn output_is_pretty_with_trailing_newline() {
    let inv = common::debian();
    for bytes in [
        cyclonedx_json(&inv, &common::opts()).expect("cdx"),
        spdx_json(&inv, &common::opts()).expect("spdx"),
    ] {
        let text = String::from_utf8(bytes).expect("utf-8");
        assert!(text.ends_with("}\n") && !text.ends_with("\n\n"));
        assert!(text.starts_with("{\n  \""), "2-space indent");
    }
}

#[test]
fn timestamp_and_version_are_the_callers() {
    let inv = common::alpine();
    let mut opts = common::opts();
    let a = json(&cyclonedx_json(&inv, &opts).expect("cdx"));
    assert_eq!(a["metadata"]["timestamp"], "2024-05-01T12:00:00Z");
    let s = json(&spdx_json(&inv, &opts).expect("spdx"));
    assert_eq!(s["creationInfo"]["created"], "2024-05-01T12:00:00Z");
    assert_eq!(s["creationInfo"]["creators"][0], "Tool: stella-0.1.0");

    // A new tool version is a new document identity.
    opts.tool_version = "0.2.0".into();
    let b = json(&cyclonedx_json(&inv, &opts).expect("cdx"));
    assert_ne!(a["serialNumber"], b["serialNumber"]);

    opts.timestamp = "2024-05-01T12:00:00.5Z".into();
    assert!(matches!(
        cyclonedx_json(&inv, &opts),
        Err(SbomError::BadTimestamp(_))
    ));
    opts.timestamp = "2024-05-01T12:00:00Z".into();
    opts.tool_version = " ".into();
    assert!(matches!(
        spdx_json(&inv, &opts),
        Err(SbomError::EmptyToolVersion)
    ));
}

/// Expected values were computed independently with Python:
/// `uuid.uuid5(uuid.UUID('29a21186-cb76-42ca-b3e7-617b86b52952'), NAME)` for
/// NAME = `dir:/rootfs|stella|1.2.3` and
/// `sha256:e3b0c442…b855|stella|1.2.3` (sha256 of the empty string).
#[test]
fn serial_number_is_uuid5_of_identity() {
    let opts = SbomOptions {
        tool_version: "1.2.3".into(),
        timestamp: "2024-05-01T12:00:00Z".into(),
    };
    let mut inv = common::empty();
    inv.image = ImageInfo {
        source: "dir:/rootfs".into(),
        ..ImageInfo::default()
    };
    let doc = json(&cyclonedx_json(&inv, &opts).expect("cdx"));
    assert_eq!(
        doc["serialNumber"],
        "urn:uuid:fc6f33df-cead-5f4c-bc8f-ff7c5d908651"
    );
    let spdx = json(&spdx_json(&inv, &opts).expect("spdx"));
    assert_eq!(
        spdx["documentNamespace"],
        "https://stella-ops.org/spdx/dir/fc6f33df-cead-5f4c-bc8f-ff7c5d908651"
    );

    // With a digest the source no longer matters; the config digest stands
    // in when there is no manifest digest.
    inv.image.source = "docker-archive:x.tar".into();
    inv.image.config_digest = Some(Digest::sha256_of(b""));
    let doc = json(&cyclonedx_json(&inv, &opts).expect("cdx"));
    assert_eq!(
        doc["serialNumber"],
        "urn:uuid:28affdeb-143b-5130-9338-a15d81a92d9f"
    );
    inv.image.name = Some("example.com/app:1.0".into());
    let spdx = json(&spdx_json(&inv, &opts).expect("spdx"));
    assert_eq!(
        spdx["documentNamespace"],
        "https://stella-ops.org/spdx/example.com/app:1.0/sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn inventory_order_of_components_is_respected() {
    // The engine sorts; the writers keep that order (OS first in CycloneDX).
    let inv = common::debian();
    let doc = json(&cyclonedx_json(&inv, &common::opts()).expect("cdx"));
    let names: Vec<String> = doc["components"]
        .as_array()
        .expect("components")
        .iter()
        .skip(1)
        .map(|c| c["name"].as_str().unwrap_or_default().to_string())
        .collect();
    let expected: Vec<String> = inv.components.iter().map(|c| c.name.clone()).collect();
    assert_eq!(names, expected);
}

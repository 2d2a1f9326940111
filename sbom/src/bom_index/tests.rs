use std::collections::BTreeMap;

use stella_model::{
    Component, ComponentKind, Digest, EntryTrace, ImageInfo, Inventory, LayerInfo, Purl, ToolInfo,
    INVENTORY_SCHEMA, PROP_USAGE,
};

use super::*;

fn digest(seed: &str) -> Digest {
    Digest::sha256_of(seed.as_bytes())
}

fn layer(i: u32, blob: bool) -> LayerInfo {
    LayerInfo {
        index: i,
        digest: blob.then(|| digest(&format!("blob{i}"))),
        diff_id: Some(digest(&format!("diff{i}"))),
        media_type: None,
        size: 1,
        created_by: None,
    }
}

fn pkg(kind: ComponentKind, ns: &str, name: &str, version: &str, layer: Option<u32>) -> Component {
    let mut c = Component::new(kind, name, version);
    c.purl = Some(
        Purl::new(kind.as_str(), name)
            .with_namespace(ns)
            .with_version(version),
    );
    c.layer = layer;
    c
}

fn inventory() -> Inventory {
    let mut used = pkg(ComponentKind::Deb, "debian", "libc6", "2.36-9", Some(0));
    used.properties.insert(PROP_USAGE.into(), "true".into());
    let mut nameless = Component::new(ComponentKind::Rpm, "weird pkg", "1.0");
    nameless.arch = Some("x86_64".into());
    nameless.layer = Some(1);
    let mut twice_a = pkg(ComponentKind::Npm, "", "ms", "2.1.3", Some(2));
    twice_a.evidence = vec!["app/node_modules/ms/package.json".into()];
    let mut twice_b = pkg(ComponentKind::Npm, "", "ms", "2.1.3", Some(1));
    twice_b.evidence = vec!["usr/lib/node_modules/ms/package.json".into()];
    Inventory {
        schema: INVENTORY_SCHEMA,
        tool: ToolInfo {
            name: "stella".into(),
            version: "0.1.0".into(),
        },
        image: ImageInfo {
            source: "oci-dir:x".into(),
            manifest_digest: Some(digest("manifest")),
            ..ImageInfo::default()
        },
        distro: None,
        // Layer 2 has no blob digest: its diffID stands in.
        layers: vec![layer(0, true), layer(1, true), layer(2, false)],
        components: vec![
            used,
            pkg(ComponentKind::Npm, "@angular", "core", "16.2.0", Some(2)),
            nameless,
            twice_a,
            twice_b,
            pkg(ComponentKind::Pypi, "", "requests", "2.31.0", None),
        ],
        entry_trace: Some(EntryTrace {
            argv: vec!["/bin/sh".into(), "-c".into(), "exec app".into()],
            ..EntryTrace::default()
        }),
        warnings: Vec::new(),
    }
}

fn values(b: Bitmap<'_>) -> Vec<u32> {
    let v: Vec<u32> = b.iter().collect();
    assert_eq!(
        v,
        b.to_roaring().iter().collect::<Vec<_>>(),
        "iterator and crate agree"
    );
    v
}

#[test]
fn builds_by_the_documented_rules() {
    let idx = BomIndex::from_inventory(&inventory(), 1_700_000_000_000_000).unwrap();
    assert_eq!(idx.image_digest(), digest("manifest").to_string());
    assert_eq!(
        idx.layers(),
        [
            digest("blob0").to_string(),
            digest("blob1").to_string(),
            digest("diff2").to_string()
        ]
    );
    let ids: Vec<&str> = idx.components().map(|c| c.identity()).collect();
    assert_eq!(
        ids,
        [
            "nopurl:rpm/weird%20pkg@1.0?arch=x86_64",
            "pkg:deb/debian/libc6@2.36-9",
            "pkg:npm/%40angular/core@16.2.0",
            "pkg:npm/ms@2.1.3",
            "pkg:pypi/requests@2.31.0",
        ]
    );
    let layers = |id: &str| values(idx.component(id).unwrap().layers());
    assert_eq!(layers("pkg:deb/debian/libc6@2.36-9"), [0, 1, 2]);
    assert_eq!(layers("nopurl:rpm/weird%20pkg@1.0?arch=x86_64"), [1, 2]);
    assert_eq!(layers("pkg:npm/%40angular/core@16.2.0"), [2]);
    // Installed twice, from layers 1 and 2: the union.
    assert_eq!(layers("pkg:npm/ms@2.1.3"), [1, 2]);
    // Not attributed to a layer.
    assert!(layers("pkg:pypi/requests@2.31.0").is_empty());
    assert_eq!(
        idx.entrypoints().unwrap(),
        [r#"["/bin/sh","-c","exec app"]"#]
    );
    let eps = |id: &str| values(idx.component(id).unwrap().entrypoints());
    assert_eq!(eps("pkg:deb/debian/libc6@2.36-9"), [0]);
    assert!(eps("pkg:npm/ms@2.1.3").is_empty());
}

#[test]
fn round_trips_and_is_deterministic() {
    let inv = inventory();
    let idx = BomIndex::from_inventory(&inv, -5).unwrap();
    let bytes = idx.to_bytes();
    assert_eq!(BomIndex::from_bytes(&bytes).unwrap(), idx);
    assert_eq!(idx.component_count(), 5);
    // Component order in the inventory does not matter.
    let mut reversed = inv.clone();
    reversed.components.reverse();
    assert_eq!(
        BomIndex::from_inventory(&reversed, -5).unwrap().to_bytes(),
        bytes
    );
    // Without an entry trace there is no entrypoint section.
    let mut plain = inv;
    plain.entry_trace = None;
    let plain = BomIndex::from_inventory(&plain, 0).unwrap();
    let plain_bytes = plain.to_bytes();
    assert_eq!(u16::from_le_bytes([plain_bytes[9], plain_bytes[10]]), 0);
    assert_eq!(BomIndex::from_bytes(&plain_bytes).unwrap(), plain);
    assert!(plain.entrypoints().is_none());
}

#[test]
fn rejects_layers_past_the_table() {
    let mut inv = inventory();
    inv.components[0].layer = Some(3);
    assert!(matches!(
        BomIndex::from_inventory(&inv, 0),
        Err(BomIndexError::LayerOutOfRange {
            layer: 3,
            layers: 3,
            ..
        })
    ));
}

/// Assembles an index byte by byte from the spec, independently of the writer.
#[derive(Default)]
struct Bytes(Vec<u8>);

impl Bytes {
    fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    fn u16(self, v: u16) -> Self {
        self.raw(&v.to_le_bytes())
    }
    fn u32(self, v: u32) -> Self {
        self.raw(&v.to_le_bytes())
    }
    fn i64(self, v: i64) -> Self {
        self.raw(&v.to_le_bytes())
    }
    fn str(self, s: &str) -> Self {
        self.u16(s.len() as u16).raw(s.as_bytes())
    }
    /// A run-less portable bitmap of values below 65536, by hand.
    fn bitmap(self, values: &[u16]) -> Self {
        let body = if values.is_empty() {
            Bytes::default().u32(12346).u32(0)
        } else {
            let mut b = Bytes::default()
                .u32(12346)
                .u32(1)
                .u16(0)
                .u16(values.len() as u16 - 1)
                .u32(16);
            for v in values {
                b = b.u16(*v);
            }
            b
        };
        self.u32(body.0.len() as u32).raw(&body.0)
    }
    fn header(self, flags: u16, layers: u32, components: u32, entrypoints: u32) -> Self {
        self.raw(b"BOMIDX1")
            .u16(1)
            .u16(flags)
            .str("sha256:abc")
            .i64(42)
            .u32(layers)
            .u32(components)
            .u32(entrypoints)
    }
}

/// Two layers, two components, one entrypoint.
fn valid() -> Bytes {
    Bytes::default()
        .header(1, 2, 2, 1)
        .str("sha256:l0")
        .str("sha256:l1")
        .str("pkg:npm/a@1")
        .str("pkg:npm/b@2")
        .bitmap(&[0, 1])
        .bitmap(&[1])
        .str("[\"/app\"]")
        .bitmap(&[0])
        .bitmap(&[])
}

#[test]
fn reads_a_hand_assembled_index() {
    let idx = BomIndex::from_bytes(&valid().0).unwrap();
    assert_eq!(idx.image_digest(), "sha256:abc");
    assert_eq!(idx.generated_at_us(), 42);
    assert_eq!(idx.layers(), ["sha256:l0", "sha256:l1"]);
    assert_eq!(
        values(idx.component("pkg:npm/a@1").unwrap().layers()),
        [0, 1]
    );
    assert_eq!(values(idx.component("pkg:npm/b@2").unwrap().layers()), [1]);
    assert_eq!(
        values(idx.component("pkg:npm/a@1").unwrap().entrypoints()),
        [0]
    );
    assert_eq!(idx.entrypoints().unwrap(), ["[\"/app\"]"]);
    assert_eq!(idx.as_bytes(), valid().0);
}

#[test]
fn every_truncation_is_a_typed_error() {
    let full = valid().0;
    for cut in 0..full.len() {
        let err = BomIndex::from_bytes(&full[..cut]).unwrap_err();
        assert!(
            matches!(
                err,
                BomIndexError::Truncated { .. }
                    | BomIndexError::BadMagic
                    | BomIndexError::CountTooLarge { .. }
            ),
            "cut {cut}: {err}"
        );
    }
}

fn err(bytes: Bytes) -> BomIndexError {
    BomIndex::from_bytes(&bytes.0).unwrap_err()
}

#[test]
fn names_what_is_wrong() {
    assert_eq!(
        err(Bytes::default().raw(b"BOMIDX2\x01\x00")),
        BomIndexError::BadMagic
    );
    assert_eq!(
        err(Bytes::default().raw(b"BOMIDX1").u16(2)),
        BomIndexError::UnsupportedVersion { version: 2 }
    );
    assert_eq!(
        err(Bytes::default().raw(b"BOMIDX1").u16(1).u16(3)),
        BomIndexError::UnknownFlags { flags: 3 }
    );
    assert_eq!(
        err(Bytes::default().header(0, 0, 0, 1)),
        BomIndexError::EntrypointsWithoutFlag { count: 1 }
    );
    // Huge counts fail before anything is allocated for them.
    for (layers, components, field, offset) in [
        (u32::MAX, 0, "layerCount", 31),
        (0, u32::MAX, "componentCount", 35),
    ] {
        match err(Bytes::default().header(0, layers, components, 0)) {
            BomIndexError::CountTooLarge {
                field: f,
                offset: o,
                ..
            } => {
                assert_eq!((f.as_str(), o), (field, offset));
            }
            other => panic!("{other}"),
        }
    }
    let trailing = err(valid().raw(b"x"));
    assert_eq!(
        trailing,
        BomIndexError::TrailingBytes {
            offset: valid().0.len(),
            count: 1
        }
    );
}

#[test]
fn rejects_bad_tables() {
    let two = |a: &str, b: &str| {
        Bytes::default()
            .header(0, 1, 2, 0)
            .str("l0")
            .str(a)
            .str(b)
            .bitmap(&[0])
            .bitmap(&[0])
    };
    assert!(BomIndex::from_bytes(&two("pkg:a", "pkg:b").0).is_ok());
    match err(two("pkg:b", "pkg:a")) {
        BomIndexError::Unsorted { field, offset, .. } => {
            assert_eq!(field, "component[1] identity");
            // header (43 bytes with the 10-byte digest) + "l0" + "pkg:b"
            assert_eq!(offset, 43 + 4 + 7);
        }
        other => panic!("{other}"),
    }
    assert!(matches!(
        err(two("pkg:a", "pkg:a")),
        BomIndexError::Duplicate { .. }
    ));
    assert!(matches!(
        err(two("", "pkg:a")),
        BomIndexError::EmptyIdentity { .. }
    ));
    // Ordinal (bytewise) order, not locale order: "Z" (0x5A) sorts before "a".
    assert!(BomIndex::from_bytes(&two("pkg:Z", "pkg:a").0).is_ok());
    assert!(matches!(
        err(two("pkg:a", "pkg:Z")),
        BomIndexError::Unsorted { .. }
    ));

    let bad_utf8 = Bytes::default()
        .header(0, 1, 0, 0)
        .u16(2)
        .raw(&[0xff, 0xfe]);
    assert!(matches!(
        err(bad_utf8),
        BomIndexError::NotUtf8 { offset: 45, .. }
    ));

    let out_of_range = Bytes::default()
        .header(0, 2, 1, 0)
        .str("l0")
        .str("l1")
        .str("pkg:a")
        .bitmap(&[0, 2]);
    match err(out_of_range) {
        BomIndexError::BitmapOutOfRange {
            value,
            limit,
            field,
            ..
        } => {
            assert_eq!(
                (value, limit, field.as_str()),
                (2, 2, "component[0] layer bitmap")
            );
        }
        other => panic!("{other}"),
    }
    let ep_out_of_range = Bytes::default()
        .header(1, 1, 1, 1)
        .str("l0")
        .str("pkg:a")
        .bitmap(&[0])
        .str("ep")
        .bitmap(&[1]);
    assert!(matches!(
        err(ep_out_of_range),
        BomIndexError::BitmapOutOfRange { limit: 1, .. }
    ));
    let bad_bitmap = Bytes::default()
        .header(0, 1, 1, 0)
        .str("l0")
        .str("pkg:a")
        .u32(4)
        .u32(99);
    assert!(matches!(err(bad_bitmap), BomIndexError::BadBitmap { .. }));
    let unsorted_eps = Bytes::default()
        .header(1, 1, 1, 2)
        .str("l0")
        .str("pkg:a")
        .bitmap(&[0])
        .str("b")
        .str("a")
        .bitmap(&[]);
    assert!(matches!(err(unsorted_eps), BomIndexError::Unsorted { .. }));
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A cheap deterministic sweep (the fuzz target goes further): flip each
    // byte of a valid index to a few values.
    let full = valid().0;
    for i in 0..full.len() {
        for v in [0u8, 1, 0x7f, 0xff] {
            let mut b = full.clone();
            b[i] = v;
            let _ = BomIndex::from_bytes(&b);
        }
    }
}

fn fleet_image(digest: &str, comps: &[(&str, u32)], layers: u32) -> BomIndex {
    let mut inv = inventory();
    inv.image.manifest_digest = Some(self::digest(digest));
    inv.layers = (0..layers).map(|i| layer(i, true)).collect();
    inv.entry_trace = None;
    inv.components = comps
        .iter()
        .map(|(purl, l)| {
            let mut c = Component::new(ComponentKind::Npm, "x", "1");
            c.purl = None;
            c.layer = Some(*l);
            c.properties = BTreeMap::new();
            c.name = (*purl).to_string();
            c
        })
        .collect();
    // Build with real purls: parse "name@version" into an npm purl.
    for c in &mut inv.components {
        let (name, version) = c.name.split_once('@').unwrap();
        c.purl = Some(Purl::new("npm", name).with_version(version));
    }
    BomIndex::from_inventory(&inv, 0).unwrap()
}

#[test]
fn fleet_answers_exact_and_versionless_queries() {
    let mut fleet = Fleet::new(vec![
        (
            "b".into(),
            fleet_image("b", &[("lodash@4.17.21", 1), ("ms@2.1.3", 0)], 2),
        ),
        (
            "a".into(),
            fleet_image("a", &[("lodash@4.17.20", 0), ("lodash.merge@4.6.2", 0)], 1),
        ),
        ("c".into(), fleet_image("c", &[("ms@2.1.3", 2)], 3)),
    ]);
    assert_eq!(
        fleet
            .images()
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert_eq!(fleet.distinct_identities(), None);
    for with_dictionary in [false, true] {
        if with_dictionary {
            fleet.build_dictionary();
            assert_eq!(fleet.distinct_identities(), Some(4));
        }
        let run = |q: &str| -> Vec<(String, String, Vec<u32>)> {
            let q = PurlQuery::parse(q).unwrap();
            let r = fleet.query(&q);
            r.matches
                .iter()
                .map(|m| {
                    (
                        m.image.name.clone(),
                        m.component.identity().to_string(),
                        m.layers().map(|(i, _)| i).collect(),
                    )
                })
                .collect()
        };
        assert_eq!(
            run("pkg:npm/lodash"),
            [
                ("a".into(), "pkg:npm/lodash@4.17.20".into(), vec![0]),
                ("b".into(), "pkg:npm/lodash@4.17.21".into(), vec![1]),
            ]
        );
        assert_eq!(
            run("pkg:npm/lodash@4.17.21"),
            [("b".into(), "pkg:npm/lodash@4.17.21".into(), vec![1])]
        );
        assert_eq!(
            run("pkg:npm/ms@2.1.3"),
            [
                ("b".into(), "pkg:npm/ms@2.1.3".into(), vec![0, 1]),
                ("c".into(), "pkg:npm/ms@2.1.3".into(), vec![2]),
            ]
        );
        assert!(run("pkg:npm/lodash@1.0.0").is_empty());
        assert!(run("pkg:npm/lod").is_empty());
        let q = PurlQuery::parse("pkg:npm/ms").unwrap();
        let m = fleet.query(&q);
        let digests: Vec<&str> = m.matches[0].layers().map(|(_, d)| d).collect();
        assert_eq!(
            digests,
            [digest("blob0").to_string(), digest("blob1").to_string()]
        );
    }
}

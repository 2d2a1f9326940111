//! Realistic inventories shared by the integration tests.

#![allow(dead_code)]

use std::collections::BTreeMap;

use stella_model::{
    Component, ComponentKind, Digest, Distro, ImageInfo, Inventory, LayerInfo, Purl, SourcePackage,
    ToolInfo, Warning, INVENTORY_SCHEMA,
};
use stella_sbom::SbomOptions;

pub fn opts() -> SbomOptions {
    SbomOptions {
        tool_version: "0.1.0".to_string(),
        timestamp: "2024-05-01T12:00:00Z".to_string(),
    }
}

pub fn digest(seed: &str) -> Digest {
    Digest::sha256_of(seed.as_bytes())
}

fn inventory(image: ImageInfo, distro: Option<Distro>, layers: Vec<LayerInfo>) -> Inventory {
    Inventory {
        schema: INVENTORY_SCHEMA,
        tool: ToolInfo {
            name: "stella".into(),
            version: "0.1.0".into(),
        },
        image,
        distro,
        layers,
        components: Vec::new(),
        entry_trace: None,
        warnings: Vec::new(),
    }
}

fn layers(n: u32) -> Vec<LayerInfo> {
    (0..n)
        .map(|i| LayerInfo {
            index: i,
            digest: Some(digest(&format!("blob{i}"))),
            diff_id: Some(digest(&format!("diff{i}"))),
            media_type: Some("application/vnd.oci.image.layer.v1.tar+gzip".into()),
            size: 1000 + u64::from(i),
            created_by: Some(format!("RUN step {i}")),
        })
        .collect()
}

struct Pkg<'a> {
    kind: ComponentKind,
    name: &'a str,
    version: &'a str,
    arch: Option<&'a str>,
    source: Option<(&'a str, &'a str)>,
    licenses: &'a [&'a str],
    supplier: Option<&'a str>,
    layer: Option<u32>,
    evidence: &'a [&'a str],
    purl: Option<Purl>,
}

fn component(p: Pkg<'_>) -> Component {
    let mut c = Component::new(p.kind, p.name, p.version);
    c.arch = p.arch.map(str::to_string);
    c.source = p.source.map(|(n, v)| SourcePackage {
        name: n.into(),
        version: v.into(),
    });
    c.licenses = p.licenses.iter().map(|s| s.to_string()).collect();
    c.supplier = p.supplier.map(str::to_string);
    c.layer = p.layer;
    c.layer_diff_id = p.layer.map(|i| digest(&format!("diff{i}")));
    c.evidence = p.evidence.iter().map(|s| s.to_string()).collect();
    c.purl = p.purl;
    c
}

fn deb_purl(name: &str, version: &str, arch: &str) -> Purl {
    Purl::new("deb", name)
        .with_namespace("debian")
        .with_version(version)
        .with_qualifier("arch", arch)
        .with_qualifier("distro", "debian-12")
}

const DPKG: &[&str] = &["var/lib/dpkg/status"];

/// A Debian 12 image: epochs, `+` and `~` in versions, source packages,
/// Debian-style license names, a duplicate purl, a component without purl.
pub fn debian() -> Inventory {
    let mut inv = inventory(
        ImageInfo {
            source: "registry:docker.io/library/debian:12".into(),
            name: Some("docker.io/library/debian:12".into()),
            manifest_digest: Some(digest("debian-manifest")),
            config_digest: Some(digest("debian-config")),
            platform: Some("linux/amd64".into()),
            created: Some("2024-04-23T00:00:00Z".into()),
        },
        Some(Distro {
            id: "debian".into(),
            version_id: Some("12".into()),
            version_codename: Some("bookworm".into()),
            pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
            id_like: Vec::new(),
            evidence: "etc/os-release".into(),
        }),
        layers(2),
    );
    let deb = |name, version, source, licenses, layer, supplier| Pkg {
        kind: ComponentKind::Deb,
        name,
        version,
        arch: Some("amd64"),
        source,
        licenses,
        supplier,
        layer: Some(layer),
        evidence: DPKG,
        purl: Some(deb_purl(name, version, "amd64")),
    };
    let mut comps = vec![
        component(deb(
            "libc6",
            "2.36-9+deb12u4",
            Some(("glibc", "2.36-9+deb12u4")),
            &["GPL-2.0-only", "LGPL-2.1-or-later", "GPL-2"],
            0,
            Some("GNU Libc Maintainers <debian-glibc@lists.debian.org>"),
        )),
        component(deb(
            "perl-base",
            "5.36.0-7+deb12u1",
            Some(("perl", "5.36.0-7+deb12u1")),
            &["GPL-1.0-or-later OR Artistic-1.0-Perl"],
            0,
            Some("Niko Tyni <ntyni@debian.org>"),
        )),
        component(deb(
            "libstdc++6",
            "12.2.0-14",
            Some(("gcc-12", "12.2.0-14")),
            &[],
            0,
            None,
        )),
        component(deb(
            "login",
            "1:4.13+dfsg1-1+b1",
            Some(("shadow", "1:4.13+dfsg1-1")),
            &["GPL-2.0-or-later", "BSD-3-clause"],
            0,
            Some("Shadow package maintainers (pkg-shadow)"),
        )),
        component(deb(
            "tzdata",
            "2024a-0+deb12u1",
            None,
            &["public-domain"],
            1,
            None,
        )),
        component(deb(
            "libfoo1",
            "1.0~rc1-1~bpo12+1",
            Some(("foo", "1.0~rc1-1~bpo12+1")),
            &["MIT", "Zlib"],
            1,
            None,
        )),
    ];
    // The same package recorded twice (status and status.d): same purl.
    let mut dup = component(deb(
        "libfoo1",
        "1.0~rc1-1~bpo12+1",
        Some(("foo", "1.0~rc1-1~bpo12+1")),
        &["MIT", "Zlib"],
        1,
        None,
    ));
    dup.evidence = vec!["var/lib/dpkg/status.d/libfoo1".into()];
    comps.push(dup);
    // Installed from a local .deb: no purl, extra properties.
    let mut local = component(Pkg {
        kind: ComponentKind::Deb,
        name: "local tool",
        version: "0.0.1",
        arch: None,
        source: None,
        licenses: &["Proprietary (c) ACME"],
        supplier: Some("ACME"),
        layer: None,
        evidence: DPKG,
        purl: None,
    });
    local.properties = BTreeMap::from([
        (
            "stella:deb:status".to_string(),
            "install ok installed".to_string(),
        ),
        ("stella:package:arch".to_string(), "all".to_string()),
    ]);
    comps.push(local);
    inv.components = comps;
    inv.canonicalize();
    inv
}

/// A RHEL-like image known only by its config digest (docker-archive),
/// with rpm-style license strings.
pub fn rpm() -> Inventory {
    let mut inv = inventory(
        ImageInfo {
            source: "docker-archive:ubi9.tar".into(),
            name: Some("registry.access.redhat.com/ubi9/ubi-minimal:9.4".into()),
            manifest_digest: None,
            config_digest: Some(digest("ubi-config")),
            platform: Some("linux/arm64/v8".into()),
            created: None,
        },
        Some(Distro {
            id: "rhel".into(),
            version_id: Some("9.4".into()),
            version_codename: None,
            pretty_name: Some("Red Hat Enterprise Linux 9.4 (Plow)".into()),
            id_like: vec!["fedora".into()],
            evidence: "/etc/os-release".into(),
        }),
        layers(1),
    );
    let rpm = |name, version, licenses| {
        let purl = Purl::new("rpm", name)
            .with_namespace("redhat")
            .with_version(version)
            .with_qualifier("arch", "aarch64")
            .with_qualifier("distro", "rhel-9.4");
        component(Pkg {
            kind: ComponentKind::Rpm,
            name,
            version,
            arch: Some("aarch64"),
            source: Some((name, version)),
            licenses,
            supplier: Some("Red Hat, Inc."),
            layer: Some(0),
            evidence: &["var/lib/rpm/rpmdb.sqlite"],
            purl: Some(purl),
        })
    };
    inv.components = vec![
        rpm("bash", "5.1.8-9.el9", &["GPLv3+"]),
        rpm(
            "libgcc",
            "11.4.1-3.el9",
            &["GPLv3+ and GPLv3+ with exceptions and GPLv2+ with exceptions and LGPLv2+ and BSD"],
        ),
        rpm("openssl-libs", "1:3.0.7-27.el9", &["ASL 2.0"]),
        rpm("zlib", "1.2.11-40.el9", &["zlib and Boost"]),
        rpm("libxml2", "2.9.13-6.el9_4", &["MIT and BSD"]),
        rpm("kernel-headers", "5.14.0", &["GPLv2+"]),
        rpm("kmod-libs", "28-9.el9", &["GPLv2"]),
        rpm("libcap", "2.48-9.el9_2", &["BSD or GPLv2"]),
        rpm("tzdata", "2024a-1.el9", &["Public Domain"]),
        rpm("rootfiles", "8.1-31.el9", &["Public-Domain"]),
    ];
    inv.canonicalize();
    inv
}

/// An Alpine image from an OCI layout without a name: SPDX-clean licenses.
pub fn alpine() -> Inventory {
    let mut inv = inventory(
        ImageInfo {
            source: "oci-dir:./alpine-layout".into(),
            name: None,
            manifest_digest: Some(digest("alpine-manifest")),
            config_digest: Some(digest("alpine-config")),
            platform: Some("linux/amd64".into()),
            created: Some("2024-01-27T00:51:38.765236982Z".into()),
        },
        Some(Distro {
            id: "alpine".into(),
            version_id: Some("3.19.1".into()),
            version_codename: None,
            pretty_name: Some("Alpine Linux v3.19".into()),
            id_like: Vec::new(),
            evidence: "etc/os-release".into(),
        }),
        layers(1),
    );
    let apk = |name, version, origin, licenses| {
        let purl = Purl::new("apk", name)
            .with_namespace("alpine")
            .with_version(version)
            .with_qualifier("arch", "x86_64")
            .with_qualifier("distro", "alpine-3.19.1");
        component(Pkg {
            kind: ComponentKind::Apk,
            name,
            version,
            arch: Some("x86_64"),
            source: Some((origin, version)),
            licenses,
            supplier: Some("Natanael Copa <ncopa@alpinelinux.org>"),
            layer: Some(0),
            evidence: &["lib/apk/db/installed"],
            purl: Some(purl),
        })
    };
    inv.components = vec![
        apk("busybox", "1.36.1-r15", "busybox", &["GPL-2.0-only"]),
        apk("musl", "1.2.4_git20230717-r4", "musl", &["MIT"]),
        apk(
            "apk-tools",
            "2.14.0-r5",
            "apk-tools",
            &["GPL-2.0-only OR MIT"],
        ),
        apk(
            "ca-certificates-bundle",
            "20240226-r0",
            "ca-certificates",
            &["MPL-2.0 AND MIT"],
        ),
        apk("libcrypto3", "3.1.4-r5", "openssl", &["Apache-2.0"]),
        apk("scanelf", "1.3.7-r2", "pax-utils", &["GPL-2.0-only"]),
        apk(
            "libc-utils",
            "0.7.2-r5",
            "libc-dev",
            &["BSD-2-Clause AND BSD-3-Clause"],
        ),
        apk("ssl_client", "1.36.1-r15", "busybox", &["GPL-2.0-only"]),
        apk("zlib", "1.3.1-r0", "zlib", &["Zlib"]),
        apk(
            "libgcc",
            "13.2.1_git20231014-r0",
            "gcc",
            &["GPL-2.0-or-later AND LGPL-2.1-or-later"],
        ),
        apk("lower", "1.0-r0", "lower", &["mit or apache-2.0"]),
        apk("mixedcase", "1.0-r0", "mixedcase", &["MIT and Apache-2.0"]),
    ];
    inv.canonicalize();
    inv
}

/// A `dir:` scan: no digests, no name, no distro, layer without digests.
pub fn dir_scan() -> Inventory {
    let mut inv = inventory(
        ImageInfo {
            source: "dir:/tmp/rootfs with space#1".into(),
            ..ImageInfo::default()
        },
        None,
        vec![LayerInfo {
            index: 0,
            digest: None,
            diff_id: None,
            media_type: None,
            size: 0,
            created_by: None,
        }],
    );
    let mut c = Component::new(ComponentKind::Deb, "hello", "2.10-3");
    c.arch = Some("arm64".into());
    c.purl = Some(deb_purl("hello", "2.10-3", "arm64"));
    c.licenses = vec!["GPL-3.0-or-later".into()];
    c.layer = Some(0);
    c.evidence = vec!["var/lib/dpkg/status".into()];
    inv.components = vec![c];
    // A partial scan: the SBOMs must say so (annotations).
    inv.warnings = vec![
        Warning {
            layer: Some(0),
            path: Some("usr/lib/python3/dist-packages/x.dist-info/METADATA".into()),
            message: "unreadable: Permission denied (os error 13)".into(),
        },
        Warning {
            layer: None,
            path: None,
            message: "rpm database \"quoted\" skipped".into(),
        },
    ];
    inv
}

/// Nothing found at all.
pub fn empty() -> Inventory {
    inventory(
        ImageInfo {
            source: "oci-dir:empty".into(),
            name: Some("scratch".into()),
            manifest_digest: Some(digest("empty-manifest")),
            config_digest: None,
            platform: None,
            created: None,
        },
        None,
        Vec::new(),
    )
}

pub fn all() -> Vec<(&'static str, Inventory)> {
    vec![
        ("debian", debian()),
        ("rpm", rpm()),
        ("alpine", alpine()),
        ("dir", dir_scan()),
        ("empty", empty()),
    ]
}

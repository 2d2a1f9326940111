//! The real thing: `docker buildx build --sbom=generator=<stella generator
//! image> --push` on the e2e harness (tests/e2e/up.sh: Docker 26, BuildKit
//! 0.13, buildx 0.13, distribution 2.8 on loopback), then `stella attach`.
//!
//! Oracles: BuildKit's own acceptance (the attestation manifest it wrote,
//! its re-encoding of `sbom.spdx.json` with `layerID` comments), `stella
//! scan` of the pushed image (an independent code path: layers streamed),
//! dpkg's view of the base image, `oras discover` for the referrers.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use stella_testkit::buildkit::E2e;

#[path = "support/images.rs"]
mod images;

const SPDX: &str = "https://spdx.dev/Document";

fn stella(args: &[&str]) -> (i32, String, String) {
    images::stella(args)
}

/// Pushes the generator image built from this test binary's stella.
fn generator_image(e2e: &E2e, tag: &str, extra: &[&str]) -> String {
    let reference = e2e.image_ref(tag);
    let mut args = vec!["generator", "push", reference.as_str()];
    args.extend_from_slice(extra);
    let (code, _, err) = stella(&args);
    assert_eq!(code, 0, "stella generator push: {err}");
    reference
}

fn write(dir: &Path, rel: &str, data: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

fn metadata(name: &str, version: &str) -> String {
    format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
}

/// purls of the packages an SPDX document lists.
fn spdx_purls(doc: &Value) -> BTreeSet<String> {
    doc["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["externalRefs"].as_array().into_iter().flatten())
        .filter(|r| r["referenceType"] == "purl")
        .map(|r| r["referenceLocator"].as_str().unwrap().to_string())
        .collect()
}

/// (purl, `fact` of the component) for every component of a native inventory.
fn component_facts<T: Ord>(inv: &Value, fact: impl Fn(&Value) -> T) -> BTreeSet<(String, T)> {
    inv["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["purl"].as_str().unwrap_or_default().to_string(), fact(c)))
        .collect()
}

/// (purl, evidence) of a native inventory's components.
fn inventory_components(inv: &Value) -> BTreeSet<(String, Vec<String>)> {
    component_facts(inv, |c| {
        c["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .collect()
    })
}

#[test]
fn buildx_with_the_stella_generator_then_attach() {
    let Some(e2e) = E2e::require() else { return };
    let generator = generator_image(&e2e, "stella-generator:e2e", &[]);

    // A multi-stage build: the build stage is scanned too (an extra), and
    // so is the context. Only the final stage's content is the image.
    let ctx = tempfile::tempdir().unwrap();
    write(
        ctx.path(),
        "Dockerfile",
        &format!(
            "ARG BUILDKIT_SBOM_SCAN_CONTEXT=true\n\
             FROM {base} AS build\n\
             ARG BUILDKIT_SBOM_SCAN_STAGE=true\n\
             COPY build-only /usr/lib/python3/dist-packages\n\
             RUN echo built > /built.txt\n\
             FROM {base}\n\
             COPY --from=build /built.txt /built.txt\n\
             COPY site /usr/lib/python3/dist-packages\n\
             RUN mkdir -p /srv/app/node_modules/left-pad && echo '{{\"name\":\"left-pad\",\"version\":\"1.3.0\"}}' > /srv/app/node_modules/left-pad/package.json\n",
            base = e2e.base_image()
        ),
    );
    write(
        ctx.path(),
        "site/demo-1.0.dist-info/METADATA",
        &metadata("demo", "1.0"),
    );
    write(
        ctx.path(),
        "build-only/buildtool-2.5.dist-info/METADATA",
        &metadata("buildtool", "2.5"),
    );
    e2e.buildx_build(
        ctx.path(),
        "stella-e2e-app:1",
        &[&format!("--sbom=generator={generator}")],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let image = format!("registry:{}", e2e.image_ref("stella-e2e-app:1"));

    // BuildKit accepted every statement: one attestation manifest whose SPDX
    // layers are ours, the core one re-encoded by BuildKit.
    let attestations = e2e
        .attestation_statements("stella-e2e-app", "1")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(attestations.len(), 1, "one platform");
    let (platform_manifest, statements) = &attestations[0];
    let spdx: Vec<&Value> = statements
        .iter()
        .filter(|s| s["predicateType"] == SPDX)
        .collect();
    let by_name = |name: &str| -> &Value {
        spdx.iter()
            .map(|s| &s["predicate"])
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| {
                panic!(
                    "no SPDX document named {name}: {:?}",
                    spdx.iter()
                        .map(|s| &s["predicate"]["name"])
                        .collect::<Vec<_>>()
                )
            })
    };
    for s in &spdx {
        let subject = &s["subject"][0]["digest"]["sha256"];
        assert_eq!(
            format!("sha256:{}", subject.as_str().unwrap()),
            *platform_manifest,
            "BuildKit fills in the image as subject"
        );
    }
    let core = by_name("buildkit-rootfs");
    let creators = core["creationInfo"]["creators"].to_string();
    assert!(
        creators.contains("buildkit"),
        "not re-encoded by BuildKit: {creators}"
    );
    let layer_comments = core["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["comment"]
                .as_str()
                .is_some_and(|c| c.starts_with("layerID: sha256:"))
        })
        .count();
    assert_eq!(layer_comments, core["files"].as_array().unwrap().len());
    assert!(by_name("stella-inventory")["stellaInventory"].is_object());

    // The extras were scanned: the build stage has what only it holds.
    let build_stage = by_name("buildkit-sbom-build");
    assert!(spdx_purls(build_stage).contains("pkg:pypi/buildtool@2.5"));
    assert!(!spdx_purls(core).contains("pkg:pypi/buildtool@2.5"));
    by_name("buildkit-sbom-context");

    // The SBOM BuildKit stored matches a scan of the pushed image.
    let (code, scan_spdx, err) = stella(&["scan", &image, "-q", "-o", "spdx-json"]);
    assert_eq!(code, 0, "{err}");
    let scan_spdx: Value = serde_json::from_str(&scan_spdx).unwrap();
    assert_eq!(spdx_purls(core), spdx_purls(&scan_spdx));
    assert!(spdx_purls(core).contains("pkg:pypi/demo@1.0"));
    assert!(spdx_purls(core).contains("pkg:npm/left-pad@1.3.0"));

    // stella attach: the three referrers, from the attestation alone.
    let dir = tempfile::tempdir().unwrap();
    let attach_json = dir.path().join("attach.json");
    let out = format!("json={}", attach_json.display());
    let (code, _, err) = stella(&["attach", &image, "-o", &out]);
    assert_eq!(code, 0, "stella attach: {err}");
    let (code, scan_json, err) = stella(&["scan", &image, "-q", "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    let scanned: Value = serde_json::from_str(&scan_json).unwrap();
    let attached: Value = serde_json::from_slice(&std::fs::read(&attach_json).unwrap()).unwrap();
    assert_eq!(
        inventory_components(&attached),
        inventory_components(&scanned),
        "stella attach must find what stella scan finds"
    );
    assert_eq!(attached["image"], scanned["image"]);
    assert_eq!(attached["layers"], scanned["layers"]);
    // Every component's layer, from BuildKit's layerID comments, is the
    // layer the streaming scan attributes it to.
    let layers = |inv: &Value| component_facts(inv, |c| c["layer"].as_i64().unwrap_or(-1));
    assert_eq!(layers(&attached), layers(&scanned));

    let (code, referrers, err) = stella(&["referrers", &image, "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    let referrers: Value = serde_json::from_str(&referrers).unwrap();
    let types: BTreeSet<&str> = referrers["referrers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["artifactType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        BTreeSet::from([
            "application/spdx+json",
            "application/vnd.cyclonedx+json",
            "application/vnd.stellaops.bom-index.v1+binary"
        ])
    );
    let discovered = Command::new(e2e.oras())
        .args(["discover", "--plain-http", "-o", "json"])
        .arg(format!(
            "{}@{platform_manifest}",
            e2e.image_ref("stella-e2e-app")
        ))
        .output()
        .expect("oras");
    assert!(
        discovered.status.success(),
        "{}",
        String::from_utf8_lossy(&discovered.stderr)
    );
    let text = String::from_utf8_lossy(&discovered.stdout);
    for t in &types {
        assert!(text.contains(t), "oras does not see {t}: {text}");
    }
    // The attached CycloneDX lists what the scan lists.
    let (code, cdx, err) = stella(&["sbom", &image, "-o", "cyclonedx-json"]);
    assert_eq!(code, 0, "{err}");
    let cdx: Value = serde_json::from_str(&cdx).unwrap();
    let cdx_purls: BTreeSet<String> = cdx["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str().map(str::to_string))
        .collect();
    assert_eq!(cdx_purls, spdx_purls(&scan_spdx));
}

#[test]
fn without_a_generator_attach_says_so_and_scan_attach_is_the_fallback() {
    let Some(e2e) = E2e::require() else { return };
    let ctx = tempfile::tempdir().unwrap();
    write(
        ctx.path(),
        "Dockerfile",
        &format!("FROM {}\nRUN echo plain > /plain.txt\n", e2e.base_image()),
    );
    e2e.buildx_build(ctx.path(), "stella-e2e-plain:1", &["--sbom=false"])
        .unwrap_or_else(|e| panic!("{e}"));
    let image = format!("registry:{}", e2e.image_ref("stella-e2e-plain:1"));
    let (code, _, err) = stella(&["attach", &image]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("stella scan"), "{err}");
    let (code, _, err) = stella(&["scan", &image, "-q", "-o", "json", "--attach"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = stella(&["sbom", &image, "-o", "spdx-json"]);
    assert_eq!(code, 0, "{err}");
}

/// Edge cases inside the real BuildKit: an image with no layer at all, a
/// scratch image with one static binary, and a broken package database —
/// a warning in the SBOM normally, a failed build with a strict generator.
#[test]
fn generator_edge_cases_in_buildkit() {
    let Some(e2e) = E2e::require() else { return };
    let generator = generator_image(&e2e, "stella-generator:e2e-edge", &[]);
    let strict = generator_image(&e2e, "stella-generator:e2e-strict", &["--strict"]);
    let sbom = format!("--sbom=generator={generator}");

    // Empty root filesystem.
    let ctx = tempfile::tempdir().unwrap();
    write(
        ctx.path(),
        "Dockerfile",
        "FROM scratch\nLABEL purpose=empty\n",
    );
    e2e.buildx_build(ctx.path(), "stella-e2e-empty:1", &[&sbom])
        .unwrap_or_else(|e| panic!("{e}"));
    let att = e2e.attestation_statements("stella-e2e-empty", "1").unwrap();
    let core = att[0]
        .1
        .iter()
        .map(|s| &s["predicate"])
        .find(|p| p["name"] == "buildkit-rootfs")
        .expect("core SBOM of an empty image");
    assert!(spdx_purls(core).is_empty());

    // Scratch + one static binary (this machine's stella is dynamic; a
    // static one is what `rustc -C target-feature=+crt-static` gives).
    let ctx = tempfile::tempdir().unwrap();
    let src = ctx.path().join("hello.rs");
    std::fs::write(&src, "fn main() { println!(\"hi\"); }\n").unwrap();
    let built = Command::new("rustc")
        .args(["-C", "target-feature=+crt-static", "-O", "-o"])
        .arg(ctx.path().join("hello"))
        .arg(&src)
        .output()
        .expect("rustc");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    write(
        ctx.path(),
        "Dockerfile",
        "FROM scratch\nCOPY hello /hello\nENTRYPOINT [\"/hello\"]\n",
    );
    e2e.buildx_build(ctx.path(), "stella-e2e-static:1", &[&sbom])
        .unwrap_or_else(|e| panic!("{e}"));
    let image = format!("registry:{}", e2e.image_ref("stella-e2e-static:1"));
    let (code, _, err) = stella(&["attach", &image]);
    assert_eq!(code, 0, "{err}");

    // A generator pushed with --no-layer-files: no files[] for BuildKit to
    // annotate; attach still works, with the same components and no layers.
    let no_files = generator_image(&e2e, "stella-generator:e2e-nofiles", &["--no-layer-files"]);
    let ctx = tempfile::tempdir().unwrap();
    write(
        ctx.path(),
        "Dockerfile",
        &format!("FROM {}\nLABEL purpose=no-layer-files\n", e2e.base_image()),
    );
    e2e.buildx_build(
        ctx.path(),
        "stella-e2e-nofiles:1",
        &[&format!("--sbom=generator={no_files}")],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let att = e2e
        .attestation_statements("stella-e2e-nofiles", "1")
        .unwrap();
    let core = att[0]
        .1
        .iter()
        .map(|s| &s["predicate"])
        .find(|p| p["name"] == "buildkit-rootfs")
        .expect("core SBOM");
    assert!(
        core["files"].as_array().is_none_or(|f| f.is_empty()),
        "files[] present although the generator image says STELLA_GENERATOR_LAYER_FILES=0"
    );
    assert!(!spdx_purls(core).is_empty(), "the base image's packages");
    let image = format!("registry:{}", e2e.image_ref("stella-e2e-nofiles:1"));
    let out = ctx.path().join("attached.json");
    let (code, _, err) = stella(&[
        "attach",
        &image,
        "-q",
        "-o",
        &format!("json={}", out.display()),
    ]);
    assert_eq!(code, 0, "{err}");
    let attached: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let (code, scan_json, err) = stella(&["scan", &image, "-q", "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    let scanned: Value = serde_json::from_str(&scan_json).unwrap();
    assert_eq!(
        inventory_components(&attached),
        inventory_components(&scanned)
    );
    assert!(
        attached["components"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["layer"].is_null()),
        "no files[], so no component can have a layer"
    );

    // A malformed dpkg database.
    let ctx = tempfile::tempdir().unwrap();
    write(
        ctx.path(),
        "Dockerfile",
        &format!(
            "FROM {}\nRUN printf 'this line has no colon\\n' >> /var/lib/dpkg/status\n",
            e2e.base_image()
        ),
    );
    e2e.buildx_build(ctx.path(), "stella-e2e-broken:1", &[&sbom])
        .unwrap_or_else(|e| panic!("lenient generator must not fail the build: {e}"));
    let att = e2e
        .attestation_statements("stella-e2e-broken", "1")
        .unwrap();
    let core = att[0]
        .1
        .iter()
        .map(|s| &s["predicate"])
        .find(|p| p["name"] == "buildkit-rootfs")
        .unwrap();
    let notes = core["annotations"].to_string();
    assert!(
        notes.contains("var/lib/dpkg/status"),
        "no warning annotation: {notes}"
    );

    let failed = e2e
        .buildx_build(
            ctx.path(),
            "stella-e2e-broken:strict",
            &[&format!("--sbom=generator={strict}")],
        )
        .expect_err("a strict generator fails the build");
    assert!(failed.contains("STELLA_STRICT"), "{failed}");
    assert!(failed.contains("var/lib/dpkg/status"), "{failed}");
}

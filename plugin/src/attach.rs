//! `stella attach`: turns the SBOM attestation a Stella generator left in a
//! BuildKit-built image into an [`Inventory`], without reading any layer.
//!
//! BuildKit stores attestations in the image index as an extra manifest
//! (platform `unknown/unknown`) annotated
//! `vnd.docker.reference.type=attestation-manifest` and
//! `vnd.docker.reference.digest=<platform manifest>`; its layers are in-toto
//! statements. We need two of them: the pass-through inventory
//! ([`crate::generator::INVENTORY_FILE`]) and the core SPDX document BuildKit
//! re-encoded, whose `files[]` now say `layerID: <layer digest>`.
//!
//! Verified before anything is trusted: every blob's digest (the store
//! does), that each statement's subject is the platform manifest, that the
//! two statements come from the same generator run (namespace link), and
//! that the core document's packages are the inventory's components.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use stella_analyzers::layer_info;
use stella_model::{Digest, ImageInfo, Inventory};
use stella_registry_store::oci::Descriptor;
use stella_registry_store::{
    ArtifactStore, LayerDescriptor, ManifestBytes, ManifestRef, StoreError,
};

use crate::generator::{Passthrough, INVENTORY_KEY, PASSTHROUGH_FORMAT, SPDX_PREDICATE};

/// BuildKit's annotation marking an attestation manifest.
pub const REFERENCE_TYPE: &str = "vnd.docker.reference.type";
/// Value of [`REFERENCE_TYPE`] for attestation manifests.
pub const ATTESTATION_MANIFEST: &str = "attestation-manifest";
/// BuildKit's annotation naming the manifest an attestation is about.
pub const REFERENCE_DIGEST: &str = "vnd.docker.reference.digest";
/// Layer annotation with the statement's predicate type.
pub const PREDICATE_TYPE_ANNOTATION: &str = "in-toto.io/predicate-type";
/// Media type of in-toto statement layers.
pub const IN_TOTO_MEDIA_TYPE: &str = "application/vnd.in-toto+json";
/// Statements larger than this are refused.
const MAX_STATEMENT_BYTES: u64 = 256 * 1024 * 1024;
/// Attestation manifests larger than this are refused.
const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

/// Why the attestation could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Nothing to attach from: not built with a Stella generator.
    #[error("{0}")]
    NotFound(String),
    /// Present but not trustworthy or not ours to read.
    #[error("{what}: {reason}")]
    Invalid { what: String, reason: String },
}

fn invalid(what: impl Into<String>, reason: impl Into<String>) -> AttachError {
    AttachError::Invalid {
        what: what.into(),
        reason: reason.into(),
    }
}

/// The statements of the attestation manifest for one platform manifest.
#[derive(Debug, Clone)]
pub struct Attestation {
    /// The attestation manifest's digest.
    pub manifest: Digest,
    /// Every SPDX statement in it, in layer order, parsed.
    pub statements: Vec<Value>,
}

/// Finds and reads the attestation manifest BuildKit wrote for
/// `platform_manifest` in `top` (the image index the user named, as read
/// from `store`).
pub fn read_attestation(
    store: &dyn ArtifactStore,
    top: &ManifestBytes,
    platform_manifest: &Digest,
) -> Result<Attestation, AttachError> {
    let location = store.location();
    let index_ref = &top.digest;
    #[derive(Deserialize)]
    struct IndexDoc {
        #[serde(default)]
        manifests: Option<Vec<Descriptor>>,
    }
    let index: IndexDoc = serde_json::from_slice(&top.bytes)
        .map_err(|e| invalid(format!("{index_ref} in {location}"), e.to_string()))?;
    let Some(manifests) = index.manifests else {
        return Err(AttachError::NotFound(format!(
            "{index_ref} in {location} is a single image manifest, not an index: \
             BuildKit attestations live in an image index (build with \
             `docker buildx build --sbom=generator=…`, or run `stella scan … --attach`)"
        )));
    };
    let wanted = platform_manifest.to_string();
    let attestation = manifests
        .iter()
        .find(|d| {
            d.annotations.get(REFERENCE_TYPE).map(String::as_str) == Some(ATTESTATION_MANIFEST)
                && d.annotations.get(REFERENCE_DIGEST) == Some(&wanted)
        })
        .ok_or_else(|| {
            AttachError::NotFound(format!(
                "{index_ref} in {location}: no BuildKit attestation manifest for {wanted} \
                 (built without --sbom, or with provenance only)"
            ))
        })?;
    let manifest = store.get_manifest(&ManifestRef::Digest(attestation.digest.clone()))?;
    if manifest.bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(invalid(
            format!("attestation manifest {}", attestation.digest),
            "larger than 4 MiB",
        ));
    }
    #[derive(Deserialize)]
    struct ManifestDoc {
        // BuildKit writes `"layers": null` when a generator wrote nothing.
        #[serde(default)]
        layers: Option<Vec<Descriptor>>,
    }
    let doc: ManifestDoc = serde_json::from_slice(&manifest.bytes).map_err(|e| {
        invalid(
            format!("attestation manifest {}", attestation.digest),
            e.to_string(),
        )
    })?;
    let mut statements = Vec::new();
    for layer in doc.layers.unwrap_or_default() {
        let predicate = layer.annotations.get(PREDICATE_TYPE_ANNOTATION);
        if layer.media_type != IN_TOTO_MEDIA_TYPE
            || predicate.map(String::as_str) != Some(SPDX_PREDICATE)
        {
            continue; // provenance and other predicates are not ours to read
        }
        let bytes = store.get_blob(&layer.digest, MAX_STATEMENT_BYTES)?;
        let statement: Value = serde_json::from_slice(&bytes)
            .map_err(|e| invalid(format!("statement {}", layer.digest), e.to_string()))?;
        check_statement(&statement, &layer.digest, platform_manifest)?;
        statements.push(statement);
    }
    Ok(Attestation {
        manifest: attestation.digest.clone(),
        statements,
    })
}

/// The statement is an SPDX statement about `platform_manifest`.
fn check_statement(
    statement: &Value,
    digest: &Digest,
    platform_manifest: &Digest,
) -> Result<(), AttachError> {
    let what = format!("statement {digest}");
    if statement["predicateType"] != SPDX_PREDICATE {
        return Err(invalid(
            what,
            format!(
                "predicateType {} although annotated {SPDX_PREDICATE}",
                statement["predicateType"]
            ),
        ));
    }
    let about_manifest = statement["subject"].as_array().is_some_and(|subjects| {
        subjects
            .iter()
            .any(|s| s["digest"][platform_manifest.algorithm().as_str()] == platform_manifest.hex())
    });
    if !about_manifest {
        return Err(invalid(
            what,
            format!("its subject is not {platform_manifest}"),
        ));
    }
    Ok(())
}

/// The inventory the generator recorded, completed with what the registry
/// knows (image facts, layer table) and with each component's layer, read
/// from BuildKit's `layerID` comments in the core document. Only
/// descriptors come in: no layer can be read here.
pub fn inventory_from_attestation(
    attestation: &Attestation,
    image: &ImageInfo,
    layers: &[LayerDescriptor],
) -> Result<Inventory, AttachError> {
    let passthrough_value = attestation
        .statements
        .iter()
        .find_map(|s| s["predicate"].get(INVENTORY_KEY))
        .ok_or_else(|| {
            AttachError::NotFound(format!(
                "attestation manifest {} holds no Stella inventory: the image was built \
                 with another SBOM generator (use `stella scan … --attach`)",
                attestation.manifest
            ))
        })?;
    let what = format!("Stella inventory in {}", attestation.manifest);
    if passthrough_value["format"] != PASSTHROUGH_FORMAT {
        return Err(invalid(
            what,
            format!(
                "format {}, this build reads {PASSTHROUGH_FORMAT:?}",
                passthrough_value["format"]
            ),
        ));
    }
    let passthrough: Passthrough = serde_json::from_value(passthrough_value.clone())
        .map_err(|e| invalid(what.clone(), e.to_string()))?;
    let mut inventory = passthrough.inventory;
    if passthrough.attribution.len() != inventory.components.len() {
        return Err(invalid(
            what,
            format!(
                "{} attribution entries for {} components",
                passthrough.attribution.len(),
                inventory.components.len()
            ),
        ));
    }
    let core = attestation
        .statements
        .iter()
        .map(|s| &s["predicate"])
        .find(|p| p["documentNamespace"] == passthrough.core_document_namespace.as_str())
        .ok_or_else(|| {
            invalid(
                what.clone(),
                format!(
                    "no SPDX document with namespace {} (the SBOM BuildKit re-encoded)",
                    passthrough.core_document_namespace
                ),
            )
        })?;
    check_same_packages(core, &inventory, &what)?;

    let layer_of_file = layer_comments(core);
    let index_of_layer: BTreeMap<String, usize> = layers
        .iter()
        .enumerate()
        .map(|(i, l)| (l.digest.to_string(), i))
        .collect();
    for (component, file) in inventory
        .components
        .iter_mut()
        .zip(&passthrough.attribution)
    {
        let layer = file
            .as_ref()
            .and_then(|f| layer_of_file.get(f.trim_start_matches("./")))
            .and_then(|digest| index_of_layer.get(digest.as_str()));
        component.layer = layer.map(|&i| i as u32);
        component.layer_diff_id = layer.map(|&i| layers[i].diff_id.clone());
    }
    inventory.image = image.clone();
    // Registry and layout manifests always declare layer sizes.
    inventory.layers = layers.iter().map(|l| layer_info(l, 0)).collect();
    inventory.canonicalize();
    Ok(inventory)
}

/// `files[].fileName` (without `./` or `/`) → the layer digest in BuildKit's
/// `layerID: …` comment.
fn layer_comments(core: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for f in core["files"].as_array().into_iter().flatten() {
        let (Some(name), Some(comment)) = (f["fileName"].as_str(), f["comment"].as_str()) else {
            continue;
        };
        if let Some(layer) = comment.strip_prefix("layerID: ") {
            let name = name.trim_start_matches("./").trim_start_matches('/');
            out.insert(name.to_string(), layer.trim().to_string());
        }
    }
    out
}

/// The core document lists exactly the inventory's purls (as a multiset):
/// the two statements describe the same filesystem.
fn check_same_packages(core: &Value, inventory: &Inventory, what: &str) -> Result<(), AttachError> {
    let mut in_core: Vec<String> = core["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["externalRefs"].as_array().into_iter().flatten())
        .filter(|r| r["referenceType"] == "purl")
        .filter_map(|r| r["referenceLocator"].as_str().map(str::to_string))
        .collect();
    let mut in_inventory: Vec<String> = inventory
        .components
        .iter()
        .filter_map(|c| c.purl.as_ref().map(|p| p.to_string()))
        .collect();
    in_core.sort();
    in_inventory.sort();
    if in_core != in_inventory {
        let missing = in_inventory
            .iter()
            .find(|p| in_core.binary_search(p).is_err());
        let extra = in_core
            .iter()
            .find(|p| in_inventory.binary_search(p).is_err());
        return Err(invalid(
            what,
            format!(
                "the re-encoded SPDX lists {} purls, the inventory {} (first only in the \
                 inventory: {}; first only in the SPDX: {})",
                in_core.len(),
                in_inventory.len(),
                missing.map_or("none", String::as_str),
                extra.map_or("none", String::as_str)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The checks on hostile or inconsistent attestations. The statements
    //! start as what the real generator writes for a small root filesystem;
    //! each test breaks one thing and expects a typed error naming it.

    use std::path::Path;

    use serde_json::json;
    use stella_analyzers::ScanOptions;
    use stella_sbom::SbomOptions;

    use super::*;
    use crate::generator::{self, Request, Settings};

    const LAYER: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const MANIFEST: &str =
        "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn info() -> ImageInfo {
        ImageInfo {
            source: "registry:example/app:1".into(),
            manifest_digest: Some(MANIFEST.parse().unwrap()),
            ..ImageInfo::default()
        }
    }

    fn layers() -> Vec<LayerDescriptor> {
        let digest: Digest = LAYER.parse().unwrap();
        vec![LayerDescriptor {
            index: 0,
            digest: digest.clone(),
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
            size: Some(10),
            diff_id: digest,
            created_by: None,
        }]
    }

    /// The two statements the generator writes for a rootfs with one Python
    /// distribution, with BuildKit's `layerID` comment added to the core.
    fn attestation(root: &Path) -> Attestation {
        let dist = root.join("rootfs/usr/lib/python3/dist-packages/demo-1.0.dist-info");
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(
            dist.join("METADATA"),
            "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
        )
        .unwrap();
        let out = root.join("out");
        std::fs::create_dir(&out).unwrap();
        let request = Request {
            source: root.join("rootfs"),
            destination: out.clone(),
            extras: None,
        };
        let settings = Settings {
            scan: ScanOptions::default(),
            sbom: SbomOptions {
                tool_version: "0.1.0".into(),
                timestamp: "2024-01-01T00:00:00Z".into(),
            },
            strict: false,
            layer_files: true,
        };
        generator::run(&request, &settings).unwrap();
        let read = |name: &str| -> Value {
            let mut st: Value =
                serde_json::from_slice(&std::fs::read(out.join(name)).unwrap()).unwrap();
            st["subject"] = json!([{"name": "x", "digest": {"sha256": &MANIFEST[7..]}}]);
            st
        };
        let mut core = read(generator::CORE_FILE);
        for f in core["predicate"]["files"].as_array_mut().unwrap() {
            f["comment"] = json!(format!("layerID: {LAYER}"));
        }
        Attestation {
            manifest: MANIFEST.parse().unwrap(),
            statements: vec![core, read(generator::INVENTORY_FILE)],
        }
    }

    fn invalid_reason(result: Result<Inventory, AttachError>) -> String {
        match result {
            Err(AttachError::Invalid { reason, .. }) => reason,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn consistent_statements_give_the_inventory_with_layers() {
        let tmp = tempfile::tempdir().unwrap();
        let inv = inventory_from_attestation(&attestation(tmp.path()), &info(), &layers()).unwrap();
        assert_eq!(inv.components.len(), 1);
        assert_eq!(inv.components[0].layer, Some(0));
        assert_eq!(inv.image.source, "registry:example/app:1");
        assert_eq!(inv.layers.len(), 1);
    }

    #[test]
    fn a_package_missing_from_the_core_document_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let mut att = attestation(tmp.path());
        let packages = att.statements[0]["predicate"]["packages"]
            .as_array_mut()
            .unwrap();
        packages.retain(|p| p["name"] != "demo");
        let reason = invalid_reason(inventory_from_attestation(&att, &info(), &layers()));
        assert!(reason.contains("pkg:pypi/demo@1.0"), "{reason}");
    }

    #[test]
    fn statements_from_different_runs_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let mut att = attestation(tmp.path());
        att.statements[0]["predicate"]["documentNamespace"] = json!("https://elsewhere/x");
        let reason = invalid_reason(inventory_from_attestation(&att, &info(), &layers()));
        assert!(reason.contains("namespace"), "{reason}");
    }

    #[test]
    fn unknown_format_and_malformed_inventories_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let mut att = attestation(tmp.path());
        att.statements[1]["predicate"][INVENTORY_KEY]["format"] =
            json!("stella-buildkit-inventory@9");
        let reason = invalid_reason(inventory_from_attestation(&att, &info(), &layers()));
        assert!(reason.contains("@9"), "{reason}");

        let mut att = attestation(&tmp.path().join("b"));
        att.statements[1]["predicate"][INVENTORY_KEY]["inventory"]["components"] = json!("nope");
        invalid_reason(inventory_from_attestation(&att, &info(), &layers()));

        let mut att = attestation(&tmp.path().join("c"));
        att.statements[1]["predicate"][INVENTORY_KEY]["attribution"] = json!([]);
        let reason = invalid_reason(inventory_from_attestation(&att, &info(), &layers()));
        assert!(
            reason.contains("0 attribution entries for 1 components"),
            "{reason}"
        );
    }

    #[test]
    fn another_generators_attestation_is_not_found() {
        let tmp = tempfile::tempdir().unwrap();
        let mut att = attestation(tmp.path());
        att.statements.truncate(1);
        assert!(matches!(
            inventory_from_attestation(&att, &info(), &layers()),
            Err(AttachError::NotFound(_))
        ));
    }

    #[test]
    fn statements_about_another_image_or_predicate_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let att = attestation(tmp.path());
        let digest: Digest = LAYER.parse().unwrap();
        let manifest: Digest = MANIFEST.parse().unwrap();
        assert!(check_statement(&att.statements[0], &digest, &manifest).is_ok());
        let other: Digest = LAYER.parse().unwrap();
        assert!(matches!(
            check_statement(&att.statements[0], &digest, &other),
            Err(AttachError::Invalid { .. })
        ));
        let mut wrong = att.statements[0].clone();
        wrong["predicateType"] = json!("https://slsa.dev/provenance/v0.2");
        assert!(matches!(
            check_statement(&wrong, &digest, &manifest),
            Err(AttachError::Invalid { .. })
        ));
        let mut no_subject = att.statements[0].clone();
        no_subject["subject"] = json!("garbage");
        assert!(check_statement(&no_subject, &digest, &manifest).is_err());
    }
}

//! Where `stella attest` takes the predicate from: `--predicate FILE`, or
//! the newest artifact `stella scan --attach` hung off the image (SBOMs and
//! the verdict are embedded as JSON; the BOM-Index, binary, is referred to
//! by its blob's descriptor).

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context};
use serde_json::Value;
use stella_attest::predicates::BomIndexPredicate;
use stella_attest::statement::{
    PREDICATE_BOM_INDEX, PREDICATE_CYCLONEDX, PREDICATE_SPDX, PREDICATE_VERDICT,
};
use stella_model::Digest;
use stella_registry_store::oci::Descriptor;
use stella_registry_store::{artifact_blobs, ArtifactStore};

use crate::artifacts::{newest, CYCLONEDX_TYPE, SPDX_TYPE};
use crate::findings::VERDICT_TYPE;

/// Predicates (SBOMs) larger than this are refused.
const MAX_PREDICATE_BYTES: u64 = 256 << 20;
/// Marks a VEX document (`stella vex attach`), which shares CycloneDX's type.
const ANNOTATION_VEX: &str = "dev.stellaops.vex";
/// Set on everything Stella attaches.
const ANNOTATION_TOOL: &str = "dev.stellaops.tool";
const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";

/// A predicate and where it came from.
pub struct Found {
    pub predicate: Value,
    /// The file, or `LOCATION@ARTIFACT_DIGEST`.
    pub source: String,
    /// The source artifact's `created` annotation, if any.
    pub created: Option<String>,
}

/// The artifactType `stella scan --attach` uses for a predicate type, if
/// it attaches one.
fn attached_type(predicate_type: &str) -> Option<&'static str> {
    match predicate_type {
        PREDICATE_CYCLONEDX => Some(CYCLONEDX_TYPE),
        PREDICATE_SPDX => Some(SPDX_TYPE),
        PREDICATE_VERDICT => Some(VERDICT_TYPE),
        PREDICATE_BOM_INDEX => Some(stella_sbom::BOM_INDEX_MEDIA_TYPE),
        _ => None,
    }
}

/// `--predicate FILE`: JSON for every type; for bom-index also a BOM-Index
/// file (checked), whose descriptor becomes the predicate.
pub fn from_file(path: &Path, predicate_type: &str) -> anyhow::Result<Found> {
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_PREDICATE_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() as u64 > MAX_PREDICATE_BYTES {
        bail!(
            "{}: over the {} MiB predicate limit",
            path.display(),
            MAX_PREDICATE_BYTES >> 20
        );
    }
    let source = path.display().to_string();
    let predicate = if predicate_type == PREDICATE_BOM_INDEX && !looks_like_json(&bytes) {
        bom_index_predicate(bytes, &source)?
    } else {
        let value: Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: the predicate is not JSON", path.display()))?;
        if predicate_type == PREDICATE_BOM_INDEX {
            serde_json::from_value::<BomIndexPredicate>(value.clone()).with_context(|| {
                format!(
                    "{}: not a BOM-Index predicate {{mediaType, digest, size}}",
                    path.display()
                )
            })?;
        }
        value
    };
    Ok(Found {
        predicate,
        source,
        created: None,
    })
}

fn looks_like_json(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}

/// A BOM-Index blob's predicate, after checking it is one.
fn bom_index_predicate(bytes: Vec<u8>, what: &str) -> anyhow::Result<Value> {
    let digest = Digest::sha256_of(&bytes);
    let size = bytes.len() as u64;
    stella_sbom::BomIndex::from_vec(bytes).with_context(|| format!("{what}: not a BOM-Index"))?;
    Ok(serde_json::to_value(BomIndexPredicate::new(
        digest.to_string(),
        size,
    ))?)
}

/// The newest Stella artifact of the type's kind attached to `subject`,
/// read and digest-checked. VEX documents (CycloneDX too) and artifacts
/// other tools attached are not taken.
pub fn from_referrers(
    store: &dyn ArtifactStore,
    subject: &Descriptor,
    predicate_type: &str,
) -> anyhow::Result<Found> {
    let Some(artifact_type) = attached_type(predicate_type) else {
        bail!(
            "no predicate for {predicate_type}: Stella attaches only cyclonedx, spdx, verdict and \
             bom-index; give --predicate FILE"
        );
    };
    let list = store
        .referrers(&subject.digest, Some(artifact_type))
        .with_context(|| format!("referrers of {} in {}", subject.digest, store.location()))?;
    let ours: Vec<Descriptor> = list
        .into_iter()
        .filter(|d| {
            d.annotations.contains_key(ANNOTATION_TOOL)
                && !d.annotations.contains_key(ANNOTATION_VEX)
        })
        .collect();
    let Some(chosen) = newest(&ours) else {
        bail!(
            "no {artifact_type} artifact from `stella scan --attach` is attached to {} in {}: \
             run `stella scan IMAGE --attach` first (verdicts need --feeds and --policy), or \
             give --predicate FILE",
            subject.digest,
            store.location()
        );
    };
    if ours.len() > 1 {
        eprintln!(
            "stella: {} {artifact_type} artifacts are attached; using the newest, {}",
            ours.len(),
            chosen.digest
        );
    }
    let source = format!("{}@{}", store.location(), chosen.digest);
    let blobs = artifact_blobs(store, chosen, MAX_PREDICATE_BYTES)
        .with_context(|| format!("reading {source}"))?;
    let Some((layer, data)) = blobs
        .into_iter()
        .find(|(d, _)| d.media_type == artifact_type)
    else {
        bail!("{source} has no layer of media type {artifact_type}");
    };
    let predicate = if predicate_type == PREDICATE_BOM_INDEX {
        let value = bom_index_predicate(data, &source)?;
        debug_assert_eq!(value["digest"], layer.digest.to_string());
        value
    } else {
        serde_json::from_slice(&data)
            .with_context(|| format!("{source}: layer {} is not JSON", layer.digest))?
    };
    Ok(Found {
        predicate,
        source,
        created: chosen.annotations.get(ANNOTATION_CREATED).cloned(),
    })
}

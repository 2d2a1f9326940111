//! cosign's tag layout in a store: `sha256-<hex>.att` names an image
//! manifest whose layers are DSSE envelopes (`stella_attest::cosign_layout`
//! has the bytes). cosign appends a layer per attestation, so `--cosign-compat`
//! does the same: an existing `.att` manifest keeps its layers, annotations
//! and config exactly, and gains ours (unless the same envelope is there).

use anyhow::{bail, Context};
use serde::Serialize;
use serde_json::{json, Value};
use stella_attest::cosign_layout::{
    attestation_image, attestation_layers, attestation_tag, AttestationLayer, FoundLayer,
    MANIFEST_MEDIA_TYPE,
};
use stella_model::Digest;
use stella_registry_store::oci::MAX_MANIFEST_BYTES;
use stella_registry_store::{ArtifactStore, ManifestBytes, ManifestRef, StoreError};

/// The layer annotation holding the transparency log entry (cosign's
/// "rekor bundle": SET and entry, no inclusion proof).
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";

/// cosign writes this (the zero time) into the config's history.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";
/// A `.att` config is a few hundred bytes per layer.
const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// What `--cosign-compat` wrote.
#[derive(Debug, Serialize)]
pub struct Pushed {
    pub tag: String,
    pub manifest: Digest,
    /// Layers (attestations) in the manifest now.
    pub layers: usize,
    /// Whether the envelope was already there (nothing changed).
    #[serde(rename = "alreadyPresent")]
    pub already_present: bool,
}

/// The `.att` manifest of `subject`, or `None` when there is none.
pub fn fetch(store: &dyn ArtifactStore, subject: &Digest) -> anyhow::Result<Option<ManifestBytes>> {
    let tag = attestation_tag(&subject.to_string())?;
    match store.get_manifest(&ManifestRef::Tag(tag.clone())) {
        Ok(m) => Ok(Some(m)),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {tag} in {}", store.location())),
    }
}

/// The DSSE layers of a `.att` manifest.
pub fn layers(manifest: &ManifestBytes) -> anyhow::Result<Vec<FoundLayer>> {
    Ok(attestation_layers(&manifest.bytes)?)
}

/// The `dev.sigstore.cosign/bundle` annotation of each layer that has one,
/// by layer digest (unreadable manifests have none).
pub fn bundle_annotations(manifest: &ManifestBytes) -> Vec<(String, String)> {
    let Ok(v) = serde_json::from_slice::<Value>(&manifest.bytes) else {
        return Vec::new();
    };
    v.get("layers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| {
            let digest = l.get("digest")?.as_str()?;
            let bundle = l
                .pointer("/annotations")?
                .get(BUNDLE_ANNOTATION)?
                .as_str()?;
            Some((digest.to_string(), bundle.to_string()))
        })
        .collect()
}

/// Adds the envelope to `subject`'s `.att` manifest (creating it), with
/// `log_bundle` (the transparency log entry) as the layer's
/// `dev.sigstore.cosign/bundle` annotation when given.
pub fn push(
    store: &dyn ArtifactStore,
    subject: &Digest,
    envelope_json: &[u8],
    predicate_type: &str,
    log_bundle: Option<&str>,
) -> anyhow::Result<Pushed> {
    let tag = attestation_tag(&subject.to_string())?;
    let mut ours = attestation_image(&[AttestationLayer {
        envelope_json: envelope_json.to_vec(),
        predicate_type: predicate_type.to_string(),
    }]);
    if let Some(bundle) = log_bundle {
        let mut manifest: Value = serde_json::from_slice(&ours.manifest)?;
        manifest["layers"][0]["annotations"][BUNDLE_ANNOTATION] = json!(bundle);
        ours.manifest = serde_json::to_vec(&manifest)?;
    }
    let layer_digest: Digest = Digest::sha256_of(envelope_json);
    let (config, manifest, layers, already_present) = match fetch(store, subject)? {
        None => (ours.config.clone(), ours.manifest.clone(), 1, false),
        Some(existing) => {
            let (config, manifest, layers, present) = merge(store, &existing, &ours.manifest)?;
            (config, manifest, layers, present)
        }
    };
    let config_digest = Digest::sha256_of(&config);
    store.put_blobs(&[
        (&layer_digest, envelope_json),
        (&config_digest, config.as_slice()),
    ])?;
    let pushed = store
        .put_manifest(&manifest, MANIFEST_MEDIA_TYPE, Some(&tag))
        .with_context(|| format!("pushing {tag} to {}", store.location()))?;
    Ok(Pushed {
        tag,
        manifest: pushed.digest,
        layers,
        already_present,
    })
}

/// `existing` with our one layer (the only layer of `ours`) appended, and
/// its config extended to match: (config, manifest, layer count, whether
/// the layer was already there).
fn merge(
    store: &dyn ArtifactStore,
    existing: &ManifestBytes,
    ours: &[u8],
) -> anyhow::Result<(Vec<u8>, Vec<u8>, usize, bool)> {
    let what = format!("{} in {}", existing.digest, store.location());
    if existing.media_type != MANIFEST_MEDIA_TYPE
        && existing.media_type != "application/vnd.docker.distribution.manifest.v2+json"
    {
        bail!(
            "{what}: the .att tag names a {}, not an image manifest; not touching it",
            existing.media_type
        );
    }
    let mut manifest: Value = serde_json::from_slice(&existing.bytes)
        .with_context(|| format!("{what}: malformed .att manifest"))?;
    let ours: Value = serde_json::from_slice(ours)?;
    let our_layer = ours["layers"][0].clone();
    let Some(layers) = manifest.get_mut("layers").and_then(Value::as_array_mut) else {
        bail!("{what}: .att manifest has no layers array");
    };
    if layers.iter().any(|l| l["digest"] == our_layer["digest"]) {
        // Same envelope bytes: leave manifest and config exactly as they are.
        let config_digest: Digest = manifest["config"]["digest"]
            .as_str()
            .unwrap_or_default()
            .parse()
            .with_context(|| format!("{what}: config digest"))?;
        let config = store.get_blob(&config_digest, MAX_CONFIG_BYTES)?;
        let count = manifest["layers"].as_array().map_or(0, Vec::len);
        return Ok((config, existing.bytes.clone(), count, true));
    }
    layers.push(our_layer.clone());
    let count = layers.len();
    // The config lists every layer as a diff_id (cosign's mutate.Append).
    let config_digest: Digest = manifest["config"]["digest"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .with_context(|| format!("{what}: config digest"))?;
    let config_bytes = store
        .get_blob(&config_digest, MAX_CONFIG_BYTES)
        .with_context(|| format!("{what}: reading its config"))?;
    let mut config: Value = serde_json::from_slice(&config_bytes)
        .with_context(|| format!("{what}: malformed config {config_digest}"))?;
    let Some(diff_ids) = config
        .pointer_mut("/rootfs/diff_ids")
        .and_then(Value::as_array_mut)
    else {
        bail!("{what}: config {config_digest} has no rootfs.diff_ids");
    };
    diff_ids.push(our_layer["digest"].clone());
    if let Some(history) = config.get_mut("history").and_then(Value::as_array_mut) {
        history.push(json!({ "created": ZERO_TIME }));
    }
    let config = serde_json::to_vec(&config)?;
    manifest["config"]["digest"] = json!(Digest::sha256_of(&config).to_string());
    manifest["config"]["size"] = json!(config.len());
    let manifest = serde_json::to_vec(&manifest)?;
    if manifest.len() as u64 > MAX_MANIFEST_BYTES {
        bail!("{what}: with one more layer the .att manifest would be over the manifest limit");
    }
    Ok((config, manifest, count, false))
}

//! `stella attach IMAGE`: CycloneDX, SPDX and BOM-Index referrers from the
//! SBOM attestation a Stella generator left during `docker buildx build`,
//! without reading a layer.

use anyhow::{bail, Context};
use clap::Args;
use stella_plugin::attach::{inventory_from_attestation, read_attestation, AttachError};
use stella_registry_store::{open_image, open_target, ManifestRef, SourceSpec, StoreOptions};

use crate::artifacts::{self, ImageArgs, EXIT_NOT_FOUND};
use crate::output::{write_all, OutputSpec};
use crate::scan::{render_options, source_date_epoch};

#[derive(Args)]
pub struct AttachArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// Also write the SBOM locally as FORMAT[=FILE] (same formats as `scan`). Repeatable.
    #[arg(short = 'o', long = "output", value_name = "FORMAT[=FILE]")]
    pub outputs: Vec<OutputSpec>,
    /// Do not list what was attached.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Exit 0 when attached, 3 when the image carries no Stella attestation.
pub fn run(args: AttachArgs) -> anyhow::Result<u8> {
    let source = &args.image.image;
    let spec = SourceSpec::parse(source)?;
    if !matches!(
        spec,
        SourceSpec::OciDir { .. } | SourceSpec::Registry { .. }
    ) {
        bail!("{source}: attestations are read from an OCI layout (oci-dir:PATH) or a registry");
    }
    let epoch = source_date_epoch()?;
    let open = args.image.open_options()?;
    // Manifest and config only: the layer table, no layer blob.
    let image = open_image(&spec, &open, source).with_context(|| format!("opening {source}"))?;
    let Some(manifest) = image.info.manifest_digest.clone() else {
        bail!("{source}: no manifest digest");
    };
    let target = open_target(source, &StoreOptions::from(&open))?;
    let reference = target
        .reference
        .clone()
        .unwrap_or(ManifestRef::Digest(manifest.clone()));
    let found = read_attestation(target.store.as_ref(), &reference, &manifest)
        .and_then(|attestation| inventory_from_attestation(&attestation, &image));
    let inventory = match found {
        Ok(inventory) => inventory,
        Err(AttachError::NotFound(why)) => {
            eprintln!("stella: {source}: {why}");
            return Ok(EXIT_NOT_FOUND);
        }
        Err(e) => return Err(e).with_context(|| format!("reading the attestation of {source}")),
    };
    let render = render_options(&inventory, epoch, &inventory.tool.version);
    if !args.outputs.is_empty() {
        write_all(&args.outputs, &inventory, &render)?;
    }
    // The store the attestation came from: one connection for reads and writes.
    let descriptor = target
        .store
        .resolve(&ManifestRef::Digest(manifest.clone()))
        .with_context(|| format!("{manifest} in {}", target.store.location()))?
        .plain();
    let subject = artifacts::Subject {
        store: target.store,
        descriptor,
    };
    artifacts::attach_sboms(&subject, &inventory, &render, args.quiet)?;
    Ok(0)
}

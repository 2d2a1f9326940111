//! `stella attach IMAGE`: CycloneDX, SPDX and BOM-Index referrers from the
//! SBOM attestation a Stella generator left during `docker buildx build`,
//! without reading a layer.

use anyhow::{bail, Context};
use clap::Args;
use stella_plugin::attach::{inventory_from_attestation, read_attestation, AttachError};
use stella_registry_store::{open_target, SourceSpec, StoreOptions};

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
    // One store, one connection: the manifests and config for the layer
    // table, the attestation, then the referrers. No layer blob is read.
    let target = open_target(source, &StoreOptions::from(&open))?;
    let image = target
        .image(&open.platform, source)
        .with_context(|| format!("opening {source}"))?;
    let found = read_attestation(target.store.as_ref(), &image.top, &image.manifest.digest)
        .and_then(|attestation| {
            inventory_from_attestation(&attestation, &image.info, &image.layers)
        });
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
    let subject = artifacts::Subject {
        store: target.store,
        descriptor: image.manifest,
    };
    artifacts::attach_sboms(&subject, &inventory, &render, args.quiet)?;
    Ok(0)
}

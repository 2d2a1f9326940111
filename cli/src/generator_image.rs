//! `stella generator push REF [--oci-dir PATH[:TAG]] [--binary PATH]`: builds
//! the BuildKit generator image from a stella binary and stores it in a
//! registry or an OCI layout.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use stella_plugin::generator_image::{GeneratorImage, ImageInputs};
use stella_registry_store::{open_target, ManifestRef, StoreOptions};

#[derive(Subcommand)]
pub enum GeneratorCommand {
    /// Build the generator image (for `docker buildx build --sbom=generator=REF`) and push it.
    Push(PushArgs),
}

#[derive(Args)]
pub struct PushArgs {
    /// Registry reference to push to, e.g. registry.example/stella-generator:1.0.
    #[arg(required_unless_present = "oci_dir", conflicts_with = "oci_dir")]
    pub reference: Option<String>,
    /// Write an OCI image layout (created when missing) instead of pushing.
    #[arg(long, value_name = "PATH[:TAG]")]
    pub oci_dir: Option<String>,
    /// The stella binary to package; default: this one.
    #[arg(long, value_name = "PATH")]
    pub binary: Option<PathBuf>,
    /// Allow plain HTTP to this registry (loopback registries always may). Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
}

pub fn run(command: GeneratorCommand) -> anyhow::Result<()> {
    match command {
        GeneratorCommand::Push(args) => push(args),
    }
}

fn push(args: PushArgs) -> anyhow::Result<()> {
    let binary = match args.binary {
        Some(b) => b,
        None => std::env::current_exe().context("finding the running stella binary")?,
    };
    let spec = match (&args.oci_dir, &args.reference) {
        (Some(dir), _) => format!("oci-dir:{dir}"),
        (None, Some(reference)) => format!("registry:{reference}"),
        (None, None) => bail!("name a registry reference or --oci-dir"),
    };
    let image = GeneratorImage::build(&ImageInputs {
        binary: binary.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        source_date_epoch: crate::scan::source_date_epoch()?,
    })
    .with_context(|| format!("building the generator image of {}", binary.display()))?;
    let options = StoreOptions {
        insecure_registries: args.insecure_registries,
        ..StoreOptions::default()
    };
    let target = open_target(&spec, &options)?;
    let tag = match &target.reference {
        Some(ManifestRef::Tag(t)) => Some(t.as_str()),
        Some(ManifestRef::Digest(d)) if *d == image.manifest_digest => None,
        Some(ManifestRef::Digest(d)) => {
            bail!("{spec}: the image's digest is {}, not {d}", image.manifest_digest)
        }
        // An untagged layout: the one image in it.
        None => None,
    };
    let descriptor = image.push(target.store.as_ref(), tag)?;
    eprintln!(
        "stella: generator image {} ({}, {} files, {} bytes) in {}",
        descriptor.digest,
        image.architecture,
        image.files.len(),
        image.compressed_size(),
        target.store.location()
    );
    println!("{}", descriptor.digest);
    Ok(())
}

//! `stella generator push REF [--oci-dir PATH[:TAG]] [--binary PATH]`: builds
//! the BuildKit generator image from a stella binary and stores it in a
//! registry or an OCI layout.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use stella_plugin::generator_image::{GeneratorImage, ImageInputs};
use stella_registry_store::{open_target, ManifestRef, OciLayoutStore, StoreOptions, Target};

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
    /// Make scan warnings fail the build (`STELLA_STRICT=1` in the image's env).
    #[arg(long)]
    pub strict: bool,
    /// Leave `files[]` out of the SBOM (`STELLA_GENERATOR_LAYER_FILES=0`):
    /// BuildKit then reads no layer blob to annotate it, and `stella attach`
    /// gives components no layer.
    #[arg(long)]
    pub no_layer_files: bool,
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
    let target = match (&args.oci_dir, &args.reference) {
        (Some(dir), _) => layout_target(dir)?,
        (None, Some(reference)) => {
            let options = StoreOptions {
                insecure_registries: args.insecure_registries.clone(),
                ..StoreOptions::default()
            };
            open_target(&format!("registry:{reference}"), &options)?
        }
        (None, None) => bail!("name a registry reference or --oci-dir"),
    };
    let image = GeneratorImage::build(&ImageInputs {
        binary: binary.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        source_date_epoch: crate::scan::source_date_epoch()?,
        strict: args.strict,
        layer_files: !args.no_layer_files,
    })
    .with_context(|| format!("building the generator image of {}", binary.display()))?;
    let tag = match &target.reference {
        Some(ManifestRef::Tag(t)) => Some(t.as_str()),
        Some(ManifestRef::Digest(d)) if *d == image.manifest_digest => None,
        Some(ManifestRef::Digest(d)) => {
            bail!("the image's digest is {}, not {d}", image.manifest_digest)
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

/// `PATH[:TAG]` of a layout that may not exist yet: a `:` starts a tag when
/// the whole text is not an existing directory and what follows is a valid
/// tag (paths may contain colons). The layout is created when missing.
fn layout_target(text: &str) -> anyhow::Result<Target> {
    let (path, tag) = match text.rsplit_once(':') {
        Some((path, tag))
            if !path.is_empty()
                && !tag.contains('/')
                && !std::path::Path::new(text).is_dir()
                && ManifestRef::tag(tag).is_ok() =>
        {
            (path, Some(tag))
        }
        _ => (text, None),
    };
    let store = OciLayoutStore::open_or_create(std::path::Path::new(path))
        .with_context(|| format!("opening the OCI layout {path}"))?;
    Ok(Target {
        store: Box::new(store),
        reference: tag.map(ManifestRef::tag).transpose()?,
        name: tag.map(str::to_string),
    })
}

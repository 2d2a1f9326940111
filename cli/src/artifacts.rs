//! Artifacts attached to images as OCI referrers: `stella scan --attach`,
//! `stella referrers IMAGE` and `stella sbom IMAGE`.
//!
//! The subject is always the platform manifest a scan of IMAGE reads (the
//! same `--platform` choice), so what `--attach` writes is what `sbom` and
//! `referrers` find, for an OCI layout and a registry alike.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use stella_model::{Digest, Inventory};
use stella_registry_store::oci::{Descriptor, MEDIA_DOCKER_LIST, MEDIA_OCI_INDEX};
use stella_registry_store::{
    artifact_blobs, attach_many, open_image, open_store, open_target, Artifact, ArtifactBlob,
    ArtifactStore, ManifestRef, OciLayoutStore, OpenOptions, Platform, SourceSpec, StoreOptions,
};

use crate::output::{render, Format, RenderOptions};

/// artifactType of CycloneDX SBOMs (DESIGN.md §3).
pub const CYCLONEDX_TYPE: &str = "application/vnd.cyclonedx+json";
/// artifactType of SPDX SBOMs.
pub const SPDX_TYPE: &str = "application/spdx+json";
/// Annotation with the SBOM's own timestamp: picks the newest of several.
const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";
/// Annotation naming the tool that wrote an artifact.
const ANNOTATION_TOOL: &str = "dev.stellaops.tool";
/// Attached SBOMs larger than this are refused on read.
const MAX_SBOM_BYTES: u64 = 512 * 1024 * 1024;

/// Exit code when the image has no artifact of the kind asked for.
pub const EXIT_NOT_FOUND: u8 = 3;

/// Options shared by the commands that address an image in a store.
#[derive(Args, Clone)]
pub struct ImageArgs {
    /// The image: oci-dir:PATH[:TAG|@DIGEST], registry:REF or a bare REF.
    pub image: String,
    /// Platform to pick from a multi-platform image (os/arch[/variant]); default: this host's.
    #[arg(long)]
    pub platform: Option<String>,
    /// Allow plain HTTP to this registry (loopback registries always may). Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
}

impl ImageArgs {
    pub fn open_options(&self) -> anyhow::Result<OpenOptions> {
        open_options(&self.insecure_registries, self.platform.as_deref())
    }
}

/// How to open an image, from the `--insecure-registry` and `--platform`
/// options every image command shares.
pub fn open_options(
    insecure_registries: &[String],
    platform: Option<&str>,
) -> anyhow::Result<OpenOptions> {
    let mut open = OpenOptions {
        insecure_registries: insecure_registries.to_vec(),
        ..OpenOptions::default()
    };
    if let Some(p) = platform {
        open.platform = p.parse::<Platform>()?;
    }
    Ok(open)
}

/// An image's store and the descriptor of the manifest artifacts hang off.
pub struct Subject {
    pub store: Box<dyn ArtifactStore>,
    pub descriptor: Descriptor,
}

/// Opens the store holding `source` and the descriptor of `manifest` in it
/// (fetched and verified there: media type and size come from the store).
pub fn subject_in_store(
    source: &str,
    manifest: &Digest,
    open: &OpenOptions,
) -> anyhow::Result<Subject> {
    let target = open_target(source, &StoreOptions::from(open))
        .with_context(|| format!("opening {source} for writing"))?;
    let descriptor = target
        .store
        .resolve(&ManifestRef::Digest(manifest.clone()))
        .with_context(|| format!("{manifest} in {}", target.store.location()))?
        .plain();
    Ok(Subject {
        store: target.store,
        descriptor,
    })
}

/// Resolves IMAGE the way `stella scan` does (index → platform manifest)
/// and opens its store.
fn resolve_subject(args: &ImageArgs) -> anyhow::Result<Subject> {
    let spec = SourceSpec::parse(&args.image)?;
    if !matches!(
        spec,
        SourceSpec::OciDir { .. } | SourceSpec::Registry { .. }
    ) {
        bail!(
            "{}: artifacts live in an OCI layout (oci-dir:PATH) or a registry",
            args.image
        );
    }
    let open = args.open_options()?;
    let image =
        open_image(&spec, &open, &args.image).with_context(|| format!("opening {}", args.image))?;
    let Some(manifest) = image.info.manifest_digest.clone() else {
        bail!("{}: no manifest digest to attach to", args.image);
    };
    subject_in_store(&args.image, &manifest, &open)
}

/// One artifact to attach: its type, file name for `oras pull`, bytes.
pub struct Attachment {
    pub artifact_type: &'static str,
    pub title: &'static str,
    pub data: Vec<u8>,
}

/// Attaches every artifact to the subject; returns their descriptors. The
/// bytes are deterministic, so attaching the same scan twice writes the
/// same manifests (no duplicates).
pub fn attach_all(
    subject: &Subject,
    attachments: Vec<Attachment>,
    created: &str,
    tool: &str,
) -> anyhow::Result<Vec<Descriptor>> {
    let annotations = BTreeMap::from([
        (ANNOTATION_CREATED.to_string(), created.to_string()),
        (ANNOTATION_TOOL.to_string(), tool.to_string()),
    ]);
    let types: Vec<&str> = attachments.iter().map(|a| a.artifact_type).collect();
    let blobs: Vec<[ArtifactBlob; 1]> = attachments
        .into_iter()
        .map(|a| [ArtifactBlob::new(a.artifact_type, a.data).titled(a.title)])
        .collect();
    let artifacts: Vec<Artifact<'_>> = types
        .iter()
        .zip(&blobs)
        .map(|(artifact_type, blob)| Artifact {
            artifact_type,
            blobs: blob,
            annotations: &annotations,
        })
        .collect();
    attach_many(subject.store.as_ref(), &subject.descriptor, &artifacts).with_context(|| {
        format!(
            "attaching {} to {} in {}",
            types.join(", "),
            subject.descriptor.digest,
            subject.store.location()
        )
    })
}

/// CycloneDX, SPDX and BOM-Index of `inventory` as referrers of `subject`
/// (`scan --attach`, `stella attach`).
pub fn attach_sboms(
    subject: &Subject,
    inventory: &Inventory,
    render_opts: &RenderOptions,
    quiet: bool,
) -> anyhow::Result<()> {
    let attachments = vec![
        Attachment {
            artifact_type: CYCLONEDX_TYPE,
            title: "sbom.cdx.json",
            data: render(Format::CycloneDxJson, inventory, render_opts)?,
        },
        Attachment {
            artifact_type: SPDX_TYPE,
            title: "sbom.spdx.json",
            data: render(Format::SpdxJson, inventory, render_opts)?,
        },
        Attachment {
            artifact_type: stella_sbom::BOM_INDEX_MEDIA_TYPE,
            title: "sbom.bomidx",
            data: render(Format::BomIndex, inventory, render_opts)?,
        },
    ];
    let tool = format!("stella {}", inventory.tool.version);
    let attached = attach_all(subject, attachments, &render_opts.sbom.timestamp, &tool)?;
    if !quiet {
        for d in &attached {
            eprintln!(
                "attached {} {} to {} in {}",
                d.artifact_type.as_deref().unwrap_or("-"),
                d.digest,
                subject.descriptor.digest,
                subject.store.location()
            );
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct ReferrersArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// Only artifacts of this artifactType.
    #[arg(long = "artifact-type", value_name = "TYPE")]
    pub artifact_type: Option<String>,
    /// table (default) or json.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = ListFormat::Table)]
    pub output: ListFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

/// `stella referrers IMAGE`: exit 0 (also when there are none).
pub fn referrers(args: ReferrersArgs) -> anyhow::Result<u8> {
    let subject = resolve_subject(&args.image)?;
    let list = subject
        .store
        .referrers(&subject.descriptor.digest, args.artifact_type.as_deref())
        .with_context(|| format!("referrers of {}", subject.descriptor.digest))?;
    let mut stdout = std::io::stdout().lock();
    match args.output {
        ListFormat::Json => {
            let doc = serde_json::json!({
                "subject": subject.descriptor,
                "referrers": list,
            });
            serde_json::to_writer_pretty(&mut stdout, &doc)?;
            writeln!(stdout)?;
        }
        ListFormat::Table => {
            writeln!(
                stdout,
                "{} referrers of {}",
                list.len(),
                subject.descriptor.digest
            )?;
            for d in &list {
                writeln!(
                    stdout,
                    "{}  {}  {} bytes",
                    d.digest,
                    d.artifact_type.as_deref().unwrap_or("-"),
                    d.size
                )?;
            }
        }
    }
    Ok(0)
}

#[derive(Args)]
pub struct SbomArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// Which attached SBOM: cyclonedx-json (default) or spdx-json, optionally =FILE.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FORMAT[=FILE]",
        default_value = "cyclonedx-json"
    )]
    pub output: String,
}

/// `stella sbom IMAGE`: the attached SBOM's exact bytes. Exit 3 when none is
/// attached (scan with `--attach` first).
pub fn sbom(args: SbomArgs) -> anyhow::Result<u8> {
    let (format, file) = match args.output.split_once('=') {
        Some((f, path)) if !path.is_empty() => (f, Some(PathBuf::from(path))),
        Some(_) => bail!("{}: empty file name after '='", args.output),
        None => (args.output.as_str(), None),
    };
    let artifact_type = match format {
        "cyclonedx-json" | "cyclonedx" | "cdx-json" => CYCLONEDX_TYPE,
        "spdx-json" | "spdx" => SPDX_TYPE,
        other => bail!("unknown SBOM format {other:?} (expected cyclonedx-json or spdx-json)"),
    };
    let subject = resolve_subject(&args.image)?;
    let list = subject
        .store
        .referrers(&subject.descriptor.digest, Some(artifact_type))
        .with_context(|| format!("referrers of {}", subject.descriptor.digest))?;
    let Some(chosen) = newest(&list) else {
        eprintln!(
            "stella: no {artifact_type} SBOM is attached to {} in {} (run `stella scan {} --attach`)",
            subject.descriptor.digest,
            subject.store.location(),
            args.image.image
        );
        return Ok(EXIT_NOT_FOUND);
    };
    if list.len() > 1 {
        eprintln!(
            "stella: {} {artifact_type} SBOMs are attached; using the newest, {}",
            list.len(),
            chosen.digest
        );
    }
    let blobs = artifact_blobs(subject.store.as_ref(), chosen, MAX_SBOM_BYTES)
        .with_context(|| format!("reading SBOM {}", chosen.digest))?;
    let Some((_, data)) = blobs
        .into_iter()
        .find(|(d, _)| d.media_type == artifact_type)
    else {
        bail!(
            "artifact {} has no layer of media type {artifact_type}",
            chosen.digest
        );
    };
    match file {
        Some(path) => {
            std::fs::write(&path, &data).with_context(|| format!("writing {}", path.display()))?
        }
        None => std::io::stdout().lock().write_all(&data)?,
    }
    Ok(0)
}

/// The newest artifact by its `created` annotation (RFC 3339 sorts as
/// text), ties and missing annotations broken by digest: deterministic.
pub fn newest(list: &[Descriptor]) -> Option<&Descriptor> {
    list.iter().max_by(|a, b| {
        let created = |d: &Descriptor| d.annotations.get(ANNOTATION_CREATED).cloned();
        created(a)
            .cmp(&created(b))
            .then_with(|| a.digest.to_string().cmp(&b.digest.to_string()))
    })
}

/// Attached BOM-Index bytes are refused above this size.
const MAX_BOM_INDEX_BYTES: u64 = 256 << 20;

/// The BOM-Index attached to every image of a store (`oci-dir:PATH` or
/// `registry:HOST/REPO`): each tag, and each platform manifest of a tagged
/// index, named `LOCATION:TAG` (`LOCATION:TAG@DIGEST` for a platform). An
/// image without an index is skipped with a note on stderr; a manifest
/// several tags name is read once, under its first tag.
pub fn attached_bom_indexes(spec: &str) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    // Reading must not create: an OCI layout is opened only if it exists.
    let store: Box<dyn ArtifactStore> = match SourceSpec::parse(spec)? {
        SourceSpec::OciDir { path, .. } => {
            Box::new(OciLayoutStore::open(&path).with_context(|| format!("opening {spec}"))?)
        }
        _ => {
            open_store(spec, &StoreOptions::default()).with_context(|| format!("opening {spec}"))?
        }
    };
    let location = store.location();
    let mut images: BTreeMap<Digest, String> = BTreeMap::new();
    for tag in store
        .tags()
        .with_context(|| format!("listing tags of {location}"))?
    {
        let manifest = store
            .get_manifest(&ManifestRef::tag(&tag)?)
            .with_context(|| format!("{location}:{tag}"))?;
        if is_index(&manifest.media_type) {
            for child in index_children(&manifest.bytes)
                .with_context(|| format!("{location}:{tag}: reading the image index"))?
            {
                let name = format!("{location}:{tag}@{child}");
                images.entry(child).or_insert(name);
            }
        } else {
            images
                .entry(manifest.digest)
                .or_insert_with(|| format!("{location}:{tag}"));
        }
    }
    let mut out = Vec::new();
    for (digest, name) in images {
        let list = store
            .referrers(&digest, Some(stella_sbom::BOM_INDEX_MEDIA_TYPE))
            .with_context(|| format!("referrers of {name}"))?;
        let Some(chosen) = newest(&list) else {
            eprintln!("stella: {name}: no BOM-Index attached (skipped)");
            continue;
        };
        let blobs = artifact_blobs(store.as_ref(), chosen, MAX_BOM_INDEX_BYTES)
            .with_context(|| format!("{name}: reading BOM-Index {}", chosen.digest))?;
        match blobs
            .into_iter()
            .find(|(d, _)| d.media_type == stella_sbom::BOM_INDEX_MEDIA_TYPE)
        {
            Some((_, data)) => out.push((name, data)),
            None => bail!(
                "{name}: artifact {} holds no BOM-Index layer",
                chosen.digest
            ),
        }
    }
    Ok(out)
}

fn is_index(media_type: &str) -> bool {
    media_type == MEDIA_OCI_INDEX || media_type == MEDIA_DOCKER_LIST
}

/// The manifests an image index lists (nested indexes are not followed).
fn index_children(bytes: &[u8]) -> anyhow::Result<Vec<Digest>> {
    #[derive(serde::Deserialize)]
    struct Index {
        #[serde(default)]
        manifests: Vec<Descriptor>,
    }
    let index: Index = serde_json::from_slice(bytes)?;
    Ok(index
        .manifests
        .into_iter()
        .filter(|d| !is_index(&d.media_type))
        .map(|d| d.digest)
        .collect())
}

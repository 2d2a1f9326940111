//! `stella vex attach VEXFILE --to IMAGE` and `stella vex list IMAGE`: VEX
//! documents as OCI referrers of the image they speak about, and
//! [`discover_vex`], which `stella scan` uses to find them.
//!
//! An attached VEX document is an image-spec 1.1 artifact manifest whose
//! `subject` is the image's platform manifest (the one `stella scan` reads
//! for the same `--platform`), `artifactType` `application/vnd.openvex+json`
//! or `application/vnd.cyclonedx+json`, one layer holding the document's
//! exact bytes (titled `vex.openvex.json` / `vex.cdx.json`), and the
//! annotation `dev.stellaops.vex` = `openvex` | `cyclonedx`.
//!
//! CycloneDX SBOMs use the same artifactType, so discovery tells them
//! apart: a CycloneDX referrer is VEX when its manifest carries
//! `dev.stellaops.vex`; one that Stella attached without it
//! (`dev.stellaops.tool`: an SBOM of `scan --attach`) is not; any other is
//! read and is VEX when it parses as VEX (it has
//! `vulnerabilities[].analysis.state`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde::Deserialize;
use stella_model::{ArtifactRef, Digest};
use stella_policy::vex::{
    self, VexDocument, VexFormat, WarningKind, CYCLONEDX_MEDIA_TYPE, OPENVEX_MEDIA_TYPE,
};
use stella_registry_store::oci::Descriptor;
use stella_registry_store::{
    attach, open_target, ArtifactBlob, ArtifactStore, ManifestRef, OpenOptions, SourceSpec,
    StoreOptions, Target,
};

use stella_attest::statement::PREDICATE_OPENVEX;

use crate::artifacts::{open_options, ImageArgs, ListFormat};
use crate::attest::TrustedKeys;

/// Manifest annotation marking a VEX artifact; its value is the format.
pub const ANNOTATION_VEX: &str = "dev.stellaops.vex";
/// Annotation naming the tool that wrote an artifact (as `scan --attach` sets it).
const ANNOTATION_TOOL: &str = "dev.stellaops.tool";
/// Annotation with the artifact's own time: the document's timestamp.
const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";

#[derive(Subcommand)]
pub enum VexCommand {
    /// Attach an OpenVEX or CycloneDX VEX document to an image as an OCI referrer.
    Attach(AttachArgs),
    /// List the VEX documents attached to an image.
    List(ListArgs),
}

#[derive(Args)]
pub struct AttachArgs {
    /// The VEX document: OpenVEX or CycloneDX VEX JSON.
    pub file: PathBuf,
    /// The image: oci-dir:PATH[:TAG|@DIGEST], registry:REF or a bare REF.
    #[arg(long = "to", value_name = "IMAGE")]
    pub to: String,
    /// Platform to pick from a multi-platform image (os/arch[/variant]); default: this host's.
    #[arg(long)]
    pub platform: Option<String>,
    /// Allow plain HTTP to this registry (loopback registries always may). Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
    /// Print only the attached artifact's digest.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// table (default) or json.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = ListFormat::Table)]
    pub output: ListFormat,
    /// Public key (PEM) that signed VEX attestations must verify with.
    /// Repeatable. Without one, signed VEX is listed as skipped.
    #[arg(long = "vex-key", value_name = "PUB")]
    pub vex_keys: Vec<PathBuf>,
}

pub fn run(command: VexCommand) -> anyhow::Result<u8> {
    match command {
        VexCommand::Attach(args) => attach_file(args),
        VexCommand::List(args) => list(args),
    }
}

/// A VEX document found attached to an image.
#[derive(Debug, Clone)]
pub struct AttachedVex {
    pub document: VexDocument,
    /// The artifact manifest that carries it (a referrer of the image).
    pub artifact: Descriptor,
    /// `LOCATION@ARTIFACT_DIGEST` and the document's digest: what a
    /// verdict lists among the VEX it applied.
    pub source: ArtifactRef,
}

/// The VEX referrers of one image.
#[derive(Debug, Clone, Default)]
pub struct DiscoveredVex {
    /// Sorted by artifact digest, then layer order.
    pub found: Vec<AttachedVex>,
    /// Referrers that claimed to be VEX and were not usable, with why
    /// (never fatal: an unreadable VEX document only leaves findings active).
    pub skipped: Vec<String>,
    /// The digests the image goes by: its platform manifest, then the
    /// index it was picked from (image statements may name either).
    pub image: Vec<Digest>,
}

impl DiscoveredVex {
    /// The documents with where they came from.
    pub fn into_pairs(self) -> Vec<(VexDocument, ArtifactRef)> {
        self.found
            .into_iter()
            .map(|a| (a.document, a.source))
            .collect()
    }
}

/// Opens the store behind IMAGE without creating anything (an `oci-dir:`
/// that does not exist is an error, not a new empty layout).
fn open_existing(image: &str, open: &OpenOptions) -> anyhow::Result<Target> {
    match SourceSpec::parse(image)? {
        SourceSpec::OciDir { path, .. } if !path.join("oci-layout").is_file() => {
            bail!("{image}: {} is not an OCI image layout", path.display())
        }
        SourceSpec::OciDir { .. } | SourceSpec::Registry { .. } => {}
        _ => bail!("{image}: VEX documents are attached to images in an OCI layout (oci-dir:PATH) or a registry"),
    }
    open_target(image, &StoreOptions::from(open)).with_context(|| format!("opening {image}"))
}

/// IMAGE resolved the way `stella scan` does.
pub struct ResolvedImage {
    pub store: Box<dyn ArtifactStore>,
    /// The platform manifest: what `vex attach` attaches to.
    pub manifest: Descriptor,
    /// The multi-platform index IMAGE names, when it names one.
    pub index: Option<Digest>,
}

/// The platform manifest of IMAGE (and the index it was picked from), and
/// the store it lives in.
pub fn resolve_image(image: &str, open: &OpenOptions) -> anyhow::Result<ResolvedImage> {
    let target = open_existing(image, open)?;
    let resolved = target
        .image(&open.platform, image)
        .with_context(|| format!("opening {image}"))?;
    let index = (resolved.top.digest != resolved.manifest.digest).then_some(resolved.top.digest);
    Ok(ResolvedImage {
        store: target.store,
        manifest: resolved.manifest,
        index,
    })
}

/// The VEX documents attached to IMAGE — to its platform manifest and, for
/// an image picked from a multi-platform index, to that index (see the
/// module doc for what counts as VEX), each artifact manifest and blob
/// digest-verified. Also returns the platform manifest's descriptor; pass
/// [`DiscoveredVex::image`] to `stella_policy::vex::apply_to_image`.
pub fn discover_vex_of(
    image: &str,
    open: &OpenOptions,
    keys: &TrustedKeys,
) -> anyhow::Result<(Descriptor, DiscoveredVex)> {
    let resolved = resolve_image(image, open)?;
    let mut found = discover_vex(resolved.store.as_ref(), &resolved.manifest.digest, keys)?;
    if let Some(index) = &resolved.index {
        let more = discover_vex(resolved.store.as_ref(), index, keys)?;
        found.found.extend(more.found);
        found.skipped.extend(more.skipped);
        found.image.push(index.clone());
    }
    Ok((resolved.manifest, found))
}

/// The VEX documents attached to the manifest `subject` in `store`: VEX
/// referrers, and OpenVEX predicates of in-toto attestations (`stella
/// attest --type openvex`, `cosign attest --type openvex`) that one of
/// `keys` verifies — signed VEX is never applied unverified.
pub fn discover_vex(
    store: &dyn ArtifactStore,
    subject: &Digest,
    keys: &TrustedKeys,
) -> anyhow::Result<DiscoveredVex> {
    let referrers = store
        .referrers(subject, None)
        .with_context(|| format!("referrers of {subject} in {}", store.location()))?;
    let mut out = DiscoveredVex {
        image: vec![subject.clone()],
        ..DiscoveredVex::default()
    };
    for referrer in referrers {
        let artifact_type = referrer.artifact_type.as_deref().unwrap_or_default();
        if artifact_type != OPENVEX_MEDIA_TYPE && artifact_type != CYCLONEDX_MEDIA_TYPE {
            continue;
        }
        if let Err(e) = read_referrer(store, &referrer, artifact_type, &mut out) {
            out.skipped
                .push(format!("{}@{}: {e:#}", store.location(), referrer.digest));
        }
    }
    read_signed(store, subject, keys, &mut out)?;
    Ok(out)
}

/// OpenVEX's predicate type, unversioned (cosign's `--type openvex`) or
/// versioned (`…/ns/v0.2.0`).
fn is_openvex_predicate(predicate_type: &str) -> bool {
    predicate_type == PREDICATE_OPENVEX
        || predicate_type
            .strip_prefix(PREDICATE_OPENVEX)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Signed VEX: each verified OpenVEX attestation's predicate is a VEX
/// document; one that does not verify is reported, not applied.
fn read_signed(
    store: &dyn ArtifactStore,
    subject: &Digest,
    keys: &TrustedKeys,
    out: &mut DiscoveredVex,
) -> anyhow::Result<()> {
    let location = store.location();
    for signed in crate::attest::signed_statements(store, subject, keys, is_openvex_predicate)? {
        let name = format!("{location}@{}", signed.artifact.digest);
        let statement = match signed.statement {
            Ok(statement) => statement,
            Err(("no-keys", _)) => {
                out.skipped.push(format!(
                    "{name}: signed VEX not applied: no --vex-key to verify it with"
                ));
                continue;
            }
            Err((code, reason)) => {
                out.skipped
                    .push(format!("{name}: signed VEX not applied ({code}): {reason}"));
                continue;
            }
        };
        let parsed = serde_json::to_vec(&statement.predicate)
            .map_err(|e| e.to_string())
            .and_then(|bytes| vex::parse(&bytes).map_err(|e| e.to_string()));
        match parsed {
            Ok(document) => out.found.push(AttachedVex {
                source: ArtifactRef {
                    name,
                    digest: document.digest.clone(),
                },
                document,
                artifact: signed.artifact,
            }),
            Err(e) => out
                .skipped
                .push(format!("{name}: signed VEX predicate: {e}")),
        }
    }
    Ok(())
}

/// The parts of an artifact manifest discovery reads.
#[derive(Deserialize)]
struct ArtifactManifest {
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

fn read_referrer(
    store: &dyn ArtifactStore,
    referrer: &Descriptor,
    artifact_type: &str,
    out: &mut DiscoveredVex,
) -> anyhow::Result<()> {
    let location = store.location();
    // By digest: the store checks the bytes against it.
    let manifest = store.get_manifest(&ManifestRef::Digest(referrer.digest.clone()))?;
    let parsed: ArtifactManifest =
        serde_json::from_slice(&manifest.bytes).context("reading the artifact manifest")?;
    let marked = parsed.annotations.contains_key(ANNOTATION_VEX);
    if artifact_type == CYCLONEDX_MEDIA_TYPE
        && !marked
        && parsed.annotations.contains_key(ANNOTATION_TOOL)
    {
        // A Stella SBOM (`scan --attach`): its vulnerabilities are our own
        // findings, not statements about them.
        return Ok(());
    }
    let mut errors = Vec::new();
    let mut any = false;
    for (i, layer) in parsed.layers.iter().enumerate() {
        let limit = vex::MAX_DOCUMENT_BYTES as u64;
        if layer.size > limit {
            errors.push(format!(
                "layer {i} is {} bytes, over the {limit}-byte limit",
                layer.size
            ));
            continue;
        }
        let data = store.get_blob(&layer.digest, limit)?;
        if data.len() as u64 != layer.size || Digest::sha256_of(&data) != layer.digest {
            bail!("layer {i} ({}) does not match its descriptor", layer.digest);
        }
        match vex::parse(&data) {
            Ok(document) => {
                any = true;
                let source = ArtifactRef {
                    name: format!("{location}@{}", referrer.digest),
                    digest: document.digest.clone(),
                };
                out.found.push(AttachedVex {
                    document,
                    artifact: referrer.clone(),
                    source,
                });
            }
            Err(e) => errors.push(format!("layer {i}: {e}")),
        }
    }
    // An unmarked CycloneDX artifact that is not VEX is an SBOM: not ours to report.
    if !any && (artifact_type == OPENVEX_MEDIA_TYPE || marked) {
        if errors.is_empty() {
            bail!("no layer holds a VEX document");
        }
        bail!("{}", errors.join("; "));
    }
    Ok(())
}

/// `stella vex attach`: validates the document, then attaches it. Exit 0.
fn attach_file(args: AttachArgs) -> anyhow::Result<u8> {
    let path = &args.file;
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if size > vex::MAX_DOCUMENT_BYTES as u64 {
        bail!(
            "{}: {size} bytes, over the {}-byte limit of a VEX document",
            path.display(),
            vex::MAX_DOCUMENT_BYTES
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let document = vex::parse(&bytes).with_context(|| path.display().to_string())?;
    if document.has_invalid_statements() {
        let problems: Vec<String> = document
            .warnings
            .iter()
            .filter(|w| w.kind == WarningKind::Invalid)
            .map(|w| format!("  {w}"))
            .collect();
        bail!(
            "{}: {} statement(s) are invalid and would be ignored; fix them before attaching:\n{}",
            path.display(),
            problems.len(),
            problems.join("\n")
        );
    }
    for w in &document.warnings {
        eprintln!("stella: {}: {w}", path.display());
    }
    let open = open_options(&args.insecure_registries, args.platform.as_deref())?;
    let ResolvedImage {
        store,
        manifest: subject,
        ..
    } = resolve_image(&args.to, &open)?;
    let format = document.format;
    let title = match format {
        VexFormat::OpenVex => "vex.openvex.json",
        VexFormat::CycloneDx => "vex.cdx.json",
    };
    let mut annotations = BTreeMap::from([
        (ANNOTATION_VEX.to_string(), format.as_str().to_string()),
        (
            ANNOTATION_TOOL.to_string(),
            format!("stella {}", env!("CARGO_PKG_VERSION")),
        ),
    ]);
    // The document's own time, so attaching the same bytes twice writes
    // the same manifest (no wall clock).
    if let Some(t) = &document.timestamp {
        annotations.insert(ANNOTATION_CREATED.to_string(), t.as_str().to_string());
    }
    let blob = ArtifactBlob::new(format.media_type(), bytes).titled(title);
    let attached = attach(
        store.as_ref(),
        &subject,
        format.media_type(),
        &[blob],
        &annotations,
    )
    .with_context(|| {
        format!(
            "attaching {} to {} in {}",
            path.display(),
            subject.digest,
            store.location()
        )
    })?;
    if !args.quiet {
        eprintln!(
            "attached {format} {} ({} statements) as {} to {} in {}",
            document.digest,
            document.statements.len(),
            attached.digest,
            subject.digest,
            store.location()
        );
    }
    println!("{}", attached.digest);
    Ok(0)
}

/// `stella vex list IMAGE`: exit 0, also when none is attached.
fn list(args: ListArgs) -> anyhow::Result<u8> {
    let open = args.image.open_options()?;
    let keys = TrustedKeys::load(&args.vex_keys)?;
    let (subject, discovered) = discover_vex_of(&args.image.image, &open, &keys)?;
    for why in &discovered.skipped {
        eprintln!("stella: skipped {why}");
    }
    let mut stdout = std::io::stdout().lock();
    match args.output {
        ListFormat::Json => {
            let vex: Vec<serde_json::Value> = discovered
                .found
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "artifact": a.artifact,
                        "source": a.source.name,
                        "format": a.document.format.as_str(),
                        "document": a.document.digest,
                        "id": a.document.id,
                        "timestamp": a.document.timestamp.as_ref().map(|t| t.as_str()),
                        "statements": a.document.statements.len(),
                        "warnings": a.document.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let doc = serde_json::json!({
                "subject": subject,
                "image": discovered.image,
                "vex": vex,
                "skipped": discovered.skipped,
            });
            serde_json::to_writer_pretty(&mut stdout, &doc)?;
            writeln!(stdout)?;
        }
        ListFormat::Table => {
            writeln!(
                stdout,
                "{} VEX documents attached to {}",
                discovered.found.len(),
                subject.digest
            )?;
            for a in &discovered.found {
                writeln!(
                    stdout,
                    "{}  {}  {} statements  {}  {}",
                    a.artifact.digest,
                    a.document.format.as_str(),
                    a.document.statements.len(),
                    a.document.digest,
                    a.document.id.as_deref().unwrap_or("-")
                )?;
            }
        }
    }
    Ok(0)
}

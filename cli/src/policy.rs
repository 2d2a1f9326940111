//! `stella policy validate|push|pull`: `stella-policy@1` documents (see
//! docs/policy.md) as OCI artifacts. The artifact is one layer, the YAML
//! file's exact bytes, so the manifest digest — the policy's revision —
//! depends on those bytes alone. [`load_policy`] is how `stella scan
//! --policy` reads a policy from a file, a layout or a registry.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde::Deserialize;
use stella_model::{ArtifactRef, Digest};
use stella_policy::rules::{parse, Policy, MAX_POLICY_BYTES};
use stella_registry_store::oci::{Descriptor, EMPTY_JSON, EMPTY_JSON_DIGEST, MEDIA_OCI_MANIFEST};
use stella_registry_store::{
    artifact_manifest, open_target, ArtifactBlob, LayoutSelector, ManifestRef, SourceSpec,
    StoreOptions,
};

/// The artifactType of a policy artifact, and the media type of its layer.
pub const POLICY_ARTIFACT_TYPE: &str = "application/vnd.stellaops.policy.v1+yaml";
pub const POLICY_MEDIA_TYPE: &str = "application/vnd.stellaops.policy.v1+yaml";
/// The layer's title: the file name `oras pull` writes.
pub const POLICY_TITLE: &str = "policy.yaml";
/// The tag pushes go to when the reference names none.
const DEFAULT_TAG: &str = "latest";

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Check a policy: a file, oci-dir:PATH[:TAG] or registry:REF.
    Validate(ValidateArgs),
    /// Validate a policy file and push it as an OCI artifact; prints its
    /// revision (the manifest digest).
    Push(PushArgs),
    /// Fetch a policy artifact, verify and validate it, write its YAML.
    Pull(PullArgs),
}

#[derive(Args)]
pub struct ValidateArgs {
    /// A policy file, oci-dir:PATH[:TAG] or registry:HOST/REPO[:TAG|@DIGEST].
    #[arg(value_name = "POLICY")]
    pub policy: String,
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
}

#[derive(Args)]
pub struct PushArgs {
    /// The policy file (YAML).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Where to: oci-dir:PATH[:TAG] or registry:HOST/REPO[:TAG] (tag
    /// `latest` when none is given).
    #[arg(value_name = "REF")]
    pub target: String,
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
}

#[derive(Args)]
pub struct PullArgs {
    /// oci-dir:PATH[:TAG|@DIGEST] or registry:HOST/REPO[:TAG|@DIGEST].
    #[arg(value_name = "REF")]
    pub reference: String,
    /// Write the YAML here (default: stdout, the revision then goes to stderr).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
}

/// Exit codes as documented in docs/policy.md: 0 done, 1 invalid policy or
/// failed transfer (usage errors are clap's 64).
pub fn run(command: PolicyCommand) -> anyhow::Result<u8> {
    match command {
        PolicyCommand::Validate(args) => validate(args),
        PolicyCommand::Push(args) => push(args),
        PolicyCommand::Pull(args) => pull(args),
    }
}

fn store_options(insecure: &[String]) -> StoreOptions {
    StoreOptions {
        insecure_registries: insecure.to_vec(),
        ..StoreOptions::default()
    }
}

fn validate(args: ValidateArgs) -> anyhow::Result<u8> {
    let opts = store_options(&args.insecure_registries);
    let (policy, reference) = load_policy(&args.policy, &opts)?;
    eprintln!(
        "{}: valid stella-policy@1{}: {} rules, {} exceptions",
        args.policy,
        policy
            .name
            .as_deref()
            .map(|n| format!(" {n:?}"))
            .unwrap_or_default(),
        policy.rules.len(),
        policy.exceptions.len()
    );
    println!("{}", reference.digest);
    Ok(0)
}

fn push(args: PushArgs) -> anyhow::Result<u8> {
    let bytes = read_policy_file(&args.file)?;
    let policy = parse(&bytes).with_context(|| {
        format!(
            "{} is not a valid policy; nothing pushed",
            args.file.display()
        )
    })?;
    let opts = store_options(&args.insecure_registries);
    create_tagged_layout(&args.target)?;
    let target =
        open_target(&args.target, &opts).with_context(|| format!("opening {}", args.target))?;
    // A layout named without a tag gets `latest`, not its only image.
    let untagged_layout = matches!(
        SourceSpec::parse(&args.target),
        Ok(SourceSpec::OciDir {
            selector: LayoutSelector::Only,
            ..
        })
    );
    let tag = match &target.reference {
        _ if untagged_layout => DEFAULT_TAG.to_string(),
        Some(ManifestRef::Tag(t)) => t.clone(),
        Some(ManifestRef::Digest(d)) => {
            bail!("{}: push to a tag, not a digest ({d})", args.target)
        }
        None => DEFAULT_TAG.to_string(),
    };
    let store = target.store.as_ref();
    let layer = ArtifactBlob::new(POLICY_MEDIA_TYPE, bytes).titled(POLICY_TITLE);
    let descriptor = layer.descriptor();
    let empty: Digest = EMPTY_JSON_DIGEST
        .parse()
        .context("the empty descriptor's digest")?;
    store.put_blob(&empty, EMPTY_JSON)?;
    store.put_blob(&descriptor.digest, &layer.data)?;
    let manifest = artifact_manifest(None, POLICY_ARTIFACT_TYPE, &[descriptor], &BTreeMap::new())?;
    let pushed = store.put_manifest(&manifest, MEDIA_OCI_MANIFEST, Some(&tag))?;
    eprintln!(
        "pushed {} ({} rules, {} exceptions) to {} as {tag}",
        args.file.display(),
        policy.rules.len(),
        policy.exceptions.len(),
        store.location()
    );
    println!("{}", pushed.digest);
    Ok(0)
}

fn pull(args: PullArgs) -> anyhow::Result<u8> {
    let opts = store_options(&args.insecure_registries);
    let (bytes, reference) = fetch_artifact(&args.reference, &opts)?;
    parse(&bytes).with_context(|| {
        format!(
            "{} (revision {}) is not a valid policy",
            args.reference, reference.digest
        )
    })?;
    match &args.output {
        Some(path) => {
            write_file(path, &bytes)?;
            println!("{}", reference.digest);
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)?;
            out.flush()?;
            eprintln!("{}", reference.digest);
        }
    }
    Ok(0)
}

/// `oci-dir:PATH:TAG` with neither `PATH:TAG` nor `PATH` on disk: creates
/// `PATH`. The store's parser only splits a tag off a path that exists
/// (paths may contain colons), so a first push to a new layout would
/// otherwise create a directory named `PATH:TAG`.
fn create_tagged_layout(spec: &str) -> anyhow::Result<()> {
    let Some(rest) = spec.strip_prefix("oci-dir:") else {
        return Ok(());
    };
    let Some((path, tag)) = rest.rsplit_once(':') else {
        return Ok(());
    };
    if path.is_empty()
        || tag.contains('/')
        || rest.contains('@')
        || ManifestRef::tag(tag).is_err()
        || Path::new(rest).exists()
        || Path::new(path).exists()
    {
        return Ok(());
    }
    std::fs::create_dir_all(path).with_context(|| format!("creating the layout {path}"))
}

/// Reads a policy from a file path, `oci-dir:PATH[:TAG|@DIGEST]` or
/// `registry:REF`, and checks it. The reference names where it came from
/// and its revision: the manifest digest of an artifact, the sha256 of a
/// file's bytes.
pub fn load_policy(spec: &str, opts: &StoreOptions) -> anyhow::Result<(Policy, ArtifactRef)> {
    let (bytes, reference) = if is_artifact(spec) {
        fetch_artifact(spec, opts)?
    } else {
        let bytes = read_policy_file(Path::new(spec))?;
        let digest = Digest::sha256_of(&bytes);
        (
            bytes,
            ArtifactRef {
                name: spec.to_string(),
                digest,
            },
        )
    };
    let policy = parse(&bytes).with_context(|| {
        format!(
            "{spec} (revision {}) is not a valid policy",
            reference.digest
        )
    })?;
    Ok((policy, reference))
}

fn is_artifact(spec: &str) -> bool {
    spec.starts_with("oci-dir:") || spec.starts_with("registry:")
}

fn read_policy_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if size > MAX_POLICY_BYTES as u64 {
        bail!(
            "{}: {size} bytes, over the policy limit of {MAX_POLICY_BYTES}",
            path.display()
        );
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// The fields of a policy manifest we check.
#[derive(Deserialize)]
struct PolicyManifest {
    #[serde(rename = "artifactType", default)]
    artifact_type: Option<String>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

/// The policy artifact's YAML bytes (every digest and size checked) and
/// its reference. Layouts are never created by reading.
fn fetch_artifact(spec: &str, opts: &StoreOptions) -> anyhow::Result<(Vec<u8>, ArtifactRef)> {
    if let Ok(SourceSpec::OciDir { path, .. }) = SourceSpec::parse(spec) {
        if !path.join("oci-layout").is_file() {
            bail!("{spec}: {} is not an OCI image layout", path.display());
        }
    }
    let target = open_target(spec, opts).with_context(|| format!("opening {spec}"))?;
    let reference = target
        .reference
        .clone()
        .unwrap_or_else(|| ManifestRef::Tag(DEFAULT_TAG.to_string()));
    let store = target.store.as_ref();
    let manifest = store
        .get_manifest(&reference)
        .with_context(|| format!("fetching {reference} from {}", store.location()))?;
    let what = format!("{spec} (manifest {})", manifest.digest);
    if manifest.media_type != MEDIA_OCI_MANIFEST {
        bail!("{what} is not a policy: media type {}", manifest.media_type);
    }
    let parsed: PolicyManifest = serde_json::from_slice(&manifest.bytes)
        .with_context(|| format!("{what}: malformed manifest"))?;
    if parsed.artifact_type.as_deref() != Some(POLICY_ARTIFACT_TYPE) {
        bail!(
            "{what} is not a policy: artifactType {:?}, expected {POLICY_ARTIFACT_TYPE}",
            parsed.artifact_type.unwrap_or_default()
        );
    }
    let [layer] = parsed.layers.as_slice() else {
        bail!(
            "{what}: a policy has one layer, this has {}",
            parsed.layers.len()
        );
    };
    if layer.media_type != POLICY_MEDIA_TYPE {
        bail!(
            "{what}: layer {} has media type {:?}, expected {POLICY_MEDIA_TYPE}",
            layer.digest,
            layer.media_type
        );
    }
    if layer.size > MAX_POLICY_BYTES as u64 {
        bail!(
            "{what}: the policy layer is {} bytes, over the limit of {MAX_POLICY_BYTES}",
            layer.size
        );
    }
    let bytes = store
        .get_blob(&layer.digest, MAX_POLICY_BYTES as u64)
        .with_context(|| format!("{what}: fetching layer {}", layer.digest))?;
    if bytes.len() as u64 != layer.size {
        bail!(
            "{what}: layer {} is {} bytes, its descriptor says {}",
            layer.digest,
            bytes.len(),
            layer.size
        );
    }
    Ok((
        bytes,
        ArtifactRef {
            name: spec.to_string(),
            digest: manifest.digest,
        },
    ))
}

/// Writes through a temporary file beside `path`, so a failed pull never
/// leaves half a policy behind.
fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .with_context(|| format!("{}: not a file name", path.display()))?;
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

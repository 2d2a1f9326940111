//! `stella scan SOURCE`.

use std::io::IsTerminal;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use stella_analyzers::{scan_dir, scan_image_with, LayerCache, ScanOptions};
use stella_model::{Inventory, PROP_USAGE};
use stella_registry_store::{
    open_image, SourceSpec, DEFAULT_CONTAINERD_ADDRESS, DEFAULT_CONTAINERD_NAMESPACE,
};
use stella_sbom::SbomOptions;

use crate::artifacts;
use crate::cache::{CacheArgs, ScanCache};
use crate::findings::{self, FindingArgs};
use crate::output::{write_all_with, Format, OutputSpec, RenderOptions};
use crate::progress::Bar;

#[derive(Args)]
pub struct ScanArgs {
    /// What to scan: oci-dir:PATH[:TAG|@DIGEST], oci-archive:PATH, docker-archive:PATH,
    /// registry:REF, containerd:REF, dir:PATH, or a bare image reference.
    pub source: String,
    /// Output as FORMAT[=FILE]: cyclonedx-json, spdx-json, json, table, bom-index (=FILE only). Repeatable.
    /// Default: table on a terminal, json otherwise.
    #[arg(short = 'o', long = "output", value_name = "FORMAT[=FILE]")]
    pub outputs: Vec<OutputSpec>,
    /// Platform to pick from a multi-platform image (os/arch[/variant]); default: this host's.
    #[arg(long)]
    pub platform: Option<String>,
    /// Layers streamed, and advisory lookups made, in parallel (default: number of CPUs).
    #[arg(long, env = "STELLA_THREADS")]
    pub threads: Option<usize>,
    /// Allow plain HTTP to this registry (loopback registries always may). Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
    /// Keep unreadable package databases as warnings in the output instead of failing.
    #[arg(long)]
    pub lenient: bool,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
    /// Which components to emit: `full` (all; those the entrypoint uses carry
    /// `stella:usage=true`) or `usage` (only those). Needs an image config.
    #[arg(long, value_enum, default_value_t = View::Full)]
    pub view: View,
    /// Also push CycloneDX, SPDX and BOM-Index as OCI referrers of the scanned
    /// manifest (oci-dir: and registry sources; see `stella referrers`, `stella sbom`).
    #[arg(long)]
    pub attach: bool,
    /// With --attach and --policy: also sign the verdict into an in-toto
    /// attestation with this key (PKCS#8/SEC1 PEM, or cosign.key with
    /// COSIGN_PASSWORD) and attach it, as `stella attest --type verdict` does.
    #[arg(long = "sign-key", value_name = "FILE", requires = "attach")]
    pub sign_key: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub cache: CacheArgs,
    #[command(flatten)]
    pub containerd: ContainerdArgs,
    #[command(flatten)]
    pub findings: FindingArgs,
}

/// Where `containerd:REF` images are read from.
#[derive(Args, Clone)]
pub struct ContainerdArgs {
    /// containerd's gRPC socket, for containerd:REF (a path or unix://PATH).
    #[arg(
        long = "containerd-address",
        env = "CONTAINERD_ADDRESS",
        value_name = "PATH",
        default_value = DEFAULT_CONTAINERD_ADDRESS
    )]
    pub address: String,
    /// containerd namespace, for containerd:REF (docker's containerd image store: moby).
    #[arg(
        long = "containerd-namespace",
        env = "CONTAINERD_NAMESPACE",
        value_name = "NAME",
        default_value = DEFAULT_CONTAINERD_NAMESPACE
    )]
    pub namespace: String,
}

/// `--view`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum View {
    /// Every component found.
    Full,
    /// Only the components in the entrypoint's usage closure.
    Usage,
}

/// Exit 0, or 2 when a policy's verdict is `fail` (errors are 1).
pub fn run(args: ScanArgs) -> anyhow::Result<u8> {
    let spec = SourceSpec::parse(&args.source)?;
    let mut opts = ScanOptions::default();
    if let Some(t) = args.threads {
        if t == 0 {
            bail!("--threads must be at least 1");
        }
        opts.threads = t;
    }
    opts.lenient = args.lenient;
    args.findings.check()?;
    let outputs = if args.outputs.is_empty() {
        let format = if std::io::stdout().is_terminal() {
            Format::Table
        } else if args.findings.wanted() {
            Format::FindingsJson
        } else {
            Format::Json
        };
        vec![OutputSpec { format, file: None }]
    } else {
        args.outputs.clone()
    };
    // Fail on bad arguments before spending time on the scan.
    if let Some(spec) = outputs.iter().find(|o| o.format.needs_findings()) {
        if !args.findings.wanted() {
            bail!("-o {} needs findings: add --feeds REF", spec.format.name());
        }
        if spec.format == Format::VerdictJson && args.findings.policy.is_none() {
            bail!("-o verdict-json needs a policy: add --policy REF");
        }
    }
    let epoch = source_date_epoch()?;
    if args.view == View::Usage && matches!(spec, SourceSpec::Dir { .. }) {
        bail!("--view usage needs an image: a dir: source has no config saying what runs");
    }
    if args.attach {
        if !matches!(
            spec,
            SourceSpec::OciDir { .. } | SourceSpec::Registry { .. }
        ) {
            bail!("--attach needs an image in an OCI layout (oci-dir:) or a registry");
        }
        if args.view == View::Usage {
            bail!("--attach attaches the full SBOM (it marks usage); drop --view usage");
        }
    }
    // A bad key or password fails before the scan, not after it.
    let sign_key = match &args.sign_key {
        Some(_) if args.findings.policy.is_none() => {
            bail!("--sign-key signs the verdict: add --feeds REF and --policy REF")
        }
        Some(path) => Some(crate::attest::load_signing_key(path)?),
        None => None,
    };
    let mut open = artifacts::open_options(&args.insecure_registries, args.platform.as_deref())?;
    open.containerd_address = args.containerd.address.clone();
    open.containerd_namespace = args.containerd.namespace.clone();
    let show_progress = !args.quiet && std::io::stderr().is_terminal();

    let mut inventory: Inventory = match &spec {
        SourceSpec::Dir { path } => scan_dir(path, &args.source, &opts)?,
        _ => {
            let image = open_image(&spec, &open, &args.source)
                .with_context(|| format!("opening {}", args.source))?;
            let total = image.layers.iter().filter_map(|l| l.size).sum();
            let cache = ScanCache::open(&args.cache);
            let bar = Bar::new(total, show_progress);
            let result = scan_image_with(
                &image,
                &opts,
                &bar,
                cache.as_ref().map(|c| c as &dyn LayerCache),
            );
            bar.finish();
            if let Some(cache) = &cache {
                cache.finish();
            }
            result?
        }
    };
    if args.view == View::Usage {
        inventory
            .components
            .retain(|c| c.properties.get(PROP_USAGE).is_some_and(|v| v == "true"));
    }
    let findings = if args.findings.wanted() {
        let image_vex = matches!(
            spec,
            SourceSpec::OciDir { .. } | SourceSpec::Registry { .. }
        );
        Some(findings::run(
            &args.findings,
            &args.source,
            &inventory,
            &open,
            &findings::RunContext {
                image_vex,
                epoch,
                quiet: args.quiet,
                threads: args.threads.unwrap_or(0),
            },
        )?)
    } else {
        None
    };
    let render = render_options(&inventory, epoch, &opts.tool.version);
    write_all_with(
        &outputs,
        &inventory,
        &render,
        findings.as_ref().map(|f| &f.document),
    )?;
    if args.attach {
        let Some(manifest) = inventory.image.manifest_digest.as_ref() else {
            bail!("{}: no manifest digest to attach to", args.source);
        };
        let subject = artifacts::subject_in_store(&args.source, manifest, &open)?;
        artifacts::attach_sboms(&subject, &inventory, &render, args.quiet)?;
        if let Some(verdict) = findings.as_ref().and_then(|f| f.verdict()) {
            let tool = format!("stella {}", inventory.tool.version);
            findings::attach_verdict(&subject, verdict, &render.sbom.timestamp, &tool, args.quiet)?;
            if let Some(key) = &sign_key {
                crate::attest::attach_signed_verdict(
                    &subject,
                    inventory.image.name.clone(),
                    verdict,
                    key,
                    &render.sbom.timestamp,
                    args.quiet,
                )?;
            }
        }
    }
    Ok(findings.map_or(0, |f| f.exit_code()))
}

/// Timestamps for the outputs: `SOURCE_DATE_EPOCH` when given, else the
/// image's `created`, else the epoch — never the wall clock.
pub fn render_options(
    inventory: &Inventory,
    epoch: Option<u64>,
    tool_version: &str,
) -> RenderOptions {
    let (timestamp, generated_at_us) = match epoch {
        Some(secs) => (
            timestamp_of(secs),
            i64::try_from(secs).unwrap_or(i64::MAX / 1_000_000) * 1_000_000,
        ),
        None => (image_timestamp(inventory), image_created_us(inventory)),
    };
    RenderOptions {
        sbom: SbomOptions {
            tool_version: tool_version.to_string(),
            timestamp,
        },
        generated_at_us,
    }
}

/// Seconds since the epoch as an SBOM timestamp (RFC 3339, UTC, seconds).
pub fn timestamp_of(secs: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

/// `SOURCE_DATE_EPOCH` (seconds), when set.
pub fn source_date_epoch() -> anyhow::Result<Option<u64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => {
            Ok(Some(v.trim().parse().with_context(|| {
                format!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds")
            })?))
        }
        _ => Ok(None),
    }
}

/// The image's `created` time in µs since the epoch (BOM-Index keeps the
/// fraction the SBOM timestamps drop), else 0: never the wall clock.
fn image_created_us(inv: &Inventory) -> i64 {
    let Some(t) = inv
        .image
        .created
        .as_deref()
        .and_then(|c| humantime::parse_rfc3339_weak(c).ok())
    else {
        return 0;
    };
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_micros()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_micros()).map_or(i64::MIN, |us| -us),
    }
}

/// The image's `created` time (UTC, whole seconds), else the epoch: never the wall clock.
fn image_timestamp(inv: &Inventory) -> String {
    let parsed = inv
        .image
        .created
        .as_deref()
        .and_then(|c| humantime::parse_rfc3339_weak(c).ok());
    let t = parsed.unwrap_or(UNIX_EPOCH);
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    timestamp_of(secs)
}

//! `stella scan … --feeds REF [--policy REF] [--vex FILE]`: the scan's
//! inventory matched against the feeds DB, VEX applied (files given and
//! VEX referrers of the image), the policy evaluated into a verdict, and
//! the findings written as tables, JSON, SARIF or CycloneDX.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::Args;
use stella_feeds::db::FeedDb;
use stella_model::{ArtifactRef, Digest, Finding, Inventory, Outcome, Verdict};
use stella_policy::matcher::{match_inventory, AdvisorySource, MatchOptions, SourceError};
use stella_policy::report::FindingsDocument;
use stella_policy::rules::{evaluate, EvalInput, Timestamp};
use stella_policy::vex::{self, VexDocument};
use stella_registry_store::{OpenOptions, StoreOptions};

use crate::artifacts::{attach_all, Attachment, Subject};

/// artifactType of an attached verdict.
pub const VERDICT_TYPE: &str = "application/vnd.stellaops.verdict.v1+json";

/// The options `stella scan` takes for findings.
#[derive(Args, Clone, Default)]
pub struct FindingArgs {
    /// Match the inventory against this feeds DB: oci-dir:PATH[:TAG],
    /// registry:REF (pulled into the feeds cache first), or a cache
    /// directory `stella feeds pull` filled.
    #[arg(long, value_name = "REF")]
    pub feeds: Option<String>,
    /// The feeds cache for --feeds (default: as `stella feeds pull`).
    #[arg(long = "feeds-cache", value_name = "DIR")]
    pub feeds_cache: Option<PathBuf>,
    /// Evaluate this stella-policy@1 document (a file, oci-dir:… or
    /// registry:…) into a verdict; exit 2 when it fails. Needs --feeds.
    #[arg(long, value_name = "REF")]
    pub policy: Option<String>,
    /// Apply this OpenVEX or CycloneDX VEX document. Repeatable. VEX
    /// referrers of a scanned image are applied too.
    #[arg(long = "vex", value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    /// Do not look for VEX referrers of the image.
    #[arg(long = "no-vex-referrers")]
    pub no_vex_referrers: bool,
    /// Public key (PEM) that signed VEX attestations of the image (OpenVEX
    /// in DSSE: `stella attest`/`cosign attest --type openvex`) must verify
    /// with. Repeatable. Signed VEX is never applied unverified.
    #[arg(long = "vex-key", value_name = "PUB")]
    pub vex_keys: Vec<PathBuf>,
    /// Also match the Go toolchain of Go binaries that OS packages
    /// installed against the Go vulnerability database (off by default:
    /// a distro may patch its toolchain without the version saying so,
    /// and its own advisories are the ones for its packages).
    #[arg(long = "go-stdlib-of-os-packages")]
    pub go_stdlib_of_os_packages: bool,
    /// "Now" for finding age and exception expiry (RFC 3339); default
    /// SOURCE_DATE_EPOCH, else the clock. Recorded in the verdict.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
}

impl FindingArgs {
    pub fn wanted(&self) -> bool {
        self.feeds.is_some()
    }

    /// Argument errors, before any scanning.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.feeds.is_none() && (self.policy.is_some() || !self.vex.is_empty()) {
            bail!("--policy and --vex need --feeds (the findings come from the feeds DB)");
        }
        if let Some(at) = &self.at {
            Timestamp::parse(at).with_context(|| format!("--at {at:?} is not an RFC 3339 time"))?;
        }
        Ok(())
    }
}

/// The feeds DB as the matcher's advisory source: merged lookups.
struct FeedSource<'a>(&'a FeedDb);

impl AdvisorySource for FeedSource<'_> {
    fn advisories(
        &self,
        ecosystem: &str,
        name: &str,
    ) -> Result<std::sync::Arc<[stella_model::Advisory]>, SourceError> {
        self.0
            .lookup_merged(ecosystem, name)
            .map(Into::into)
            .map_err(|e| SourceError(e.to_string()))
    }

    fn ecosystems(&self) -> Result<Vec<String>, SourceError> {
        Ok(self.0.ecosystems())
    }
}

/// "Now" for the policy: `--at`, else `SOURCE_DATE_EPOCH`, else the clock.
fn evaluation_time(at: Option<&str>, epoch: Option<u64>) -> anyhow::Result<Timestamp> {
    Ok(match (at, epoch) {
        (Some(at), _) => {
            Timestamp::parse(at).with_context(|| format!("--at {at:?} is not an RFC 3339 time"))?
        }
        (None, Some(secs)) => Timestamp::from_unix(i64::try_from(secs).unwrap_or(i64::MAX)),
        (None, None) => {
            let secs = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            Timestamp::from_unix(i64::try_from(secs).unwrap_or(i64::MAX))
        }
    })
}

/// What the findings pipeline produced.
pub struct FindingsResult {
    pub document: FindingsDocument,
}

impl FindingsResult {
    pub fn verdict(&self) -> Option<&Verdict> {
        self.document.verdict.as_ref()
    }

    /// 2 when the verdict fails, else 0.
    pub fn exit_code(&self) -> u8 {
        match self.verdict().map(|v| v.outcome) {
            Some(Outcome::Fail) => 2,
            _ => 0,
        }
    }
}

/// How a scan runs the findings stage.
pub struct RunContext {
    /// The source is an image whose VEX referrers may be read.
    pub image_vex: bool,
    /// `SOURCE_DATE_EPOCH`, the policy's "now" when `--at` is absent.
    pub epoch: Option<u64>,
    pub quiet: bool,
    /// The matcher's threads (0: all cores).
    pub threads: usize,
}

/// Runs matcher, VEX and policy over a finished scan.
pub fn run(
    args: &FindingArgs,
    source: &str,
    inventory: &Inventory,
    open: &OpenOptions,
    context: &RunContext,
) -> anyhow::Result<FindingsResult> {
    let RunContext {
        image_vex,
        epoch,
        quiet,
        threads,
    } = *context;
    let Some(feeds_spec) = args.feeds.as_deref() else {
        bail!("no --feeds");
    };
    let (db, feeds_ref) = crate::feeds::open_db(feeds_spec, args.feeds_cache.as_deref(), open)?;
    // Findings never carry an advisory's long description.
    let db = db.without_details();
    let options = MatchOptions {
        threads,
        folded_go_stdlib: args.go_stdlib_of_os_packages,
        ..MatchOptions::default()
    };
    let report = match_inventory(inventory, &FeedSource(&db), &options)
        .context("matching the inventory against the feeds")?;
    if !quiet {
        for w in &report.warnings {
            eprintln!("warning: {w}");
        }
    }
    let mut findings: Vec<Finding> = report.findings;

    let mut documents: Vec<(VexDocument, ArtifactRef)> = Vec::new();
    for path in &args.vex {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let doc = vex::parse(&bytes).with_context(|| format!("VEX {}", path.display()))?;
        let source = ArtifactRef {
            name: path.display().to_string(),
            digest: doc.digest.clone(),
        };
        documents.push((doc, source));
    }
    // The digests image-level statements may name: the scanned manifest,
    // and the index it was picked from when the referrers say so.
    let mut image: Vec<Digest> = inventory.image.manifest_digest.iter().cloned().collect();
    if image_vex && !args.no_vex_referrers {
        let keys = crate::attest::TrustedKeys::load(&args.vex_keys)?;
        let (manifest, discovered) = crate::vex::discover_vex_of(source, open, &keys)
            .with_context(|| format!("looking for VEX referrers of {source}"))?;
        // The lookup resolves the reference again: a tag moved since the
        // scan would bring another image's VEX.
        if let Some(scanned) = &inventory.image.manifest_digest {
            if &manifest.digest != scanned {
                bail!(
                    "{source} now names {} but {scanned} was scanned: scan again, or by digest",
                    manifest.digest
                );
            }
        }
        if !quiet {
            for skipped in &discovered.skipped {
                eprintln!("warning: VEX referrer skipped: {skipped}");
            }
        }
        for digest in &discovered.image {
            if !image.contains(digest) {
                image.push(digest.clone());
            }
        }
        documents.extend(discovered.into_pairs());
    }
    let docs: Vec<VexDocument> = documents.iter().map(|(d, _)| d.clone()).collect();
    vex::apply_to_image(&mut findings, &docs, &image);
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));

    let mut vex_refs: Vec<ArtifactRef> = documents.into_iter().map(|(_, r)| r).collect();
    vex_refs.sort();
    vex_refs.dedup();
    let verdict = match &args.policy {
        None => None,
        Some(spec) => {
            let (policy, policy_ref) = crate::policy::load_policy(spec, &StoreOptions::from(open))?;
            let now = evaluation_time(args.at.as_deref(), epoch)?;
            Some(evaluate(
                &policy,
                &EvalInput {
                    inventory,
                    findings: &findings,
                    now,
                    policy_ref,
                    feeds_ref: feeds_ref.clone(),
                    vex_refs,
                    subject: inventory.image.manifest_digest.clone(),
                },
            ))
        }
    };
    let mut document = FindingsDocument::new(source, feeds_ref, findings);
    document.subject = inventory.image.manifest_digest.clone();
    document.distro = inventory.distro.clone();
    document.verdict = verdict;
    Ok(FindingsResult { document })
}

/// Pushes the verdict as a referrer of the scanned manifest.
pub fn attach_verdict(
    subject: &Subject,
    verdict: &Verdict,
    timestamp: &str,
    tool: &str,
    quiet: bool,
) -> anyhow::Result<()> {
    let mut data = serde_json::to_vec_pretty(verdict).context("writing the verdict")?;
    data.push(b'\n');
    let attached = attach_all(
        subject,
        vec![Attachment {
            artifact_type: VERDICT_TYPE,
            title: "verdict.json",
            data,
        }],
        timestamp,
        tool,
    )?;
    if !quiet {
        for d in &attached {
            eprintln!(
                "attached verdict {} to {}",
                d.digest, subject.descriptor.digest
            );
        }
    }
    Ok(())
}

//! `stella feeds pull REF`: the feeds artifact into the local cache (only
//! blobs not cached yet, each digest-checked), unpacked and indexed for
//! lookups.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use stella_feeds::db::{default_cache_dir, pull, DEFAULT_TAG};
use stella_registry_store::{open_target, ManifestRef, StoreOptions};

#[derive(Args)]
pub struct PullArgs {
    /// The artifact: oci-dir:PATH[:TAG|@DIGEST] or registry:HOST/REPO:TAG
    /// (tag `latest` in a layout when none is given).
    #[arg(value_name = "REF")]
    pub reference: String,
    /// The cache (default $XDG_CACHE_HOME/stella/feeds, else
    /// ~/.cache/stella/feeds).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Print the pull report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
}

/// Exit 0; 1 when the artifact cannot be fetched or is not a valid feeds
/// DB (the message names the blob's digest); the cache keeps its old DB.
pub fn run(args: PullArgs) -> anyhow::Result<u8> {
    let cache = match args.cache_dir.clone().or_else(default_cache_dir) {
        Some(dir) => dir,
        None => anyhow::bail!("no cache directory: set --cache-dir, XDG_CACHE_HOME or HOME"),
    };
    let options = StoreOptions {
        insecure_registries: args.insecure_registries.clone(),
        ..StoreOptions::default()
    };
    let target = open_target(&args.reference, &options)
        .with_context(|| format!("opening {}", args.reference))?;
    let reference = target
        .reference
        .clone()
        .unwrap_or_else(|| ManifestRef::Tag(DEFAULT_TAG.to_string()));
    let report = pull(target.store.as_ref(), &reference, &cache)?;
    if args.json {
        serde_json::to_writer_pretty(std::io::stdout().lock(), &report)?;
        println!();
    } else {
        eprintln!(
            "downloaded {} blobs ({} bytes), {} cached; {} advisories, {} keys in {}",
            report.downloaded.len(),
            report.downloaded_bytes(),
            report.cached.len(),
            report.advisories,
            report.keys,
            report.db_dir.display()
        );
        println!("{}", report.manifest_digest);
    }
    Ok(0)
}

//! `stella feeds lookup ECOSYSTEM NAME`: what the matcher sees for one
//! package — the merged advisories (with each field's source and the
//! reason it was chosen), or each source's own records with `--raw`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use stella_registry_store::OpenOptions;

#[derive(Args)]
pub struct LookupArgs {
    /// The ecosystem exactly as the sources spell it (`PyPI`, `Debian:12`, `Go`).
    pub ecosystem: String,
    /// The package name (PyPI: PEP 503-normalized, as the DB keys it).
    pub name: String,
    /// The feeds DB: a cache directory filled by `stella feeds pull`
    /// (default: the default cache), or oci-dir:…/registry:… (pulled first).
    #[arg(long, value_name = "REF")]
    pub db: Option<String>,
    /// The cache to pull into when --db is an artifact reference.
    #[arg(long = "cache-dir", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Each source's records as stored, not merged.
    #[arg(long)]
    pub raw: bool,
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
}

/// Prints a JSON array of advisories on stdout. Exit 0 (also when there
/// are none); 1 when the DB cannot be opened.
pub fn run(args: LookupArgs) -> anyhow::Result<u8> {
    let open = OpenOptions {
        insecure_registries: args.insecure_registries.clone(),
        ..OpenOptions::default()
    };
    let spec = match (&args.db, &args.cache_dir) {
        (Some(db), _) => db.clone(),
        (None, Some(dir)) => dir.display().to_string(),
        (None, None) => stella_feeds::db::default_cache_dir()
            .context("no feeds cache: give --db, or set XDG_CACHE_HOME or HOME")?
            .display()
            .to_string(),
    };
    let (db, _) = super::open_db(&spec, args.cache_dir.as_deref(), &open)?;
    let advisories = if args.raw {
        db.lookup_full(&args.ecosystem, &args.name)?
    } else {
        db.lookup_merged(&args.ecosystem, &args.name)?
    };
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &advisories)?;
    writeln!(out)?;
    Ok(0)
}

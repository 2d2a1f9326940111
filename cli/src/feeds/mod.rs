//! `stella feeds …`: advisory feeds as OCI artifacts (build, pull) and the
//! parity detector between sources.

mod build;
mod lookup;
mod parity;
mod pull;

use std::path::Path;

use anyhow::{bail, Context};
use clap::Subcommand;
use stella_feeds::db::{default_cache_dir, pull, FeedDb, DEFAULT_TAG};
use stella_model::{ArtifactRef, Digest};
use stella_registry_store::{open_target, ManifestRef, OpenOptions, StoreOptions};

#[derive(Subcommand)]
pub enum FeedsCommand {
    /// Build the merged advisory DB from sources and push it as one OCI
    /// artifact (a layer per source/ecosystem shard; unchanged shards keep
    /// their digests).
    Build(build::BuildArgs),
    /// Fetch a feeds artifact into the local cache (only changed layers).
    Pull(pull::PullArgs),
    /// The advisories of one package, merged across sources (as the matcher
    /// sees them), or each source's records (--raw).
    Lookup(lookup::LookupArgs),
    /// Compare two sources: aliases, affected ranges, fixed versions, severities.
    Parity(parity::ParityArgs),
}

/// Exit codes as documented in docs/cli.md.
pub fn run(command: FeedsCommand) -> anyhow::Result<u8> {
    match command {
        FeedsCommand::Build(args) => build::run(args),
        FeedsCommand::Pull(args) => pull::run(args),
        FeedsCommand::Lookup(args) => lookup::run(args),
        FeedsCommand::Parity(args) => parity::run(args),
    }
}

/// Opens the feeds DB `spec` names: a cache directory (one `stella feeds
/// pull` filled) as it is, anything else (`oci-dir:…`, `registry:…`) pulled
/// into `cache` first — only blobs not cached yet. Returns the DB and its
/// manifest digest under the name it was given.
pub fn open_db(
    spec: &str,
    cache: Option<&Path>,
    open: &OpenOptions,
) -> anyhow::Result<(FeedDb, ArtifactRef)> {
    let as_dir = Path::new(spec);
    if as_dir.join(stella_feeds::db::CURRENT_FILE).is_file() {
        let db = FeedDb::open(as_dir).with_context(|| format!("opening feeds cache {spec}"))?;
        let digest = db.manifest_digest().clone();
        return Ok((db, artifact_ref(spec, digest)));
    }
    let Some(cache) = cache.map(Path::to_path_buf).or_else(default_cache_dir) else {
        bail!("no feeds cache directory: set --feeds-cache, XDG_CACHE_HOME or HOME");
    };
    let target = open_target(spec, &StoreOptions::from(open))
        .with_context(|| format!("opening feeds {spec}"))?;
    let reference = target
        .reference
        .clone()
        .unwrap_or_else(|| ManifestRef::Tag(DEFAULT_TAG.to_string()));
    pull(target.store.as_ref(), &reference, &cache)
        .with_context(|| format!("pulling feeds {spec}"))?;
    let db =
        FeedDb::open(&cache).with_context(|| format!("opening feeds cache {}", cache.display()))?;
    let digest = db.manifest_digest().clone();
    Ok((db, artifact_ref(spec, digest)))
}

fn artifact_ref(name: &str, digest: Digest) -> ArtifactRef {
    ArtifactRef {
        name: name.to_string(),
        digest,
    }
}

//! `stella feeds build SRC… -o TARGET`: imports the sources, builds the
//! sharded DB and pushes it as one OCI artifact; blobs the target already
//! has are not sent, and the summary says what was.

use anyhow::Context;
use clap::Args;
use stella_feeds::db::{build, push, BuildOptions, SourceSpec, DEFAULT_TAG};
use stella_registry_store::{
    open_target, LayoutSelector, ManifestRef, SourceSpec as StoreSpec, StoreOptions,
};

#[derive(Args)]
pub struct BuildArgs {
    /// Sources as KIND:PATH (kind `osv`: a file, directory tree or zip of
    /// OSV JSON/YAML). The source is named KIND/<last path component>.
    #[arg(required = true, value_name = "KIND:PATH")]
    pub sources: Vec<String>,
    /// Where to push: oci-dir:PATH[:TAG] or registry:HOST/REPO:TAG
    /// (tag `latest` when none is given).
    #[arg(short = 'o', long = "output", value_name = "TARGET")]
    pub output: String,
    /// Threads for importing and compressing (the artifact is the same
    /// for any number).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the push report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
}

/// Exit 0; 1 when a source cannot be read or the push fails (bad records
/// are quarantined and counted, not fatal).
pub fn run(args: BuildArgs) -> anyhow::Result<u8> {
    let specs = args
        .sources
        .iter()
        .map(|s| SourceSpec::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let options = StoreOptions {
        insecure_registries: args.insecure_registries.clone(),
        ..StoreOptions::default()
    };
    let target =
        open_target(&args.output, &options).with_context(|| format!("opening {}", args.output))?;
    // A layout named without a tag gets `latest`, not its only image.
    let untagged_layout = matches!(
        StoreSpec::parse(&args.output),
        Ok(StoreSpec::OciDir {
            selector: LayoutSelector::Only,
            ..
        })
    );
    let tag = match &target.reference {
        _ if untagged_layout => DEFAULT_TAG.to_string(),
        Some(ManifestRef::Tag(t)) => t.clone(),
        Some(ManifestRef::Digest(d)) => {
            anyhow::bail!("{}: push to a tag, not a digest ({d})", args.output)
        }
        None => DEFAULT_TAG.to_string(),
    };
    let mut opts = BuildOptions::default();
    if let Some(t) = args.threads {
        opts.threads = t.max(1);
    }
    let db = build(&specs, &opts)?;
    for (source, q) in &db.quarantined {
        eprintln!("stella: {source}: quarantined {}: {}", q.path, q.reason);
    }
    let report = push(target.store.as_ref(), &db, &tag)?;
    if args.json {
        serde_json::to_writer_pretty(std::io::stdout().lock(), &report)?;
        println!();
    } else {
        for s in &db.metadata.sources {
            eprintln!(
                "{}: {} advisories, {} quarantined, {} ignored, input {}",
                s.name, s.advisories, s.quarantined, s.ignored, s.input_digest
            );
        }
        eprintln!(
            "{} shards; uploaded {} blobs ({} layers, {} bytes), reused {}",
            db.shards.len(),
            report.uploaded.len(),
            report.uploaded_layers(),
            report.uploaded_bytes(),
            report.reused.len()
        );
        println!("{}", report.manifest_digest);
    }
    Ok(0)
}

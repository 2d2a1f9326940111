//! `stella feeds …`: advisory feeds as OCI artifacts (build, pull) and the
//! parity detector between sources.

mod build;
mod parity;
mod pull;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum FeedsCommand {
    /// Build the merged advisory DB from sources and push it as one OCI
    /// artifact (a layer per source/ecosystem shard; unchanged shards keep
    /// their digests).
    Build(build::BuildArgs),
    /// Fetch a feeds artifact into the local cache (only changed layers).
    Pull(pull::PullArgs),
    /// Compare two sources: aliases, affected ranges, fixed versions, severities.
    Parity(parity::ParityArgs),
}

/// Exit codes as documented in docs/cli.md.
pub fn run(command: FeedsCommand) -> anyhow::Result<u8> {
    match command {
        FeedsCommand::Build(args) => build::run(args),
        FeedsCommand::Pull(args) => pull::run(args),
        FeedsCommand::Parity(args) => parity::run(args),
    }
}

//! `stella docker-plugin install [--dir DIR]`: makes this binary the docker
//! CLI plugin `docker stella` (the protocol itself is in
//! `stella_plugin::docker_cli`).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use stella_plugin::docker_cli;

#[derive(Subcommand)]
pub enum DockerPluginCommand {
    /// Link this binary as `docker-stella` in the docker CLI plugin directory.
    Install(InstallArgs),
}

#[derive(Args)]
pub struct InstallArgs {
    /// Plugin directory; default: ${DOCKER_CONFIG:-~/.docker}/cli-plugins.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn run(command: DockerPluginCommand) -> anyhow::Result<()> {
    match command {
        DockerPluginCommand::Install(args) => install(args),
    }
}

fn install(args: InstallArgs) -> anyhow::Result<()> {
    let dir = match args.dir {
        Some(d) => d,
        None => docker_cli::default_plugin_dir().ok_or(docker_cli::InstallError::NoDirectory)?,
    };
    let exe = std::env::current_exe().context("finding the running stella binary")?;
    // The link must keep working when the command was started through a
    // relative path or another link.
    let exe = exe
        .canonicalize()
        .with_context(|| format!("resolving {}", exe.display()))?;
    let link = docker_cli::install(&dir, &exe)?;
    println!("{} -> {}", link.display(), exe.display());
    Ok(())
}

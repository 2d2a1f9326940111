//! Placeholder: `stella feeds build` is being written.

use clap::Args;

#[derive(Args)]
pub struct BuildArgs {}

pub fn run(_args: BuildArgs) -> anyhow::Result<u8> {
    anyhow::bail!("stella feeds build: not implemented yet")
}

//! Placeholder: `stella feeds pull` is being written.

use clap::Args;

#[derive(Args)]
pub struct PullArgs {}

pub fn run(_args: PullArgs) -> anyhow::Result<u8> {
    anyhow::bail!("stella feeds pull: not implemented yet")
}

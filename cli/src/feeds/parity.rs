//! Placeholder: `stella feeds parity` is being written.

use clap::Args;

#[derive(Args)]
pub struct ParityArgs {}

pub fn run(_args: ParityArgs) -> anyhow::Result<u8> {
    anyhow::bail!("stella feeds parity: not implemented yet")
}

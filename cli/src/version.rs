//! `stella version compare`: the advisory feeds' version comparators on the
//! command line — one pair, or `--batch` pairs from stdin.

use std::cmp::Ordering;
use std::io::{BufRead, Write};

use anyhow::Context;
use clap::{Args, Subcommand};
use stella_version::{compare, Scheme};

#[derive(Subcommand)]
pub enum VersionCommand {
    /// Compare two versions (prints `<`, `=` or `>`), or with --batch one
    /// pair `A B` per stdin line, one answer per line.
    Compare(CompareArgs),
}

#[derive(Args)]
pub struct CompareArgs {
    /// Versioning scheme: semver, deb, rpm, apk, pypi, maven, nuget, gem,
    /// composer, or an OSV ecosystem name (npm, Debian:12, AlmaLinux, PyPI…).
    #[arg(long, short = 'e', value_name = "ECOSYSTEM")]
    pub ecosystem: Scheme,
    /// Read `A B` pairs from stdin (blank and `#` lines are skipped).
    #[arg(long, conflicts_with_all = ["a", "b"])]
    pub batch: bool,
    #[arg(required_unless_present = "batch")]
    pub a: Option<String>,
    #[arg(required_unless_present = "batch")]
    pub b: Option<String>,
}

/// Exit 0; 1 when a version is not valid for the scheme (in batch mode
/// after all lines: such lines answer `!` and are named on stderr).
pub fn run(command: VersionCommand) -> anyhow::Result<u8> {
    let VersionCommand::Compare(args) = command;
    match (&args.a, &args.b) {
        (Some(a), Some(b)) if !args.batch => {
            let order = compare(args.ecosystem, a, b)?;
            println!("{}", symbol(order));
            Ok(0)
        }
        _ => batch(args.ecosystem),
    }
}

fn batch(scheme: Scheme) -> anyhow::Result<u8> {
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut failed = 0usize;
    for (number, line) in stdin.lines().enumerate() {
        let line = line.context("reading stdin")?;
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let answer = match pair(text) {
            Some((a, b)) => compare(scheme, a, b).map_err(|e| e.to_string()),
            None => Err("expected two versions separated by whitespace".into()),
        };
        match answer {
            Ok(order) => writeln!(out, "{}", symbol(order))?,
            Err(why) => {
                failed += 1;
                writeln!(out, "!")?;
                eprintln!("stella: line {}: {why}", number + 1);
            }
        }
    }
    out.flush()?;
    Ok(u8::from(failed > 0))
}

/// `A B` (any whitespace between, nothing after).
fn pair(text: &str) -> Option<(&str, &str)> {
    let mut words = text.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(a), Some(b), None) => Some((a, b)),
        _ => None,
    }
}

fn symbol(order: Ordering) -> &'static str {
    match order {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    }
}

//! `stella`: the command-line front end. Thin on purpose: parse arguments,
//! call the engines, write outputs, map failures to exit codes.
//!
//! Exit codes: 0 success; 1 the command failed (bad input, I/O, registry);
//! 2 reserved for policy failures; 3 nothing found (`index query`: none of
//! the purls; `sbom`: no SBOM attached; `attach`: no Stella attestation;
//! `verify`: no attestation); 4 `verify`: an attestation was rejected;
//! 64 usage errors.

mod artifacts;
mod attach;
mod attest;
mod cache;
mod docker_plugin;
mod feeds;
mod findings;
mod generator;
mod generator_image;
mod index;
mod output;
mod policy;
mod progress;
mod scan;
mod version;
mod vex;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use stella_plugin::docker_cli::Invocation;

/// Usage errors (EX_USAGE), kept apart from 2 which policy failures will use.
const EXIT_USAGE: u8 = 64;

#[derive(Parser)]
#[command(
    name = "stella",
    version,
    about = "OCI-native supply-chain scanner: deterministic SBOMs from any image source"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan an image (or a root filesystem) and write SBOMs.
    Scan(Box<scan::ScanArgs>),
    /// Query BOM-Indexes: which images and layers contain a package.
    Index(index::IndexArgs),
    /// List the artifacts (SBOMs, BOM-Index, attestations) attached to an image.
    Referrers(artifacts::ReferrersArgs),
    /// Attach CycloneDX, SPDX and BOM-Index from the SBOM attestation a Stella
    /// generator wrote during `docker buildx build --sbom=generator=…` (no layer is read).
    Attach(attach::AttachArgs),
    /// Sign an in-toto attestation (SBOM, verdict, BOM-Index, …) about an image
    /// and attach it (OCI referrer; cosign's .att tag with --cosign-compat).
    Attest(Box<attest::AttestArgs>),
    /// `stella attest bench`: the DSSE batch-size sweep against a transparency log.
    #[command(name = "attest-bench", hide = true)]
    AttestBench(attest::bench::BenchArgs),
    /// Verify an image's attestations (Stella's and cosign's) offline with public keys.
    Verify(attest::VerifyArgs),
    /// Print the SBOM attached to an image (by `stella scan --attach`) instead of rescanning.
    Sbom(artifacts::SbomArgs),
    /// The BuildKit SBOM generator image.
    #[command(subcommand)]
    Generator(generator_image::GeneratorCommand),
    /// Run stella as the docker CLI plugin `docker stella`.
    #[command(subcommand)]
    DockerPlugin(docker_plugin::DockerPluginCommand),
    /// Version logic of the advisory feeds (per ecosystem).
    #[command(subcommand)]
    Version(version::VersionCommand),
    /// Advisory feeds as OCI artifacts.
    #[command(subcommand)]
    Feeds(feeds::FeedsCommand),
    /// stella-policy@1 documents as OCI artifacts (validate, push, pull).
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// VEX documents (OpenVEX, CycloneDX) attached to images as referrers.
    #[command(subcommand)]
    Vex(vex::VexCommand),
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    prefer_ca_bundle();
    // As `docker-stella`: the docker CLI plugin protocol first.
    let args = match stella_plugin::docker_cli::from_process() {
        Invocation::Metadata(json) => {
            println!("{json}");
            return ExitCode::SUCCESS;
        }
        Invocation::Stella(args) => args,
    };
    // BuildKit runs the generator image's entrypoint without arguments.
    if args.len() == 1 {
        match stella_plugin::generator::Request::from_env() {
            Ok(None) => {}
            Ok(Some(request)) => return report(generator::run(&request).map(|()| 0)),
            Err(e) => return report(Err(e.into())),
        }
    }
    let cli = match Cli::try_parse_from(attest_bench_as_one_word(args)) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Scan(args) => scan::run(*args),
        Command::Index(args) => index::run(args),
        Command::Referrers(args) => artifacts::referrers(args),
        Command::Sbom(args) => artifacts::sbom(args),
        Command::Attach(args) => attach::run(args),
        Command::Attest(args) => attest::attest(*args),
        Command::Verify(args) => attest::verify(args),
        Command::AttestBench(args) => attest::bench::run(args),
        Command::Generator(command) => generator_image::run(command).map(|()| 0),
        Command::DockerPlugin(command) => docker_plugin::run(command).map(|()| 0),
        Command::Version(command) => version::run(command),
        Command::Feeds(command) => feeds::run(command),
        Command::Policy(command) => policy::run(command),
        Command::Vex(command) => vex::run(command),
    };
    report(result)
}

/// `stella attest bench …` → `stella attest-bench …` (see cli/src/attest/bench.rs).
fn attest_bench_as_one_word(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    if args.get(1).is_some_and(|a| a == "attest") && args.get(2).is_some_and(|a| a == "bench") {
        args.splice(1..3, [std::ffi::OsString::from("attest-bench")]);
    }
    args
}

/// Points the TLS stack at the distribution's CA bundle file. Without it,
/// every HTTP client that loads trust roots (oci-client's, on the image read
/// path; ours load lazily, see stella_registry_store::tls) walks all of
/// `/etc/ssl/certs`, ~290 files: 30–40 ms each. Same certificates (the bundle is generated
/// from that directory), one read. Left alone when the user set either
/// variable or the bundle is not there.
fn prefer_ca_bundle() {
    const BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
    let user_chose =
        std::env::var_os("SSL_CERT_FILE").is_some() || std::env::var_os("SSL_CERT_DIR").is_some();
    if !user_chose && std::path::Path::new(BUNDLE).is_file() {
        // Still single-threaded here: nothing reads the environment concurrently.
        std::env::set_var("SSL_CERT_FILE", BUNDLE);
    }
}

/// The exit code of a command's result; errors go to stderr with their chain.
fn report(result: anyhow::Result<u8>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("stella: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

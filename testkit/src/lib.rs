//! # stella-testkit
//!
//! Test-only helpers shared by the crates' integration tests: the real CNCF
//! distribution registry started on loopback, a raw HTTP client for
//! poking loopback servers, a fault-injecting proxy to put in front of
//! a registry, finding oras, and the end-to-end harness of `tests/e2e/up.sh`
//! (real dockerd, containerd and BuildKit) as its environment describes it,
//! with images tests add to it.
//! Never a dependency of shipped code.

pub mod buildkit;
pub mod distribution;
pub mod docker_images;
pub mod http;
pub mod oras;
pub mod proxy;
pub mod rfc6962_log;

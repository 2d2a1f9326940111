//! # stella-testkit
//!
//! Test-only helpers shared by the crates' integration tests: the real CNCF
//! distribution registry started on loopback, and a raw HTTP client for
//! poking loopback servers. Never a dependency of shipped code.

pub mod distribution;
pub mod http;

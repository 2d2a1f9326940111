//! # stella-testkit
//!
//! Test-only helpers shared by the crates' integration tests: the real CNCF
//! distribution registry started on loopback, a raw HTTP client for
//! poking loopback servers, and a fault-injecting proxy to put in front of
//! a registry. Never a dependency of shipped code.

pub mod distribution;
pub mod http;
pub mod proxy;

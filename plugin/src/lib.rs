//! Build-time integration of Stella with Docker and BuildKit.
//!
//! - [`generator`]: the BuildKit SBOM generator protocol — when BuildKit runs
//!   our image with `BUILDKIT_SCAN_SOURCE`/`BUILDKIT_SCAN_DESTINATION`, scan
//!   the read-only root filesystem (and every extra under
//!   `BUILDKIT_SCAN_SOURCE_EXTRAS`) and write in-toto SPDX statements.
//! - [`attach`]: `stella attach` — reads that attestation back from the
//!   pushed image index and rebuilds the inventory without reading a layer.
//!
//! The CLI stays a thin front end over these functions; nothing here parses
//! command lines.

pub mod attach;
pub mod generator;

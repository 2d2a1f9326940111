//! Build-time integration of Stella with Docker and BuildKit.
//!
//! - [`generator`]: the BuildKit SBOM generator protocol — when BuildKit runs
//!   our image with `BUILDKIT_SCAN_SOURCE`/`BUILDKIT_SCAN_DESTINATION`, scan
//!   the read-only root filesystem (and every extra under
//!   `BUILDKIT_SCAN_SOURCE_EXTRAS`) and write in-toto SPDX statements.
//! - [`attach`]: `stella attach` — reads that attestation back from the
//!   pushed image index and rebuilds the inventory without reading a layer.
//! - [`generator_image`]: the image BuildKit runs as the generator, built
//!   reproducibly from the stella binary (and what it needs to start).
//! - [`docker_cli`]: `docker stella`, the binary run as a docker CLI plugin.
//!
//! The CLI stays a thin front end over these functions; nothing here parses
//! stella's command line (`docker_cli` only peels off the plugin protocol).

pub mod attach;
pub mod docker_cli;
pub mod generator;
pub mod generator_image;

/// The project's home page: plugin metadata, image labels.
pub const PROJECT_URL: &str = "https://stella-ops.org";

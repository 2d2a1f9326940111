//! The BuildKit SBOM generator protocol (DESIGN.md §3). Filled in by issue 5.

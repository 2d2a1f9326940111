//! VEX: OpenVEX and CycloneDX VEX documents applied to findings.

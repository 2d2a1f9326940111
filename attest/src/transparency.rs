//! Transparency log: RFC 6962 proofs, checkpoints, a Rekor client (filled in by the transparency work).

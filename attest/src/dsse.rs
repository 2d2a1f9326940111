//! DSSE envelopes and in-toto statements (filled in by the attest work).

//! Language package analyzers: what package managers installed into the
//! image (npm, Python, …), each with the file that proves it.
pub mod npm;
pub mod python;

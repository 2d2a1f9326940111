//! Language package analyzers: what package managers installed into the
//! image (npm, Python, Ruby gems, Composer, NuGet, …), each with the file
//! that proves it.
pub mod composer;
pub mod dotnet;
pub mod gem;
pub mod npm;
pub mod python;

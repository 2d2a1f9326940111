//! File analyzers for binaries and archives (ELF, Go, Rust, Java), run while
//! layers stream; see [`crate::file_analyzer`].

pub mod elf;

//! File analyzers for binaries and archives (ELF, Go, Rust, Java), run while
//! layers stream; see [`crate::file_analyzer`].

pub mod elf;
pub mod elf_facts;
pub mod go;
pub mod java;
pub mod rust;

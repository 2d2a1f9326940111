//! Analyzers of single files, run *inside* the layer walk.
//!
//! Package databases are small and are read from the squashed view after all
//! layers streamed ([`crate::PackageAnalyzer`]). Binaries and archives (ELF,
//! Go and Rust executables, jars) are not: an image may hold gigabytes of
//! them. A [`FileAnalyzer`] instead sees each file once, while its layer
//! streams, keeps only what it learned (a [`FileReport`]) and lets the bytes
//! go. The squash later decides which reports are visible in the final image:
//! the report of the layer that provides a path at the top wins.

use stella_model::Component;

/// Bytes of each regular file offered to [`FileAnalyzer::claims`] (magic numbers).
pub const HEAD_LEN: usize = 64;

/// Dynamic-linking facts of one ELF file (used by EntryTrace and the usage view).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ElfInfo {
    /// GNU build-id note, lowercase hex.
    pub build_id: Option<String>,
    /// `DT_SONAME`.
    pub soname: Option<String>,
    /// `DT_NEEDED`, in file order.
    pub needed: Vec<String>,
    /// `PT_INTERP` (the dynamic loader), absent for static binaries.
    pub interpreter: Option<String>,
    /// `DT_RPATH` entries (split on `:`), searched before `LD_LIBRARY_PATH`.
    pub rpath: Vec<String>,
    /// `DT_RUNPATH` entries (split on `:`), searched after `LD_LIBRARY_PATH`.
    pub runpath: Vec<String>,
    /// `e_machine` name, e.g. `x86_64`, `aarch64`.
    pub machine: String,
    /// True for 64-bit ELF.
    pub is_64: bool,
}

/// The text of a script, kept for EntryTrace (see [`crate::entrytrace::script`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptText {
    /// The whole file, or only its first line when it is over the size limit.
    pub text: Vec<u8>,
    /// False when `text` is only the first line.
    pub complete: bool,
}

/// What the file analyzers learned about one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileReport {
    /// Components this file proves (evidence: the file's path; the engine
    /// sets the layer).
    pub components: Vec<Component>,
    /// Problems with this file that did not stop the scan, each prefixed with
    /// the analyzer's name.
    pub notes: Vec<String>,
    pub elf: Option<ElfInfo>,
    /// Scripts EntryTrace may have to read (small executable `#!` files and
    /// files named in the image's ENTRYPOINT/CMD).
    pub script: Option<ScriptText>,
}

impl FileReport {
    pub fn is_empty(&self) -> bool {
        self.components.is_empty()
            && self.notes.is_empty()
            && self.elf.is_none()
            && self.script.is_none()
    }
}

/// An analyzer of individual files (binaries, archives).
pub trait FileAnalyzer: Send + Sync {
    /// Stable name, e.g. `go-buildinfo`.
    fn name(&self) -> &'static str;
    /// Bumped whenever the output for the same input may change.
    fn version(&self) -> u32;
    /// True when this analyzer wants the whole file. Called for every regular
    /// file of every layer with its normalized path, mode bits and first
    /// [`HEAD_LEN`] bytes (fewer for short files): keep it cheap.
    fn claims(&self, path: &str, mode: u32, head: &[u8]) -> bool;
    /// Reads the claimed file and adds what it found to `report`. An `Err`
    /// becomes a warning naming the file; the scan goes on.
    fn analyze_file(&self, path: &str, data: &[u8], report: &mut FileReport) -> Result<(), String>;
}

/// Runs every claiming analyzer over one file's bytes.
pub(crate) fn analyze_claimed(
    analyzers: &[&dyn FileAnalyzer],
    path: &str,
    data: &[u8],
) -> FileReport {
    let mut report = FileReport::default();
    for a in analyzers {
        if let Err(message) = a.analyze_file(path, data, &mut report) {
            report.notes.push(format!("{}: {message}", a.name()));
        }
    }
    for c in &mut report.components {
        if !c.evidence.iter().any(|e| e == path) {
            c.evidence.push(path.to_string());
        }
    }
    report
}

//! Keeps the text of the scripts EntryTrace may have to read, during the
//! one streaming pass: every executable file starting with `#!`, and any
//! non-ELF file whose name appears in the image's ENTRYPOINT/CMD (`sh
//! start.sh` needs no executable bit and no `#!`).
//!
//! Memory stays bounded: a script over [`MAX_SCRIPT_BYTES`] keeps only its
//! first line (enough to follow its `#!`), and a Debian image carries a few
//! hundred KiB of such scripts in all.

use std::collections::BTreeSet;

use crate::binary::elf::is_elf;
use crate::file_analyzer::{FileAnalyzer, FileReport, ScriptText};

/// Largest script kept whole. Entrypoint scripts are a few KiB.
pub const MAX_SCRIPT_BYTES: usize = 256 * 1024;
/// Longest first line kept from a larger script (Linux reads at most 256
/// bytes of a `#!` line).
const MAX_FIRST_LINE: usize = 256;

/// Captures script text for EntryTrace. The default one keeps executable
/// `#!` files; [`ScriptAnalyzer::naming`] makes the image-specific companion
/// that keeps the files ENTRYPOINT/CMD name (and nothing the default keeps).
#[derive(Debug, Clone, Default)]
pub struct ScriptAnalyzer {
    /// Base names of the words of ENTRYPOINT/CMD: those files are kept even
    /// without `#!` or an executable bit.
    named: BTreeSet<String>,
    /// Claim only the named files.
    named_only: bool,
}

impl ScriptAnalyzer {
    /// Keeps the non-ELF files whose base name is one of the words of `argv`
    /// (ENTRYPOINT + CMD; `sh -c` strings are split on white space) and that
    /// the default analyzer does not already keep.
    pub fn naming(argv: &[String]) -> ScriptAnalyzer {
        let named = argv
            .iter()
            .flat_map(|a| a.split_whitespace())
            .map(|w| w.trim_matches(|c| matches!(c, '"' | '\'' | ';' | '&' | '|' | '(' | ')')))
            .filter_map(|w| w.rsplit('/').next())
            .filter(|b| !b.is_empty() && !b.starts_with('-') && !b.contains('='))
            .map(str::to_string)
            .collect();
        ScriptAnalyzer {
            named,
            named_only: true,
        }
    }

    /// True when this is a [`ScriptAnalyzer::naming`] analyzer and `path`'s
    /// base name is one of its words: the only files it may claim (the layer
    /// cache uses this to tell which layers it can matter for).
    pub fn names(&self, path: &str) -> bool {
        self.named_only && self.named.contains(base_name(path))
    }
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

impl FileAnalyzer for ScriptAnalyzer {
    fn name(&self) -> &'static str {
        "script"
    }

    fn version(&self) -> u32 {
        1
    }

    fn claims(&self, path: &str, mode: u32, head: &[u8]) -> bool {
        let executable_script = head.starts_with(b"#!") && mode & 0o111 != 0;
        if !self.named_only {
            return executable_script;
        }
        !executable_script && !is_elf(head) && self.named.contains(base_name(path))
    }

    fn analyze_file(
        &self,
        _path: &str,
        data: &[u8],
        report: &mut FileReport,
    ) -> Result<(), String> {
        report.script = Some(if data.len() <= MAX_SCRIPT_BYTES {
            ScriptText {
                text: data.to_vec(),
                complete: true,
            }
        } else {
            let head = &data[..data.len().min(MAX_FIRST_LINE)];
            let line = head.split(|&b| b == b'\n').next().unwrap_or(head);
            ScriptText {
                text: line.to_vec(),
                complete: false,
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_executable_shebang_files_and_named_files() {
        let plain = ScriptAnalyzer::default();
        assert!(plain.claims("usr/bin/x", 0o755, b"#!/bin/sh\n"));
        assert!(!plain.claims("usr/share/x.py", 0o644, b"#!/usr/bin/python3\n"));
        assert!(!plain.claims("usr/bin/x", 0o755, b"\x7fELF"));
        let named = ScriptAnalyzer::naming(&[
            "/bin/sh".into(),
            "-c".into(),
            "cd /app && sh ./start.sh --port=80".into(),
        ]);
        assert!(named.claims("app/start.sh", 0o644, b"echo hi\n"));
        assert!(!named.claims("app/other.sh", 0o644, b"echo hi\n"));
        assert!(!named.claims("bin/sh", 0o755, b"\x7fELF"));
        // Left to the default analyzer: no file is read twice.
        assert!(!named.claims("app/start.sh", 0o755, b"#!/bin/sh\n"));
    }

    #[test]
    fn keeps_only_the_first_line_of_large_scripts() {
        let mut big = b"#!/usr/bin/perl -w\n".to_vec();
        big.resize(MAX_SCRIPT_BYTES + 1, b'#');
        let mut report = FileReport::default();
        ScriptAnalyzer::default()
            .analyze_file("usr/bin/big", &big, &mut report)
            .unwrap();
        let script = report.script.unwrap();
        assert_eq!(script.text, b"#!/usr/bin/perl -w");
        assert!(!script.complete);
    }
}

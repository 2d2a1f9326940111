//! EntryTrace's reading of untrusted shell text: the command-string parser,
//! the exec-line finder and word expansion directly, then whole traces where
//! the input is an entrypoint script (`#!/bin/sh` + input) and a `sh -c`
//! string. Any result is fine; a panic, a stack overflow or a hang is not.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use stella_analyzers::entrytrace::shell::{exec_commands, expand, parse_commands, Params};
use stella_analyzers::entrytrace::{trace, FileStat, StartConfig, TraceFs};
use stella_analyzers::{ElfInfo, ScriptText};

/// `/bin/sh`, `/usr/bin/python3` (ELF) and `/entry.sh` (the input).
struct Tiny {
    elf: ElfInfo,
    script: ScriptText,
}

impl TraceFs for Tiny {
    fn stat(&self, path: &str) -> Result<Option<FileStat>, String> {
        let path = match path {
            "bin/sh" | "usr/bin/python3" | "entry.sh" => path,
            _ => return Ok(None),
        };
        Ok(Some(FileStat {
            path: path.to_string(),
            is_file: true,
            mode: 0o755,
        }))
    }
    fn elf(&self, path: &str) -> Option<&ElfInfo> {
        (path != "entry.sh").then_some(&self.elf)
    }
    fn script(&self, path: &str) -> Option<&ScriptText> {
        (path == "entry.sh").then_some(&self.script)
    }
    fn list_dir(&self, _dir: &str) -> Vec<String> {
        Vec::new()
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let env: BTreeMap<String, String> = [("PATH".to_string(), "/usr/bin:/bin".to_string())].into();
    let positional = vec!["a b".to_string(), "c".to_string()];
    let params = Params {
        env: &env,
        arg0: "x",
        positional: &positional,
        unset_is_unknown: false,
    };
    if let Ok(commands) = parse_commands(&text) {
        for c in commands.iter().take(64) {
            for w in &c.words {
                let _ = expand(w, &params);
            }
        }
    }
    for line in text.lines().take(64) {
        let _ = exec_commands(line);
    }
    let mut script = b"#!/bin/sh\n".to_vec();
    script.extend_from_slice(data);
    let fs = Tiny {
        elf: ElfInfo::default(),
        script: ScriptText {
            text: script,
            complete: true,
        },
    };
    for start in [
        StartConfig {
            entrypoint: vec!["/entry.sh".into()],
            cmd: vec!["python3".into()],
            ..StartConfig::default()
        },
        StartConfig {
            entrypoint: vec!["sh".into(), "-c".into(), text.to_string()],
            ..StartConfig::default()
        },
    ] {
        let t = trace(&fs, &start);
        assert!(!t.chains.is_empty());
    }
});

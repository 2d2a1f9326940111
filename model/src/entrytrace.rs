//! What runs when the image starts: the config's `ENTRYPOINT` + `CMD`
//! followed through wrappers, shells and script interpreters to the final
//! program(s), and the files those programs load (the usage closure).

use serde::{Deserialize, Serialize};

/// Component property set to `true` on every component in the usage closure.
pub const PROP_USAGE: &str = "stella:usage";

/// The entrypoint, traced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryTrace {
    /// `Entrypoint` followed by `Cmd`, as the runtime would exec them.
    pub argv: Vec<String>,
    /// One chain per program the start-up runs (a `sh -c` string with
    /// `a && b` runs two); usually exactly one.
    pub chains: Vec<EntryChain>,
    /// Every file in the usage closure (paths without leading `/`, symlinks
    /// resolved), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Libraries the closure needs but the image does not provide, as
    /// `NAME (needed by PATH)`, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unresolved: Vec<String>,
}

/// One path from the runtime's `execve` to a final program.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryChain {
    pub steps: Vec<EntryStep>,
    /// Why the chain could not be followed further; `None` when its last
    /// step is the final program.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<EntryStop>,
}

/// One program (or script) on the way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryStep {
    /// The file, without leading `/`, symlinks resolved.
    pub path: String,
    /// The path it was executed as, when that is a symlink to `path`
    /// (`usr/bin/python3` for `usr/bin/python3.11`): its owner is in use too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    pub kind: EntryStepKind,
    /// The arguments it receives (`argv[0]` as the caller wrote it).
    pub argv: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryStepKind {
    /// A native program: the final one, unless a later step follows.
    Elf,
    /// A `#!` script (or a file a shell reads as one).
    Script,
    /// The program that runs a script (from its `#!` line, or `sh FILE`).
    Interpreter,
    /// A program that execs its arguments: tini, dumb-init, gosu, su-exec, env.
    Wrapper,
    /// A shell running a `-c` command string.
    Shell,
}

/// Where and why a chain stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryStop {
    /// Stable code: `no-command`, `not-found`, `not-executable`,
    /// `not-a-file`, `unknown-format`, `script-unreadable`,
    /// `shell-construct`, `unresolved-variable`, `no-exec`, `wrapper-usage`,
    /// `too-deep`, `symlink-loop`.
    pub reason: String,
    /// What exactly, for a human.
    pub message: String,
}

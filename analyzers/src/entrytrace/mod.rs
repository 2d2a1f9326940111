//! EntryTrace: follows the image config's `ENTRYPOINT` + `CMD` the way the
//! container runtime, the kernel and the usual wrappers would, to the
//! program(s) that end up running, and records each step.
//!
//! What is followed:
//! - exec form vs shell form (`/bin/sh -c "…"`, what Docker writes for
//!   `CMD cmd args`): the command string is split into simple commands, each
//!   followed as its own chain; `cd`, `export`, `NAME=value` and `exec` are
//!   understood, other builtins skipped;
//! - `PATH` lookup (the config `Env` PATH, else Docker's default) with the
//!   executable bit checked, relative paths against `WorkingDir`, symlinks;
//! - `#!` lines, exactly as Linux parses them (one optional argument), so
//!   `#!/usr/bin/env python3` continues with `env`, then `python3` via PATH;
//! - wrappers: tini, dumb-init, gosu, su-exec, env (`-i`, `-u`, `-S`,
//!   `NAME=value`), busybox applets;
//! - shell scripts, statically: the last `exec COMMAND` line (`exec "$@"`
//!   continues with the script's own arguments), else the last line when it
//!   is a plain command. No shell is interpreted: branches, `set --`, and
//!   variables assigned by the script are not evaluated.
//!
//! Whenever the next step cannot be decided, the chain stops with a reason
//! ([`EntryStop`]) instead of guessing. The logic only sees files through
//! [`TraceFs`], so it is tested on small in-memory trees.

pub mod script;
pub mod shell;

use std::collections::BTreeMap;

use stella_model::{EntryChain, EntryStep, EntryStepKind, EntryStop, EntryTrace};

use crate::file_analyzer::{ElfInfo, FileReport, ScriptText};
use crate::layer::EntryKind;
use crate::squash::SquashedFs;
use shell::{ExpandError, Params};

/// The `PATH` Docker (and containerd, CRI-O) set when the image has none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// The `PATH` `execvp` uses when the environment has none (glibc `_CS_PATH`).
const EXECVP_DEFAULT_PATH: &str = "/bin:/usr/bin";
/// Steps in one chain before we give up (wrappers of wrappers…).
const MAX_STEPS: usize = 24;
/// Chains in one trace (`sh -c` strings with many commands).
const MAX_CHAINS: usize = 32;

/// Shells we can read `-c` strings and scripts for.
const SHELLS: [&str; 10] = [
    "sh", "bash", "dash", "ash", "ksh", "mksh", "zsh", "yash", "posh", "rbash",
];

/// What is at a path, after following symlinks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStat {
    /// Physical path, without leading `/`.
    pub path: String,
    pub is_file: bool,
    pub mode: u32,
}

/// The filesystem as EntryTrace needs it. Paths have no leading `/`.
pub trait TraceFs {
    /// Follows symlinks; `Ok(None)` when nothing is there, `Err` on a loop.
    fn stat(&self, path: &str) -> Result<Option<FileStat>, String>;
    /// ELF facts of the file at a physical path.
    fn elf(&self, path: &str) -> Option<&ElfInfo>;
    /// Script text kept for the file at a physical path.
    fn script(&self, path: &str) -> Option<&ScriptText>;
    /// Names in a directory (physical path), sorted; empty when none.
    fn list_dir(&self, dir: &str) -> Vec<String>;
}

/// The squashed image with the file analyzers' reports of its visible files.
pub struct ImageFs<'a> {
    pub view: &'a SquashedFs<'a>,
    /// Reports by physical path (only the visible ones).
    pub reports: &'a BTreeMap<String, &'a FileReport>,
}

impl TraceFs for ImageFs<'_> {
    fn stat(&self, path: &str) -> Result<Option<FileStat>, String> {
        let physical = self.view.resolve(path).map_err(|e| e.to_string())?;
        Ok(self.view.node(&physical).map(|node| FileStat {
            is_file: matches!(node.kind, EntryKind::File | EntryKind::Hardlink(_)),
            mode: node.mode,
            path: physical,
        }))
    }

    fn elf(&self, path: &str) -> Option<&ElfInfo> {
        self.reports.get(path).and_then(|r| r.elf.as_ref())
    }

    fn script(&self, path: &str) -> Option<&ScriptText> {
        self.reports.get(path).and_then(|r| r.script.as_ref())
    }

    fn list_dir(&self, dir: &str) -> Vec<String> {
        use crate::fs::FsView;
        self.view.list_dir(dir).unwrap_or_default()
    }
}

/// The parts of the image config that decide what starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// `NAME=value` entries.
    pub env: Vec<String>,
    /// `WorkingDir`; `/` when empty.
    pub working_dir: String,
}

impl StartConfig {
    /// What the runtime execs: `Entrypoint` followed by `Cmd`.
    pub fn argv(&self) -> Vec<String> {
        self.entrypoint.iter().chain(&self.cmd).cloned().collect()
    }

    /// The process environment: `Env`, plus Docker's default `PATH` when unset.
    pub fn environment(&self) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> = self
            .env
            .iter()
            .filter_map(|e| e.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.entry("PATH".to_string())
            .or_insert_with(|| DEFAULT_PATH.to_string());
        env
    }
}

/// Traces what the image runs. `files`/`unresolved` are left for the usage view.
pub fn trace(fs: &dyn TraceFs, config: &StartConfig) -> EntryTrace {
    let argv = config.argv();
    let mut tracer = Tracer {
        fs,
        chains: Vec::new(),
    };
    let cwd = if config.working_dir.is_empty() {
        "/".to_string()
    } else {
        absolute("/", &config.working_dir)
    };
    if argv.is_empty() {
        tracer.finish(
            Vec::new(),
            Some(stop(
                "no-command",
                "the image config has no ENTRYPOINT or CMD",
            )),
        );
    } else {
        tracer.follow(
            Proc {
                argv: argv.clone(),
                env: config.environment(),
                cwd,
                sh_fallback: false,
                interpreting: false,
                script_of: None,
            },
            Vec::new(),
        );
    }
    EntryTrace {
        argv,
        chains: tracer.chains,
        files: Vec::new(),
        unresolved: Vec::new(),
    }
}

fn stop(reason: &str, message: impl Into<String>) -> EntryStop {
    EntryStop {
        reason: reason.to_string(),
        message: message.into(),
    }
}

/// A process about to be exec'd.
#[derive(Debug, Clone)]
struct Proc {
    argv: Vec<String>,
    env: BTreeMap<String, String>,
    /// Absolute, with leading `/`.
    cwd: String,
    /// Exec'd by a shell or `execvp`, which run a file without `#!` with
    /// `/bin/sh` (the runtime's `execve` fails with ENOEXEC instead).
    sh_fallback: bool,
    /// Reached through a `#!` line or `sh FILE`: it runs a script.
    interpreting: bool,
    /// The script this process interprets (physical path), if any.
    script_of: Option<String>,
}

/// A file found for an `argv[0]`.
struct Located {
    /// The path handed to `execve` (what a script sees as `$0`).
    exec_path: String,
    stat: FileStat,
}

struct Tracer<'a> {
    fs: &'a dyn TraceFs,
    chains: Vec<EntryChain>,
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Joins `path` onto the absolute directory `cwd` (keeps `..`: the
/// filesystem resolves it after symlinks, as the kernel does).
fn absolute(cwd: &str, path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{cwd}/{path}")
    };
    let parts: Vec<&str> = joined
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// A file's `#!` line as Linux reads it: the interpreter, and everything
/// after it (trimmed) as one optional argument.
pub fn shebang(text: &[u8]) -> Option<(String, Option<String>)> {
    let rest = text.strip_prefix(b"#!")?;
    // Linux reads at most 256 bytes of the first line (BINPRM_BUF_SIZE).
    let rest = &rest[..rest.len().min(254)];
    let line = rest.split(|&b| b == b'\n').next().unwrap_or(rest);
    let line = String::from_utf8_lossy(line);
    let line = line.trim_matches(|c| c == ' ' || c == '\t' || c == '\r');
    let (interp, arg) = match line.find([' ', '\t']) {
        Some(i) => (
            &line[..i],
            line[i..].trim_matches(|c| c == ' ' || c == '\t'),
        ),
        None => (line, ""),
    };
    if interp.is_empty() {
        return None;
    }
    Some((
        interp.to_string(),
        Some(arg.to_string()).filter(|a| !a.is_empty()),
    ))
}

/// Which wrapper a program is, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wrapper {
    Tini,
    DumbInit,
    Gosu,
    SuExec,
    Env,
}

fn wrapper_named(name: &str) -> Option<Wrapper> {
    // Release binaries carry suffixes: tini-static-amd64, gosu-arm64, dumb-init_1.2.5_x86_64.
    if name == "tini" || name.starts_with("tini-") {
        Some(Wrapper::Tini)
    } else if name.starts_with("dumb-init") {
        Some(Wrapper::DumbInit)
    } else if name == "gosu" || name.starts_with("gosu-") {
        Some(Wrapper::Gosu)
    } else if name == "su-exec" {
        Some(Wrapper::SuExec)
    } else if name == "env" {
        Some(Wrapper::Env)
    } else {
        None
    }
}

impl Tracer<'_> {
    fn finish(&mut self, steps: Vec<EntryStep>, stopped: Option<EntryStop>) {
        if self.chains.len() < MAX_CHAINS {
            self.chains.push(EntryChain { steps, stopped });
        }
    }

    /// Follows one process to its final program, pushing one chain (or
    /// several, for a `sh -c` command list).
    fn follow(&mut self, mut p: Proc, mut steps: Vec<EntryStep>) {
        loop {
            if steps.len() >= MAX_STEPS {
                return self.finish(
                    steps,
                    Some(stop("too-deep", format!("more than {MAX_STEPS} steps"))),
                );
            }
            let name = match p.argv.first() {
                Some(n) if !n.is_empty() => n.clone(),
                _ => return self.finish(steps, Some(stop("no-command", "empty command"))),
            };
            let found = match self.locate(&name, &p) {
                Ok(found) => found,
                Err(why) => return self.finish(steps, Some(why)),
            };
            let path = found.stat.path.clone();
            if self.fs.elf(&path).is_some() {
                return self.program(p, found, steps);
            }
            let Some(script) = self.fs.script(&path) else {
                return self.finish(
                    steps,
                    Some(stop(
                        "unknown-format",
                        format!("/{path}: neither an ELF file nor a script EntryTrace could read"),
                    )),
                );
            };
            let (interp, arg) = match shebang(&script.text) {
                Some(line) => line,
                None if p.sh_fallback => ("/bin/sh".to_string(), None),
                None => {
                    return self.finish(
                        steps,
                        Some(stop(
                            "unknown-format",
                            format!("/{path} has no #! line: exec format error"),
                        )),
                    )
                }
            };
            steps.push(EntryStep {
                via: self.via(&found),
                path: path.clone(),
                kind: EntryStepKind::Script,
                argv: p.argv.clone(),
            });
            // The kernel runs: interpreter [arg] script-path original-args…
            let mut argv = vec![interp];
            argv.extend(arg);
            argv.push(found.exec_path);
            argv.extend(p.argv.into_iter().skip(1));
            p = Proc {
                argv,
                sh_fallback: false,
                interpreting: true,
                script_of: Some(path),
                ..p
            };
        }
    }

    /// Finds the file `name` names: as a path (relative to the working
    /// directory) when it has a `/`, else through `PATH`.
    fn locate(&self, name: &str, p: &Proc) -> Result<Located, EntryStop> {
        if name.contains('/') {
            let exec_path = absolute(&p.cwd, name);
            return match self.stat(&exec_path)? {
                Some(stat) if !stat.is_file => Err(stop(
                    "not-a-file",
                    format!("{exec_path} is not a regular file"),
                )),
                Some(stat) if stat.mode & 0o111 == 0 => Err(stop(
                    "not-executable",
                    format!("{exec_path} is not executable"),
                )),
                Some(stat) => Ok(Located { exec_path, stat }),
                None => Err(stop("not-found", format!("{exec_path} does not exist"))),
            };
        }
        let search = p
            .env
            .get("PATH")
            .map(String::as_str)
            .unwrap_or(EXECVP_DEFAULT_PATH);
        let mut denied: Option<String> = None;
        for dir in search.split(':') {
            let dir = if dir.is_empty() { p.cwd.as_str() } else { dir };
            let exec_path = absolute(&p.cwd, &format!("{dir}/{name}"));
            match self.stat(&exec_path) {
                Ok(Some(stat)) if stat.is_file && stat.mode & 0o111 != 0 => {
                    return Ok(Located { exec_path, stat })
                }
                Ok(Some(stat)) if stat.is_file => {
                    denied.get_or_insert(exec_path);
                }
                _ => {}
            }
        }
        Err(match denied {
            Some(path) => stop("not-executable", format!("{path} is not executable")),
            None => stop("not-found", format!("{name} not found in PATH={search}")),
        })
    }

    /// The symlink a located program was executed through, with the
    /// directories on the way resolved (merged /usr): `None` when the
    /// executed name is the file itself.
    fn via(&self, found: &Located) -> Option<String> {
        let (dir, name) = found.exec_path.rsplit_once('/')?;
        let dir = match self.stat(dir) {
            Ok(Some(stat)) => stat.path,
            _ => dir.trim_start_matches('/').to_string(),
        };
        let link = if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        };
        (link != found.stat.path).then_some(link)
    }

    fn stat(&self, abs: &str) -> Result<Option<FileStat>, EntryStop> {
        self.fs
            .stat(abs.trim_start_matches('/'))
            .map_err(|e| stop("symlink-loop", e))
    }

    /// An ELF program: a wrapper, a shell, or a final program.
    fn program(&mut self, p: Proc, found: Located, mut steps: Vec<EntryStep>) {
        let invoked = base_name(&p.argv[0]).to_string();
        let physical = base_name(&found.stat.path).to_string();
        // Multi-call busybox: `busybox APPLET args` is the applet.
        let (role_name, args_from) = if invoked == "busybox" || physical == "busybox" {
            match p.argv.get(1) {
                Some(applet) if invoked == "busybox" && !applet.starts_with('-') => {
                    (base_name(applet).to_string(), 2)
                }
                _ => (invoked.clone(), 1),
            }
        } else {
            (invoked.clone(), 1)
        };
        let by_name = |n: &str| (wrapper_named(n), SHELLS.contains(&n));
        let (mut wrapper, mut is_shell) = by_name(&role_name);
        if wrapper.is_none() && !is_shell && role_name == invoked {
            (wrapper, is_shell) = by_name(&physical);
        }
        let path = found.stat.path.clone();
        let via = self.via(&found);
        if let Some(w) = wrapper {
            steps.push(EntryStep {
                via,
                path,
                kind: EntryStepKind::Wrapper,
                argv: p.argv.clone(),
            });
            return match unwrap(w, &p, args_from) {
                Ok(Some(next)) => self.follow(next, steps),
                Ok(None) => {
                    // Nothing to run (`env` alone prints the environment):
                    // the wrapper is the final program.
                    if let Some(last) = steps.last_mut() {
                        last.kind = EntryStepKind::Elf;
                    }
                    self.finish(steps, None)
                }
                Err(why) => self.finish(steps, Some(why)),
            };
        }
        if is_shell {
            return self.shell(p, (path, via), args_from, steps);
        }
        steps.push(EntryStep {
            via,
            path,
            kind: if p.interpreting {
                EntryStepKind::Interpreter
            } else {
                EntryStepKind::Elf
            },
            argv: p.argv,
        });
        self.finish(steps, None)
    }

    /// A shell: `-c STRING`, a script file, or interactive (then final).
    fn shell(
        &mut self,
        p: Proc,
        (path, via): (String, Option<String>),
        args_from: usize,
        mut steps: Vec<EntryStep>,
    ) {
        let args = p.argv.get(args_from..).unwrap_or_default();
        let mut i = 0;
        let mut command_mode = false;
        while let Some(a) = args.get(i) {
            if a == "--" || a == "-" {
                i += 1;
                break;
            }
            if let Some(long) = a.strip_prefix("--") {
                i += if matches!(long, "rcfile" | "init-file") {
                    2
                } else {
                    1
                };
                continue;
            }
            if a.len() > 1 && (a.starts_with('-') || a.starts_with('+')) {
                if a.starts_with('-') && a.contains('c') {
                    command_mode = true;
                }
                // `-o NAME`, `+O NAME`: the option name is the next argument.
                i += 1 + a.chars().filter(|&c| c == 'o' || c == 'O').count();
                continue;
            }
            break;
        }
        let rest = args.get(i..).unwrap_or_default().to_vec();
        if command_mode {
            steps.push(EntryStep {
                via: via.clone(),
                path,
                kind: EntryStepKind::Shell,
                argv: p.argv.clone(),
            });
            let Some(command) = rest.first() else {
                return self.finish(
                    steps,
                    Some(stop("wrapper-usage", "sh -c without a command string")),
                );
            };
            let arg0 = rest.get(1).cloned().unwrap_or_else(|| p.argv[0].clone());
            let positional = rest.get(2..).unwrap_or_default().to_vec();
            return self.command_string(command, &p, &arg0, &positional, steps);
        }
        let Some(script_arg) = rest.first().cloned() else {
            // Reads commands from stdin: the shell is the program.
            steps.push(EntryStep {
                via: via.clone(),
                path,
                kind: if p.interpreting {
                    EntryStepKind::Interpreter
                } else {
                    EntryStepKind::Elf
                },
                argv: p.argv,
            });
            return self.finish(steps, None);
        };
        steps.push(EntryStep {
            via: via.clone(),
            path,
            kind: EntryStepKind::Interpreter,
            argv: p.argv.clone(),
        });
        let script_path = absolute(&p.cwd, &script_arg);
        let stat = match self.stat(&script_path) {
            Ok(Some(stat)) if stat.is_file => stat,
            Ok(_) => {
                return self.finish(
                    steps,
                    Some(stop("not-found", format!("{script_path} does not exist"))),
                )
            }
            Err(why) => return self.finish(steps, Some(why)),
        };
        if p.script_of.as_deref() != Some(stat.path.as_str()) {
            steps.push(EntryStep {
                via: None,
                path: stat.path.clone(),
                kind: EntryStepKind::Script,
                argv: rest.clone(),
            });
        }
        let text = match self.fs.script(&stat.path) {
            Some(s) if s.complete => String::from_utf8_lossy(&s.text).into_owned(),
            Some(_) => {
                return self.finish(
                    steps,
                    Some(stop(
                        "script-unreadable",
                        format!(
                            "/{} is over {} KiB: not read",
                            stat.path,
                            script::MAX_SCRIPT_BYTES / 1024
                        ),
                    )),
                )
            }
            None => {
                return self.finish(
                    steps,
                    Some(stop(
                        "script-unreadable",
                        format!("/{}: text not captured", stat.path),
                    )),
                )
            }
        };
        let positional = rest.get(1..).unwrap_or_default().to_vec();
        match script_continuation(&text, &stat.path, &p.env, &script_arg, &positional) {
            Ok(argv) => self.follow(
                Proc {
                    argv,
                    sh_fallback: true,
                    interpreting: false,
                    script_of: None,
                    ..p
                },
                steps,
            ),
            Err(why) => self.finish(steps, Some(why)),
        }
    }

    /// The simple commands of a `sh -c` string, each followed as a chain.
    fn command_string(
        &mut self,
        command: &str,
        p: &Proc,
        arg0: &str,
        positional: &[String],
        steps: Vec<EntryStep>,
    ) {
        let commands = match shell::parse_commands(command) {
            Ok(c) => c,
            Err(shell::Unsupported(what)) => {
                return self.finish(
                    steps,
                    Some(stop("shell-construct", format!("sh -c: {what}"))),
                )
            }
        };
        let mut env = p.env.clone();
        let mut cwd = p.cwd.clone();
        let mut followed = 0;
        for cmd in commands {
            let params = Params {
                env: &env,
                arg0,
                positional,
                unset_is_unknown: false,
            };
            let mut assignments = Vec::new();
            let mut argv = Vec::new();
            let mut failed = None;
            for (n, word) in cmd.words.iter().enumerate() {
                if argv.is_empty() && assignments.len() == n && shell::is_assignment(word) {
                    let (name, value) = word.split_once('=').unwrap_or((word, ""));
                    match shell::expand(value, &params) {
                        Ok(v) => assignments.push((name.to_string(), v.join(" "))),
                        Err(e) => failed = Some(e),
                    }
                    continue;
                }
                match shell::expand(word, &params) {
                    Ok(fields) => argv.extend(fields),
                    Err(e) => failed = Some(e),
                }
            }
            if let Some(e) = failed {
                return self.finish(steps, Some(expand_stop(e, "sh -c")));
            }
            let exec = argv.first().is_some_and(|w| w == "exec");
            if exec {
                argv.remove(0);
            }
            let Some(first) = argv.first().cloned() else {
                // Only assignments: they set shell variables.
                env.extend(assignments);
                continue;
            };
            match first.as_str() {
                "cd" => {
                    cwd = absolute(&cwd, argv.get(1).map(String::as_str).unwrap_or("/"));
                    continue;
                }
                "export" => {
                    for a in &argv[1..] {
                        if let Some((k, v)) = a.split_once('=') {
                            env.insert(k.to_string(), v.to_string());
                        }
                    }
                    continue;
                }
                "exit" | "return" => break,
                "eval" | "." | "source" => {
                    return self.finish(
                        steps,
                        Some(stop("shell-construct", format!("sh -c: `{first}`"))),
                    )
                }
                "set" | "shift" | "unset" | ":" | "true" | "false" | "echo" | "printf" | "test"
                | "[" | "umask" | "ulimit" | "trap" | "wait" | "read" | "alias" | "readonly"
                | "local" | "pwd" | "type" | "hash" | "times" | "kill" => continue,
                _ => {}
            }
            let mut cmd_env = env.clone();
            cmd_env.extend(assignments);
            self.follow(
                Proc {
                    argv,
                    env: cmd_env,
                    cwd: cwd.clone(),
                    sh_fallback: true,
                    interpreting: false,
                    script_of: None,
                },
                steps.clone(),
            );
            followed += 1;
            if exec || self.chains.len() >= MAX_CHAINS {
                break;
            }
        }
        if followed == 0 {
            // Only builtins: the shell itself is what runs.
            self.finish(steps, None);
        }
    }
}

fn expand_stop(e: ExpandError, place: &str) -> EntryStop {
    match e {
        ExpandError::Unknown(name) => stop(
            "unresolved-variable",
            format!("{place}: ${name} is not in the image environment"),
        ),
        ExpandError::Unsupported(what) => stop("shell-construct", format!("{place}: {what}")),
    }
}

/// The argv a wrapper execs next (`None`: it runs nothing).
fn unwrap(w: Wrapper, p: &Proc, args_from: usize) -> Result<Option<Proc>, EntryStop> {
    let args = p.argv.get(args_from..).unwrap_or_default();
    let name = base_name(&p.argv[0]);
    let mut env = p.env.clone();
    let mut cwd = p.cwd.clone();
    // Go's syscall.Exec (gosu) has no /bin/sh fallback; execvp (the others) does.
    let mut sh_fallback = true;
    let rest: &[String] = match w {
        Wrapper::Tini | Wrapper::DumbInit => {
            // Options with a value: tini -p SIG, -e CODE; dumb-init -r s:r.
            let takes_value: &[&str] = if w == Wrapper::Tini {
                &["-p", "-e"]
            } else {
                &["-r", "--rewrite"]
            };
            let mut i = 0;
            while let Some(a) = args.get(i) {
                if a == "--" {
                    i += 1;
                    break;
                }
                if !a.starts_with('-') {
                    break;
                }
                i += if takes_value.contains(&a.as_str()) {
                    2
                } else {
                    1
                };
            }
            args.get(i..).unwrap_or_default()
        }
        Wrapper::Gosu | Wrapper::SuExec => {
            sh_fallback = w == Wrapper::SuExec;
            if args.len() < 2 {
                return Err(stop(
                    "wrapper-usage",
                    format!("{name} needs USER and a command"),
                ));
            }
            &args[1..]
        }
        Wrapper::Env => {
            let mut i = 0;
            let mut split: Vec<String> = Vec::new();
            while let Some(a) = args.get(i) {
                i += 1;
                match a.as_str() {
                    "--" => break,
                    "-i" | "-" | "--ignore-environment" => env.clear(),
                    "-0" | "--null" | "-v" | "--debug" => {}
                    "-u" | "--unset" => {
                        if let Some(n) = args.get(i) {
                            env.remove(n);
                        }
                        i += 1;
                    }
                    "-C" | "--chdir" => {
                        cwd = absolute(&cwd, args.get(i).map(String::as_str).unwrap_or("/"));
                        i += 1;
                    }
                    "-S" | "--split-string" => {
                        split = args
                            .get(i)
                            .map(|s| s.split_whitespace().map(String::from).collect())
                            .unwrap_or_default();
                        i += 1;
                        break;
                    }
                    s if s.starts_with("-S") || s.starts_with("--split-string=") => {
                        let value = s.strip_prefix("--split-string=").unwrap_or_else(|| &s[2..]);
                        split = value.split_whitespace().map(String::from).collect();
                        break;
                    }
                    s if s.starts_with("--unset=") => {
                        env.remove(&s["--unset=".len()..]);
                    }
                    s if s.starts_with("-u") => {
                        env.remove(&s[2..]);
                    }
                    s if s.starts_with('-') => {
                        return Err(stop("wrapper-usage", format!("env: unknown option {s}")))
                    }
                    _ => {
                        i -= 1;
                        break;
                    }
                }
            }
            // `-S` splits its string into the arguments that follow.
            let mut tail: Vec<String> = split;
            tail.extend(args.get(i..).unwrap_or_default().iter().cloned());
            let mut j = 0;
            while let Some((k, v)) = tail
                .get(j)
                .and_then(|a| shell::is_assignment(a).then(|| a.split_once('=')).flatten())
            {
                env.insert(k.to_string(), v.to_string());
                j += 1;
            }
            let argv = tail[j..].to_vec();
            if argv.is_empty() {
                return Ok(None);
            }
            return Ok(Some(Proc {
                argv,
                env,
                cwd,
                sh_fallback,
                interpreting: p.interpreting,
                script_of: p.script_of.clone(),
            }));
        }
    };
    if rest.is_empty() {
        return Err(stop("wrapper-usage", format!("{name} without a command")));
    }
    // Through a wrapper (`#!/usr/bin/env python3`), the program it runs is
    // still the script's interpreter.
    Ok(Some(Proc {
        argv: rest.to_vec(),
        env,
        cwd,
        sh_fallback,
        interpreting: p.interpreting,
        script_of: p.script_of.clone(),
    }))
}

/// The command a shell script hands over to: its last `exec COMMAND`
/// line, else its last line when that is a plain command, expanded with the
/// script's arguments and the image environment.
fn script_continuation(
    text: &str,
    path: &str,
    env: &BTreeMap<String, String>,
    arg0: &str,
    positional: &[String],
) -> Result<Vec<String>, EntryStop> {
    // Logical lines (backslash-newline joins), with their first line number.
    let mut lines: Vec<(usize, String)> = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (n, raw) in text.lines().enumerate() {
        let (start, mut joined) = pending.take().unwrap_or((n + 1, String::new()));
        match raw.strip_suffix('\\') {
            Some(head) => {
                joined.push_str(head);
                pending = Some((start, joined));
            }
            None => {
                joined.push_str(raw);
                lines.push((start, joined));
            }
        }
    }
    lines.extend(pending);
    let place = |line: usize| format!("line {line} of /{path}");
    let params = Params {
        env,
        arg0,
        positional,
        unset_is_unknown: true,
    };
    let expand_all = |words: &[String], line: usize| -> Result<Vec<String>, EntryStop> {
        let mut argv = Vec::new();
        for w in words {
            argv.extend(shell::expand(w, &params).map_err(|e| expand_stop(e, &place(line)))?);
        }
        if argv.is_empty() {
            return Err(stop(
                "no-command",
                format!("{}: empty command", place(line)),
            ));
        }
        Ok(argv)
    };
    for (line, content) in lines.iter().rev() {
        if !content.contains("exec") {
            continue;
        }
        if let Ok(found) = shell::exec_commands(content) {
            if let Some(last) = found.last() {
                return expand_all(&last.words, *line);
            }
        }
    }
    // No exec: the last command still runs (as a child of the shell).
    let Some((line, content)) = lines.iter().rev().find(|(_, l)| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    }) else {
        return Err(stop("no-exec", format!("/{path} has no commands")));
    };
    let commands = shell::parse_commands(content).map_err(|shell::Unsupported(what)| {
        stop(
            "no-exec",
            format!(
                "no exec line, and the last line is {what} ({})",
                place(*line)
            ),
        )
    })?;
    let Some(last) = commands.last() else {
        return Err(stop("no-exec", format!("/{path} has no commands")));
    };
    let words: Vec<String> = last
        .words
        .iter()
        .skip_while(|w| shell::is_assignment(w))
        .cloned()
        .collect();
    let first = words.first().map(String::as_str).unwrap_or_default();
    let defines_function = text.contains(&format!("{first}()"))
        || text.contains(&format!("{first} ()"))
        || text.contains(&format!("function {first}"));
    let builtin = matches!(
        first,
        "exit"
            | "return"
            | "wait"
            | "true"
            | "false"
            | ":"
            | "echo"
            | "printf"
            | "set"
            | "shift"
            | "cd"
            | "export"
            | "unset"
            | "trap"
            | "eval"
            | "."
            | "source"
            | "test"
            | "["
    );
    if first.is_empty() || builtin || defines_function {
        return Err(stop(
            "no-exec",
            format!(
                "no exec line, and the last command `{first}` is not a program ({})",
                place(*line)
            ),
        ));
    }
    expand_all(&words, *line)
}

#[cfg(test)]
pub(crate) mod tests;

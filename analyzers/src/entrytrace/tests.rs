//! EntryTrace on small trees shaped like real images (merged-/usr Debian,
//! busybox), through the same squashed view and adapter the scan uses.

use super::*;
use crate::layer::{EntryMeta, LayerFs};

pub(crate) enum Node {
    Dir,
    Link(&'static str),
    /// An ELF program with these DT_NEEDED.
    Elf(u32, &'static [&'static str]),
    /// A text file.
    Text(u32, &'static str),
    /// An ELF file with these facts.
    Facts(u32, ElfInfo),
}

pub(crate) fn layer(nodes: &[(&str, Node)]) -> LayerFs {
    let mut fs = LayerFs::default();
    for (path, node) in nodes {
        let (kind, mode) = match node {
            Node::Dir => (EntryKind::Dir, 0o755),
            Node::Link(t) => (EntryKind::Symlink(t.to_string()), 0o777),
            Node::Elf(mode, needed) => {
                fs.file_reports.insert(
                    path.to_string(),
                    FileReport {
                        elf: Some(ElfInfo {
                            needed: needed.iter().map(|s| s.to_string()).collect(),
                            interpreter: Some("/lib64/ld-linux-x86-64.so.2".into()),
                            machine: "x86_64".into(),
                            is_64: true,
                            ..ElfInfo::default()
                        }),
                        ..FileReport::default()
                    },
                );
                (EntryKind::File, *mode)
            }
            Node::Facts(mode, info) => {
                fs.file_reports.insert(
                    path.to_string(),
                    FileReport {
                        elf: Some(info.clone()),
                        ..FileReport::default()
                    },
                );
                (EntryKind::File, *mode)
            }
            Node::Text(mode, text) => {
                fs.file_reports.insert(
                    path.to_string(),
                    FileReport {
                        script: Some(ScriptText {
                            text: text.as_bytes().to_vec(),
                            complete: true,
                        }),
                        ..FileReport::default()
                    },
                );
                (EntryKind::File, *mode)
            }
        };
        fs.entries.push((
            path.to_string(),
            EntryMeta {
                kind,
                size: 0,
                mode,
            },
        ));
    }
    fs
}

const ENTRYPOINT_SH: &str = r#"#!/bin/sh
set -e
# first arg is `-f` or `--some-option`
if [ "${1#-}" != "$1" ]; then
	set -- python3 "$@"
fi
exec "$@"
"#;

/// A merged-/usr Debian root with python3, tini, gosu and a few scripts.
fn debian() -> LayerFs {
    layer(&[
        ("bin", Node::Link("usr/bin")),
        ("lib64", Node::Link("usr/lib64")),
        ("usr", Node::Dir),
        ("usr/bin", Node::Dir),
        ("usr/bin/dash", Node::Elf(0o755, &["libc.so.6"])),
        ("usr/bin/sh", Node::Link("dash")),
        (
            "usr/bin/bash",
            Node::Elf(0o755, &["libtinfo.so.6", "libc.so.6"]),
        ),
        ("usr/bin/env", Node::Elf(0o755, &["libc.so.6"])),
        ("usr/bin/tini", Node::Elf(0o755, &["libc.so.6"])),
        ("usr/bin/python3", Node::Link("python3.11")),
        (
            "usr/bin/python3.11",
            Node::Elf(0o755, &["libm.so.6", "libc.so.6"]),
        ),
        ("usr/bin/loop", Node::Link("loop2")),
        ("usr/bin/loop2", Node::Link("loop")),
        ("usr/sbin", Node::Dir),
        ("usr/sbin/gosu", Node::Elf(0o755, &[])),
        (
            "usr/local/bin/docker-entrypoint.sh",
            Node::Text(0o755, ENTRYPOINT_SH),
        ),
        ("app", Node::Dir),
        (
            "app/run.sh",
            Node::Text(0o644, "cd /app\npython3 server.py \"$@\"\n"),
        ),
        (
            "app/start",
            Node::Text(0o755, "#!/usr/bin/env python3\nprint('hi')\n"),
        ),
        (
            "app/start-u",
            Node::Text(0o755, "#!/usr/bin/env python3 -u\n"),
        ),
        (
            "app/start-s",
            Node::Text(0o755, "#!/usr/bin/env -S python3 -u\n"),
        ),
        ("app/plain", Node::Text(0o755, "echo no shebang\n")),
        (
            "app/var.sh",
            Node::Text(0o755, "#!/bin/sh\nexec \"$APP_BIN\" \"$@\"\n"),
        ),
        (
            "app/default.sh",
            Node::Text(
                0o755,
                "#!/bin/sh\nexec \"${APP_BIN:-/usr/bin/python3}\" -V\n",
            ),
        ),
        (
            "app/ends-in-if.sh",
            Node::Text(0o755, "#!/bin/bash\nif true; then\n  echo x\nfi\n"),
        ),
        ("app/data.bin", Node::Elf(0o644, &[])),
    ])
}

/// (path, kind) of each step of a chain, and its stop reason.
type ChainShape = (Vec<(String, EntryStepKind)>, Option<String>);

struct Traced {
    chains: Vec<ChainShape>,
    trace: EntryTrace,
}

/// The reports of one layer, as the scan hands them to [`ImageFs`].
pub(crate) fn reports(layer: &LayerFs) -> BTreeMap<String, &FileReport> {
    layer
        .file_reports
        .iter()
        .map(|(p, r)| (p.clone(), r))
        .collect()
}

fn run(layers: &[LayerFs], config: StartConfig) -> Traced {
    let mut view = SquashedFs::new(layers);
    view.apply_all();
    let reports = reports(&layers[0]);
    let fs = ImageFs {
        view: &view,
        reports: &reports,
    };
    let trace = trace(&fs, &config);
    Traced {
        chains: trace
            .chains
            .iter()
            .map(|c| {
                (
                    c.steps.iter().map(|s| (s.path.clone(), s.kind)).collect(),
                    c.stopped.as_ref().map(|s| s.reason.clone()),
                )
            })
            .collect(),
        trace,
    }
}

fn cfg(entrypoint: &[&str], cmd: &[&str]) -> StartConfig {
    StartConfig {
        entrypoint: entrypoint.iter().map(|s| s.to_string()).collect(),
        cmd: cmd.iter().map(|s| s.to_string()).collect(),
        ..StartConfig::default()
    }
}

fn steps(list: &[(&str, EntryStepKind)]) -> Vec<(String, EntryStepKind)> {
    list.iter().map(|(p, k)| (p.to_string(), *k)).collect()
}

use EntryStepKind::{Elf, Interpreter, Script, Shell, Wrapper};

#[test]
fn exec_form_through_path_and_a_symlink() {
    let t = run(&[debian()], cfg(&["python3"], &["-m", "http.server"]));
    assert_eq!(
        t.chains,
        vec![(steps(&[("usr/bin/python3.11", Elf)]), None)]
    );
    assert_eq!(t.trace.argv, vec!["python3", "-m", "http.server"]);
    assert_eq!(
        t.trace.chains[0].steps[0].argv,
        vec!["python3", "-m", "http.server"]
    );
}

#[test]
fn tini_then_an_entrypoint_script_ending_in_exec_args() {
    let t = run(
        &[debian()],
        cfg(
            &["tini", "--", "docker-entrypoint.sh"],
            &["python3", "app.py"],
        ),
    );
    assert_eq!(
        t.chains,
        vec![(
            steps(&[
                ("usr/bin/tini", Wrapper),
                ("usr/local/bin/docker-entrypoint.sh", Script),
                ("usr/bin/dash", Interpreter),
                ("usr/bin/python3.11", Elf),
            ]),
            None
        )]
    );
    let dash = &t.trace.chains[0].steps[2];
    // The kernel hands the interpreter the #! path, then the script's path.
    assert_eq!(
        dash.argv,
        vec![
            "/bin/sh",
            "/usr/local/bin/docker-entrypoint.sh",
            "python3",
            "app.py"
        ]
    );
    assert_eq!(t.trace.chains[0].steps[3].argv, vec!["python3", "app.py"]);
}

#[test]
fn shell_form_with_cd_and_exec() {
    let t = run(
        &[debian()],
        cfg(
            &[],
            &["/bin/sh", "-c", "cd /app && exec python3 -m http.server"],
        ),
    );
    assert_eq!(
        t.chains,
        vec![(
            steps(&[("usr/bin/dash", Shell), ("usr/bin/python3.11", Elf)]),
            None
        )]
    );
}

#[test]
fn command_lists_give_one_chain_per_program() {
    let t = run(
        &[debian()],
        cfg(&["/bin/sh", "-c"], &["PORT=8080 env && bash; echo done"]),
    );
    assert_eq!(
        t.chains,
        vec![
            (
                steps(&[("usr/bin/dash", Shell), ("usr/bin/env", Elf)]),
                None
            ),
            (
                steps(&[("usr/bin/dash", Shell), ("usr/bin/bash", Elf)]),
                None
            ),
        ]
    );
}

#[test]
fn env_shebangs_follow_linux_rules() {
    let t = run(&[debian()], cfg(&["/app/start"], &[]));
    assert_eq!(
        t.chains,
        vec![(
            steps(&[
                ("app/start", Script),
                ("usr/bin/env", Wrapper),
                ("usr/bin/python3.11", Interpreter),
            ]),
            None
        )]
    );
    assert_eq!(
        t.trace.chains[0].steps[2].argv,
        vec!["python3", "/app/start"]
    );
    // Linux passes "python3 -u" as ONE argument: env looks for that name.
    let t = run(&[debian()], cfg(&["/app/start-u"], &[]));
    assert_eq!(t.chains[0].1.as_deref(), Some("not-found"));
    // … which is what `env -S` is for.
    let t = run(&[debian()], cfg(&["/app/start-s"], &[]));
    assert_eq!(t.chains[0].1, None);
    assert_eq!(
        t.trace.chains[0].steps[2].argv,
        vec!["python3", "-u", "/app/start-s"]
    );
}

#[test]
fn wrappers_gosu_and_env_assignments() {
    let t = run(
        &[debian()],
        cfg(&["gosu", "nobody", "env", "-i", "A=1", "python3"], &[]),
    );
    // `env -i` empties PATH: execvp falls back to /bin:/usr/bin.
    assert_eq!(
        t.chains,
        vec![(
            steps(&[
                ("usr/sbin/gosu", Wrapper),
                ("usr/bin/env", Wrapper),
                ("usr/bin/python3.11", Elf),
            ]),
            None
        )]
    );
    let t = run(&[debian()], cfg(&["gosu", "nobody"], &[]));
    assert_eq!(t.chains[0].1.as_deref(), Some("wrapper-usage"));
}

#[test]
fn sh_file_reads_a_script_without_exec_bit_or_shebang() {
    let t = run(
        &[debian()],
        StartConfig {
            working_dir: "/app".into(),
            ..cfg(&["sh", "run.sh"], &["--port", "80"])
        },
    );
    assert_eq!(
        t.chains,
        vec![(
            steps(&[
                ("usr/bin/dash", Interpreter),
                ("app/run.sh", Script),
                ("usr/bin/python3.11", Elf),
            ]),
            None
        )]
    );
    assert_eq!(
        t.trace.chains[0].steps[2].argv,
        vec!["python3", "server.py", "--port", "80"]
    );
    // The same file exec'd directly has no exec bit.
    let t = run(&[debian()], cfg(&["/app/run.sh"], &[]));
    assert_eq!(t.chains[0].1.as_deref(), Some("not-executable"));
}

#[test]
fn stops_with_reasons() {
    let reason = |config: StartConfig| run(&[debian()], config).chains[0].1.clone();
    assert_eq!(reason(cfg(&[], &[])).as_deref(), Some("no-command"));
    assert_eq!(reason(cfg(&["nope"], &[])).as_deref(), Some("not-found"));
    assert_eq!(
        reason(cfg(&["/usr/bin"], &[])).as_deref(),
        Some("not-a-file")
    );
    // In a PATH search a looping candidate is skipped, like a missing one.
    assert_eq!(reason(cfg(&["loop"], &[])).as_deref(), Some("not-found"));
    assert_eq!(
        reason(cfg(&["/usr/bin/loop"], &[])).as_deref(),
        Some("symlink-loop")
    );
    assert_eq!(
        reason(cfg(&["/app/plain"], &[])).as_deref(),
        Some("unknown-format")
    );
    assert_eq!(
        reason(cfg(&["/app/data.bin"], &[])).as_deref(),
        Some("not-executable")
    );
    assert_eq!(
        reason(cfg(&["/app/var.sh"], &[])).as_deref(),
        Some("unresolved-variable")
    );
    assert_eq!(
        reason(cfg(&["/app/ends-in-if.sh"], &[])).as_deref(),
        Some("no-exec")
    );
    assert_eq!(
        reason(cfg(&["sh", "-c", "for x in 1; do python3; done"], &[])).as_deref(),
        Some("shell-construct")
    );
    // A variable the image sets resolves; without it the default applies.
    let t = run(&[debian()], cfg(&["/app/default.sh"], &[]));
    assert_eq!(t.chains[0].1, None);
    assert_eq!(
        t.trace.chains[0].steps.last().unwrap().path,
        "usr/bin/python3.11"
    );
    let t = run(
        &[debian()],
        StartConfig {
            env: vec!["APP_BIN=/bin/bash".into()],
            ..cfg(&["/app/var.sh"], &[])
        },
    );
    assert_eq!(t.trace.chains[0].steps.last().unwrap().path, "usr/bin/bash");
}

#[test]
fn interactive_shells_and_path_from_env() {
    let t = run(&[debian()], cfg(&[], &["bash"]));
    assert_eq!(t.chains, vec![(steps(&[("usr/bin/bash", Elf)]), None)]);
    let mut opt = debian();
    opt.entries.push((
        "opt/bin/python3".into(),
        EntryMeta {
            kind: EntryKind::Symlink("/usr/bin/bash".into()),
            size: 0,
            mode: 0o777,
        },
    ));
    let t = run(
        &[opt],
        StartConfig {
            env: vec!["PATH=/opt/bin:/usr/bin".into()],
            ..cfg(&["python3"], &[])
        },
    );
    assert_eq!(t.chains[0].0, steps(&[("usr/bin/bash", Elf)]));
}

#[test]
fn busybox_applets() {
    let root = layer(&[
        ("bin", Node::Dir),
        ("bin/busybox", Node::Elf(0o755, &[])),
        ("bin/sh", Node::Link("busybox")),
    ]);
    let t = run(&[root], cfg(&["/bin/sh", "-c", "exec httpd -f"], &[]));
    assert_eq!(
        t.chains,
        vec![(
            steps(&[("bin/busybox", Shell)]),
            Some("not-found".to_string())
        )]
    );
    let root = layer(&[("bin", Node::Dir), ("bin/busybox", Node::Elf(0o755, &[]))]);
    let t = run(&[root], cfg(&["busybox", "httpd", "-f"], &[]));
    assert_eq!(t.chains, vec![(steps(&[("bin/busybox", Elf)]), None)]);
}

#[test]
fn shebang_lines() {
    assert_eq!(
        shebang(b"#! /usr/bin/env  python3 -u \nx"),
        Some(("/usr/bin/env".into(), Some("python3 -u".into())))
    );
    assert_eq!(shebang(b"#!/bin/sh"), Some(("/bin/sh".into(), None)));
    assert_eq!(shebang(b"#!\n"), None);
    assert_eq!(shebang(b"echo"), None);
}

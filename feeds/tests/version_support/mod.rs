//! Shared by the version comparator tests: the vector file format, running a
//! reference implementation as a batch oracle, and random version material.

#![allow(dead_code)] // each test binary uses a different part

use std::cmp::Ordering;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// One `A < B` / `A = B` / `A > B` line of a vector file.
#[derive(Debug, Clone)]
pub struct Vector {
    pub line: usize,
    pub a: String,
    pub expected: Ordering,
    pub b: String,
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/versions")
        .join(name)
}

/// Non-comment, non-blank lines of a fixture, with their line numbers.
pub fn fixture_lines(name: &str) -> Vec<(usize, String)> {
    let path = fixture(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#') && !t.starts_with("//")
        })
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect()
}

/// Reads a vector file (osv-scalibr's `semantic/testdata` format).
pub fn read_vectors(name: &str) -> Vec<Vector> {
    let vectors: Vec<Vector> = fixture_lines(name)
        .into_iter()
        .map(|(line, text)| {
            let fields: Vec<&str> = text.split_whitespace().collect();
            let [a, op, b] = fields[..] else {
                panic!("{name}:{line}: expected `A OP B`, got {text:?}");
            };
            let expected = match op {
                "<" => Ordering::Less,
                "=" => Ordering::Equal,
                ">" => Ordering::Greater,
                _ => panic!("{name}:{line}: unknown operator {op:?}"),
            };
            Vector {
                line,
                a: a.to_string(),
                expected,
                b: b.to_string(),
            }
        })
        .collect();
    assert!(!vectors.is_empty(), "{name} holds no vectors");
    vectors
}

pub fn op(o: Ordering) -> &'static str {
    match o {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    }
}

pub fn parse_op(s: &str) -> Ordering {
    match s {
        "<" => Ordering::Less,
        "=" => Ordering::Equal,
        ">" => Ordering::Greater,
        _ => panic!("oracle answered {s:?}"),
    }
}

/// True when the oracles may be skipped (`STELLA_SKIP_ORACLES=1`); otherwise
/// a missing oracle fails the test.
pub fn oracles_skipped(what: &str) -> bool {
    let skip = std::env::var("STELLA_SKIP_ORACLES").is_ok_and(|v| v == "1");
    if skip {
        eprintln!("SKIPPED: {what} (STELLA_SKIP_ORACLES=1)");
    }
    skip
}

/// Runs `program args…` once with `input` (JSON) on stdin and returns its
/// JSON output. Any failure panics with `install` as the remedy.
pub fn run_oracle(program: &str, args: &[&str], input: &Value, install: &str) -> Value {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run the oracle `{program}` ({e}); install: {install}"));
    let body = serde_json::to_vec(input).expect("serialize oracle input");
    // Write from a thread: the oracle may fill its stdout pipe before reading all input.
    let mut stdin = child.stdin.take().expect("oracle stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&body));
    let out = child.wait_with_output().expect("oracle output");
    writer
        .join()
        .expect("oracle input writer")
        .expect("writing oracle input");
    assert!(
        out.status.success(),
        "oracle `{program} {args:?}` failed ({}); install: {install}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "oracle output is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Random version material, seeded so failures reproduce.
pub struct Gen {
    pub rng: fastrand::Rng,
}

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen {
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.rng.usize(..items.len())]
    }

    pub fn chance(&mut self, percent: u8) -> bool {
        self.rng.u8(..100) < percent
    }

    /// A number, mostly small (so equal parts are common), sometimes with
    /// leading zeros, sometimes long.
    pub fn number(&mut self, leading_zeros: bool, max_digits: usize) -> String {
        let n = match self.rng.u8(..100) {
            0..=59 => self.rng.u32(..3).to_string(),
            60..=89 => self.rng.u32(..20).to_string(),
            _ => {
                let digits = self.rng.usize(1..=max_digits);
                let mut s = self.rng.u8(1..10).to_string();
                for _ in 1..digits {
                    s.push(char::from(b'0' + self.rng.u8(..10)));
                }
                s
            }
        };
        if leading_zeros && self.chance(5) {
            format!("0{n}")
        } else {
            n
        }
    }

    /// `s` with one random edit: a character from `alphabet` inserted or
    /// substituted, or a character deleted.
    pub fn mutate(&mut self, s: &str, alphabet: &str) -> String {
        let mut chars: Vec<char> = s.chars().collect();
        let letters: Vec<char> = alphabet.chars().collect();
        let at = self.rng.usize(..=chars.len());
        let c = letters[self.rng.usize(..letters.len())];
        match self.rng.u8(..3) {
            0 => chars.insert(at, c),
            1 if at < chars.len() => chars[at] = c,
            _ if at < chars.len() => {
                chars.remove(at);
            }
            _ => chars.push(c),
        }
        chars.into_iter().collect()
    }

    /// `count` pairs from `pool`: half random, half near neighbours in the
    /// pool (callers sort it, so those are similar strings: close versions
    /// are where comparators go wrong).
    pub fn pairs(&mut self, pool: &[String], count: usize) -> Vec<(String, String)> {
        (0..count)
            .map(|i| {
                let a = self.rng.usize(..pool.len());
                let b = if i % 2 == 0 {
                    self.rng.usize(..pool.len())
                } else {
                    (a + self.rng.usize(0..3)).min(pool.len() - 1)
                };
                (pool[a].clone(), pool[b].clone())
            })
            .collect()
    }
}

/// Random byte strings (valid UTF-8 or not, lossily converted) — parsers
/// must answer them with an error or a value, never a panic.
pub fn random_inputs(seed: u64, count: usize, alphabet: &[u8]) -> Vec<String> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..count)
        .map(|_| {
            let len = rng.usize(0..24);
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.u8(..4) == 0 {
                        rng.u8(..)
                    } else {
                        alphabet[rng.usize(..alphabet.len())]
                    }
                })
                .collect();
            String::from_utf8_lossy(&bytes).into_owned()
        })
        .collect()
}

//! Shared helpers of the maven, rubygems and packagist version tests: the
//! `A < B` vector files, a seeded generator of version strings, and batch
//! runs of the real reference implementations (one process for all pairs).

#![allow(dead_code)] // each test binary uses a different subset

use std::cmp::Ordering;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One `A op B` line of a vector file.
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

/// Reads `A < B` / `A = B` / `A > B` lines; `#` and `//` lines and blank
/// lines are comments. Any other shape is a broken fixture.
pub fn load_vectors(name: &str) -> Vec<Vector> {
    let path = fixture(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut vectors = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [a, op, b] = parts[..] else {
            panic!("{name}:{}: not `A op B`: {raw:?}", index + 1);
        };
        let expected = match op {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            _ => panic!("{name}:{}: unknown operator {op:?}", index + 1),
        };
        vectors.push(Vector {
            line: index + 1,
            a: a.to_string(),
            expected,
            b: b.to_string(),
        });
    }
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

/// splitmix64: a small seeded generator, so every run tests the same pairs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// A version string built from `tokens` joined by `separators`.
pub fn random_version(
    rng: &mut Rng,
    tokens: &[&str],
    separators: &[&str],
    max_parts: usize,
) -> String {
    let parts = 1 + rng.below(max_parts);
    let mut s = String::new();
    for i in 0..parts {
        if i > 0 {
            s.push_str(rng.pick(separators));
        }
        s.push_str(rng.pick(tokens));
    }
    s
}

/// Mutates a version: drops, doubles or replaces one character, or appends
/// a token.
pub fn mutate(rng: &mut Rng, version: &str, alphabet: &[u8], tokens: &[&str]) -> String {
    let mut bytes = version.as_bytes().to_vec();
    match rng.below(4) {
        0 if !bytes.is_empty() => {
            bytes.remove(rng.below(bytes.len()));
        }
        1 if !bytes.is_empty() => {
            let i = rng.below(bytes.len());
            bytes.insert(i, bytes[i]);
        }
        2 if !bytes.is_empty() => {
            let i = rng.below(bytes.len());
            bytes[i] = rng.pick(alphabet);
        }
        _ => bytes.extend_from_slice(rng.pick(tokens).as_bytes()),
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// True when the oracle tests may skip (`STELLA_SKIP_ORACLES=1`).
pub fn oracles_optional() -> bool {
    std::env::var("STELLA_SKIP_ORACLES").as_deref() == Ok("1")
}

/// Runs `command` once with `input` on stdin and returns its stdout lines.
/// A missing tool fails the test unless `STELLA_SKIP_ORACLES=1` (then `None`).
pub fn run_oracle(mut command: Command, what: &str, input: &str) -> Option<Vec<String>> {
    let child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if oracles_optional() => {
            eprintln!("SKIPPED: {what} not runnable ({e}); STELLA_SKIP_ORACLES=1");
            return None;
        }
        Err(e) => panic!(
            "{what} is not runnable ({e}); install it (tests/run.sh) or set STELLA_SKIP_ORACLES=1"
        ),
    };
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_string();
    // Write from a thread: the oracle answers while it reads.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("waiting for the oracle");
    writer
        .join()
        .expect("writer thread")
        .expect("writing to the oracle");
    assert!(
        output.status.success(),
        "{what} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("oracle output is UTF-8");
    Some(stdout.lines().map(str::to_string).collect())
}

/// Parses an oracle answer: `-1`, `0`, `1` (any sign), or `E` for an error.
pub fn oracle_answer(line: &str) -> Option<Ordering> {
    if line == "E" {
        return None;
    }
    let n: i64 = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("oracle said {line:?}"));
    Some(n.cmp(&0))
}

/// Feeds random bytes to `parse`: it must return, never panic.
pub fn random_bytes_never_panic(seed: u64, mut parse: impl FnMut(&str)) {
    let mut rng = Rng::new(seed);
    for _ in 0..20_000 {
        let len = rng.below(24);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                if rng.chance(70) {
                    rng.pick(b"0123456789.-_+~abcdefgprvABCRCV#!* \t")
                } else {
                    rng.next() as u8
                }
            })
            .collect();
        parse(&String::from_utf8_lossy(&bytes));
    }
}

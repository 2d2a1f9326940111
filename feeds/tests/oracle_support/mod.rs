//! Helpers shared by the dpkg, rpm and apk comparator tests: reading vector
//! files, generating version pairs from a seeded RNG, and running a
//! reference tool once over a whole batch.

#![allow(dead_code)]

use std::cmp::Ordering;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// One `A op B` line of a vector file.
#[derive(Debug, Clone)]
pub struct Vector {
    pub line: usize,
    pub a: String,
    pub expected: Ordering,
    pub b: String,
}

/// Reads `A < B`, `A = B`, `A > B` lines; `#` and `//` lines and blank
/// lines are comments.
pub fn read_vectors(text: &str) -> Vec<Vector> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [a, op, b] = fields[..] else {
            panic!("vector line {}: not `A op B`: {raw:?}", i + 1);
        };
        out.push(Vector {
            line: i + 1,
            a: a.to_string(),
            expected: parse_op(op).unwrap_or_else(|| panic!("line {}: bad op {op:?}", i + 1)),
            b: b.to_string(),
        });
    }
    out
}

/// Reads `A B -1|0|1` lines (dpkg's and rpm's own test tables).
pub fn read_signed_table(text: &str) -> Vec<Vector> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            let [a, b, r] = fields[..] else {
                panic!("table line {}: not `A B result`: {l:?}", i + 1);
            };
            let expected = match r {
                "-1" => Ordering::Less,
                "0" => Ordering::Equal,
                "1" => Ordering::Greater,
                other => panic!("table line {}: bad result {other:?}", i + 1),
            };
            Vector {
                line: i + 1,
                a: a.to_string(),
                expected,
                b: b.to_string(),
            }
        })
        .collect()
}

pub fn parse_op(op: &str) -> Option<Ordering> {
    match op {
        "<" | "-1" => Some(Ordering::Less),
        "=" | "0" => Some(Ordering::Equal),
        ">" | "1" => Some(Ordering::Greater),
        _ => None,
    }
}

pub fn op(o: Ordering) -> &'static str {
    match o {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    }
}

/// Whether oracle tests may be skipped (`STELLA_SKIP_ORACLES=1`); otherwise
/// a missing oracle fails the test.
pub fn oracles_skipped() -> bool {
    std::env::var("STELLA_SKIP_ORACLES").is_ok_and(|v| v == "1")
}

/// Runs `program args` with `stdin`, failing loudly when it cannot start
/// or exits non-zero; returns stdout.
pub fn run_batch(program: &str, args: &[&str], stdin: &str) -> String {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "oracle {program} cannot run ({e}); install it (tests/run.sh) or set STELLA_SKIP_ORACLES=1"
            )
        });
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let input = stdin.to_string();
    let writer = std::thread::spawn(move || pipe.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("oracle output");
    writer
        .join()
        .expect("stdin writer")
        .expect("writing the oracle's stdin");
    assert!(
        out.status.success(),
        "oracle {program} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("oracle output is UTF-8")
}

/// Builds version strings from pieces: mostly plausible versions drawn from
/// `pieces`, plus mutations of `seeds` (a character dropped, doubled or
/// replaced by one of `alphabet`).
pub struct VersionGen {
    pub rng: fastrand::Rng,
    pub alphabet: Vec<char>,
    pub seeds: Vec<String>,
}

impl VersionGen {
    pub fn new(seed: u64, alphabet: &str, seeds: Vec<String>) -> VersionGen {
        VersionGen {
            rng: fastrand::Rng::with_seed(seed),
            alphabet: alphabet.chars().collect(),
            seeds,
        }
    }

    pub fn number(&mut self) -> String {
        match self.rng.u8(..10) {
            0 => format!("0{}", self.rng.u32(..100)),
            1 => self.rng.u64(..100_000_000_000).to_string(),
            2..=5 => self.rng.u8(..10).to_string(),
            _ => self.rng.u16(..1000).to_string(),
        }
    }

    pub fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[self.rng.usize(..options.len())]
    }

    pub fn random_chars(&mut self, max: usize) -> String {
        let n = self.rng.usize(1..=max);
        (0..n)
            .map(|_| self.alphabet[self.rng.usize(..self.alphabet.len())])
            .collect()
    }

    /// A mutation of one of the seed versions (never empty: every scheme
    /// refuses the empty string outright).
    pub fn mutate(&mut self) -> String {
        loop {
            let v = self.mutate_once();
            if !v.is_empty() {
                return v;
            }
        }
    }

    fn mutate_once(&mut self) -> String {
        let seed = self.seeds[self.rng.usize(..self.seeds.len())].clone();
        let mut chars: Vec<char> = seed.chars().collect();
        for _ in 0..self.rng.usize(1..=2) {
            let c = self.alphabet[self.rng.usize(..self.alphabet.len())];
            let at = self.rng.usize(..=chars.len());
            match self.rng.u8(..4) {
                0 if at < chars.len() => {
                    chars.remove(at);
                }
                1 if at < chars.len() => chars[at] = c,
                2 if at < chars.len() => {
                    let d = chars[at];
                    chars.insert(at, d);
                }
                _ => chars.insert(at, c),
            }
        }
        chars.into_iter().collect()
    }
}

/// Pairs a list of versions: each with a neighbour (close versions), and
/// each with a random other one.
pub fn pair_up(rng: &mut fastrand::Rng, versions: &[String]) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        let near = &versions[(i + 1) % versions.len()];
        pairs.push((v.clone(), near.clone()));
        let other = &versions[rng.usize(..versions.len())];
        pairs.push((other.clone(), v.clone()));
    }
    pairs
}

/// Pairs each version with a near variant of itself (`suffixes` appended,
/// the part after the last `-` dropped, `0:` prepended), where the
/// subtle rules live (missing revision, zero epoch, `~`, trailing zeros).
pub fn variant_pairs(
    rng: &mut fastrand::Rng,
    versions: &[String],
    suffixes: &[&str],
) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for v in versions {
        let variant = match rng.u8(..4) {
            0 => match v.rsplit_once('-') {
                Some((head, _)) => head.to_string(),
                None => format!("{v}-0"),
            },
            1 => format!("0:{v}"),
            _ => format!("{v}{}", suffixes[rng.usize(..suffixes.len())]),
        };
        if rng.bool() {
            pairs.push((v.clone(), variant));
        } else {
            pairs.push((variant, v.clone()));
        }
    }
    pairs
}

/// A scratch file for an oracle's input, under cargo's per-test temp dir.
pub fn scratch_file(name: &str, contents: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("writing the oracle input");
    path
}

/// Random byte strings (made UTF-8 lossily): parsers must never panic.
pub fn random_inputs(seed: u64, count: usize) -> Vec<String> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let interesting = b"0123456789.-:~^_+abrpz \t\0\xff\xce";
    (0..count)
        .map(|_| {
            let len = rng.usize(0..24);
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.bool() {
                        interesting[rng.usize(..interesting.len())]
                    } else {
                        rng.u8(..)
                    }
                })
                .collect();
            String::from_utf8_lossy(&bytes).into_owned()
        })
        .collect()
}

/// Sorts `items` and checks the order is total and consistent: every
/// earlier item is `<=` every later one, and `==` matches `cmp`.
pub fn assert_total_order<T: Ord + std::fmt::Debug>(mut items: Vec<T>) {
    items.sort();
    for i in 0..items.len() {
        for j in i..items.len() {
            let (a, b) = (&items[i], &items[j]);
            assert_ne!(a.cmp(b), Ordering::Greater, "{a:?} sorted before {b:?}");
            assert_eq!(b.cmp(a), a.cmp(b).reverse(), "{a:?} vs {b:?}");
            assert_eq!(a == b, a.cmp(b) == Ordering::Equal, "{a:?} vs {b:?}");
        }
    }
}

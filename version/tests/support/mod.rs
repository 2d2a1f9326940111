//! Shared by the version comparator tests (`versions_*.rs`): the fixture
//! formats, the checks every scheme runs on its vector files, running a
//! reference implementation once over a whole batch (a missing one fails
//! the test unless `STELLA_SKIP_ORACLES=1`), seeded version generators, and
//! random input for the never-panic checks.

#![allow(dead_code)] // each test binary uses a different part

use std::cmp::Ordering;
use std::fmt::{Debug, Display};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use stella_version::{self as version, Scheme, VersionError};

// ---------------------------------------------------------------------------
// Fixtures

/// One `A < B` / `A = B` / `A > B` line of a vector file.
#[derive(Debug, Clone)]
pub struct Vector {
    pub line: usize,
    pub a: String,
    pub expected: Ordering,
    pub b: String,
}

/// A file under `tests/fixtures/versions`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/versions")
        .join(name)
}

/// Non-comment (`#`, `//`), non-blank lines of a fixture, with their line
/// numbers.
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

/// Reads a vector file (osv-scalibr's `semantic/testdata` format: `A op B`
/// with op one of `<`, `=`, `>`). Any other line shape is a broken fixture.
pub fn read_vectors(name: &str) -> Vec<Vector> {
    read_triples(name, false)
}

/// Reads `A B -1|0|1` lines (dpkg's and rpm's own test tables).
pub fn read_signed_table(name: &str) -> Vec<Vector> {
    read_triples(name, true)
}

fn read_triples(name: &str, signed: bool) -> Vec<Vector> {
    let vectors: Vec<Vector> = fixture_lines(name)
        .into_iter()
        .map(|(line, text)| {
            let fields: Vec<&str> = text.split_whitespace().collect();
            let [x, y, z] = fields[..] else {
                let shape = if signed { "A B -1|0|1" } else { "A op B" };
                panic!("{name}:{line}: not `{shape}`: {text:?}");
            };
            let (a, op, b) = if signed { (x, z, y) } else { (x, y, z) };
            let expected = match (signed, op) {
                (false, "<") | (true, "-1") => Ordering::Less,
                (false, "=") | (true, "0") => Ordering::Equal,
                (false, ">") | (true, "1") => Ordering::Greater,
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

/// `<`, `=`, `>` (or dpkg's and rpm's `-1`, `0`, `1`) as an order.
pub fn parse_op(s: &str) -> Option<Ordering> {
    match s {
        "<" | "-1" => Some(Ordering::Less),
        "=" | "0" => Some(Ordering::Equal),
        ">" | "1" => Some(Ordering::Greater),
        _ => None,
    }
}

/// An oracle's numeric answer: the sign of any integer, or `None` for `E`
/// (the oracle refused a version).
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

// ---------------------------------------------------------------------------
// Checks every scheme runs

/// Checks `vectors` (read from `name`) under `scheme`: `version::compare`
/// gives `expected(v)` one way round and its reverse the other, and the
/// parsed values' `Ord` and `Eq` say the same. `expected` is where a test
/// overrides a vector it documents as wrong for its reference. Returns the
/// number of vectors checked.
pub fn check_vectors<V, E>(
    name: &str,
    vectors: &[Vector],
    scheme: Scheme,
    parse: impl Fn(&str) -> Result<V, E>,
    expected: impl Fn(&Vector) -> Ordering,
) -> usize
where
    V: Ord + Debug,
    E: Display,
{
    let mut failures = Vec::new();
    for v in vectors {
        let want = expected(v);
        let at = format!("{name}:{}: {} {} {}", v.line, v.a, op(want), v.b);
        for (a, b, want) in [(&v.a, &v.b, want), (&v.b, &v.a, want.reverse())] {
            let got = version::compare(scheme, a, b);
            if got != Ok(want) {
                failures.push(format!("{at}: compare({a}, {b}) = {got:?}"));
            }
        }
        match (parse(&v.a), parse(&v.b)) {
            (Ok(a), Ok(b)) => {
                if a.cmp(&b) != want || b.cmp(&a) != want.reverse() {
                    failures.push(format!("{at}: Ord says {:?}", a.cmp(&b)));
                }
                if (a == b) != (want == Ordering::Equal) {
                    failures.push(format!("{at}: Eq says {}", a == b));
                }
            }
            (a, b) => failures.push(format!(
                "{at}: does not parse: {:?} / {:?}",
                a.err().map(|e| e.to_string()),
                b.err().map(|e| e.to_string())
            )),
        }
    }
    assert_agrees(name, vectors.len(), failures);
    vectors.len()
}

/// [`check_vectors`] on the whole vector file `name`.
pub fn check_vector_file<V, E>(
    name: &str,
    scheme: Scheme,
    parse: impl Fn(&str) -> Result<V, E>,
    expected: impl Fn(&Vector) -> Ordering,
) -> usize
where
    V: Ord + Debug,
    E: Display,
{
    check_vectors(name, &read_vectors(name), scheme, parse, expected)
}

/// The vector's own answer (no override).
pub fn as_written(v: &Vector) -> Ordering {
    v.expected
}

/// Each of `bad` is a typed error of `scheme` naming the input, from the
/// parser and from `version::compare`.
pub fn assert_rejected<V: Debug>(
    scheme: Scheme,
    bad: &[&str],
    parse: impl Fn(&str) -> Result<V, VersionError>,
) {
    for &input in bad {
        let err = parse(input).expect_err(input);
        assert_eq!(err.scheme, scheme, "{input:?}");
        assert_eq!(err.input, input);
        assert!(version::compare(scheme, "1", input).is_err(), "{input:?}");
    }
}

/// When `input` parses, the version prints to a string that parses back
/// to an equal version.
pub fn assert_display_reparses<V, E>(input: &str, parse: impl Fn(&str) -> Result<V, E>)
where
    V: Display + Debug + PartialEq,
    E: Debug,
{
    if let Ok(v) = parse(input) {
        let again = parse(&v.to_string());
        assert_eq!(again.as_ref().ok(), Some(&v), "{input:?} printed as {v}");
    }
}

/// Fails with every disagreement (the first 40 shown) found among `total`
/// checked cases against `reference`.
pub fn assert_agrees(reference: &str, total: usize, mut failures: Vec<String>) {
    failures.sort();
    failures.dedup();
    let shown: Vec<&str> = failures.iter().take(40).map(String::as_str).collect();
    assert!(
        failures.is_empty(),
        "{} disagreements with {reference} ({total} cases):\n{}",
        failures.len(),
        shown.join("\n")
    );
}

/// Sorts `items` and checks the order is total and consistent: every
/// earlier item is `<=` every later one, and `==` matches `cmp`.
pub fn assert_total_order<T: Ord + Debug>(mut items: Vec<T>) {
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

/// [`assert_total_order`] on the versions of the first 1200 `pairs` that
/// parse (at least 800 of them).
pub fn assert_total_order_of<V: Ord + Debug, E>(
    pairs: Vec<(String, String)>,
    parse: impl Fn(&str) -> Result<V, E>,
) {
    let versions: Vec<V> = pairs
        .into_iter()
        .take(1200)
        .flat_map(|(a, b)| [a, b])
        .filter_map(|v| parse(&v).ok())
        .collect();
    assert!(versions.len() > 800, "{} versions", versions.len());
    assert_total_order(versions);
}

// ---------------------------------------------------------------------------
// Oracles: real reference implementations, one process per batch

/// True when the oracles may be skipped (`STELLA_SKIP_ORACLES=1`); then
/// says so. Otherwise a missing oracle fails the test.
pub fn oracles_skipped(what: &str) -> bool {
    let skip = std::env::var("STELLA_SKIP_ORACLES").is_ok_and(|v| v == "1");
    if skip {
        eprintln!("SKIPPED: {what} (STELLA_SKIP_ORACLES=1)");
    }
    skip
}

/// Whether an oracle test should run: yes when the oracle is `available`;
/// when it is not, a skip (`false`) under `STELLA_SKIP_ORACLES=1`, else a
/// failure naming `remedy`.
pub fn require_oracle(available: bool, what: &str, remedy: &str) -> bool {
    if available {
        return true;
    }
    if oracles_skipped(&format!("{what} is missing")) {
        return false;
    }
    panic!("{what} is missing; {remedy} (or set STELLA_SKIP_ORACLES=1)")
}

/// Runs `command` once with `input` on stdin and returns its stdout. A
/// tool that cannot start fails the test unless `STELLA_SKIP_ORACLES=1`
/// (then `None`); one that fails fails the test.
pub fn run_oracle(mut command: Command, what: &str, input: &str) -> Option<String> {
    let child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if oracles_skipped(&format!("{what} is not runnable ({e})")) => return None,
        Err(e) => panic!(
            "{what} is not runnable ({e}); install it (tests/run.sh) or set STELLA_SKIP_ORACLES=1"
        ),
    };
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_string();
    // Write from a thread: the oracle may fill its stdout pipe before it
    // has read all its input.
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
    Some(String::from_utf8(output.stdout).expect("oracle output is UTF-8"))
}

/// [`run_oracle`], one answer per line.
pub fn run_oracle_lines(command: Command, what: &str, input: &str) -> Option<Vec<String>> {
    run_oracle(command, what, input).map(|out| out.lines().map(str::to_string).collect())
}

/// `A<TAB>B` lines, the line-oracles' input.
pub fn tab_separated(pairs: &[(String, String)]) -> String {
    pairs.iter().map(|(a, b)| format!("{a}\t{b}\n")).collect()
}

/// Runs a JSON oracle script (`program script args…`) on `pairs` (sent as
/// `[[a, b], …]`); it answers `{"<version_key>": …, "results": [...]}`
/// with one result per pair, which is returned. `install` is the remedy
/// when it is missing.
pub fn json_pair_oracle(
    program: &str,
    args: &[&str],
    pairs: &[(String, String)],
    version_key: &str,
    install: &str,
) -> Vec<Value> {
    let input: Value = pairs.iter().map(|(a, b)| json!([a, b])).collect();
    let mut command = Command::new(program);
    command.args(args);
    let what = format!("oracle `{program} {args:?}` (install: {install})");
    let out = run_oracle(command, &what, &input.to_string()).unwrap_or_else(|| {
        // Callers check STELLA_SKIP_ORACLES first; a skip here means it
        // changed in between.
        panic!("{what} did not run")
    });
    let answer: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("oracle output is not JSON ({e}): {out}"));
    eprintln!("oracle: {version_key} {}", answer[version_key]);
    let results = answer["results"].as_array().expect("results").clone();
    assert_eq!(results.len(), pairs.len(), "one result per pair");
    results
}

/// A scratch file for an oracle's input, under cargo's per-test temp dir.
pub fn scratch_file(name: &str, contents: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, contents).expect("writing the oracle input");
    path
}

// ---------------------------------------------------------------------------
// Seeded generation (fixed seeds: every run tests the same versions)

/// Random version material from a seeded RNG.
pub struct Gen {
    pub rng: fastrand::Rng,
}

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen {
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
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

    /// A number in the shape of dpkg/rpm/apk version parts: mostly one to
    /// three digits, some zero-padded, some past 32 bits.
    pub fn part_number(&mut self) -> String {
        match self.rng.u8(..10) {
            0 => format!("0{}", self.rng.u32(..100)),
            1 => self.rng.u64(..100_000_000_000).to_string(),
            2..=5 => self.rng.u8(..10).to_string(),
            _ => self.rng.u16(..1000).to_string(),
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

    /// One of `seeds` with one or two edits (a character dropped, doubled,
    /// replaced or inserted from `alphabet`); never empty, as every scheme
    /// refuses the empty string outright.
    pub fn mutate_seed(&mut self, seeds: &[String], alphabet: &str) -> String {
        let letters: Vec<char> = alphabet.chars().collect();
        loop {
            let seed = &seeds[self.rng.usize(..seeds.len())];
            let mut chars: Vec<char> = seed.chars().collect();
            for _ in 0..self.rng.usize(1..=2) {
                let c = letters[self.rng.usize(..letters.len())];
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
            if !chars.is_empty() {
                return chars.into_iter().collect();
            }
        }
    }

    /// A version string: 1 to `max_parts` of `tokens` joined by
    /// `separators`.
    pub fn joined(&mut self, tokens: &[&str], separators: &[&str], max_parts: usize) -> String {
        let parts = self.rng.usize(1..=max_parts);
        let mut s = String::new();
        for i in 0..parts {
            if i > 0 {
                s.push_str(self.pick(separators));
            }
            s.push_str(self.pick(tokens));
        }
        s
    }

    /// `version` with one byte dropped, doubled or replaced (from
    /// `alphabet`), or one of `tokens` appended.
    pub fn mutate_bytes(&mut self, version: &str, alphabet: &[u8], tokens: &[&str]) -> String {
        let mut bytes = version.as_bytes().to_vec();
        match self.rng.u8(..4) {
            0 if !bytes.is_empty() => {
                bytes.remove(self.rng.usize(..bytes.len()));
            }
            1 if !bytes.is_empty() => {
                let i = self.rng.usize(..bytes.len());
                bytes.insert(i, bytes[i]);
            }
            2 if !bytes.is_empty() => {
                let i = self.rng.usize(..bytes.len());
                bytes[i] = self.pick(alphabet);
            }
            _ => bytes.extend_from_slice(self.pick(tokens).as_bytes()),
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// A partner for `a`: one in three `fresh`, one in three `a` mutated,
    /// one in three a mutated version of `corpus` (see [`Gen::mutate_bytes`]).
    pub fn partner(
        &mut self,
        a: &str,
        corpus: &[String],
        fresh: impl FnOnce(&mut Gen) -> String,
        alphabet: &[u8],
        tokens: &[&str],
    ) -> String {
        match self.rng.usize(..3) {
            0 => fresh(self),
            1 => self.mutate_bytes(a, alphabet, tokens),
            _ => {
                let base = corpus[self.rng.usize(..corpus.len())].clone();
                self.mutate_bytes(&base, alphabet, tokens)
            }
        }
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

    /// The differential tests' pool: `known` versions, 1500 from
    /// `generate`, 600 one-edit mutations (from `alphabet`) of the first
    /// ones; sorted, without duplicates.
    pub fn pool(
        &mut self,
        known: Vec<String>,
        mut generate: impl FnMut(&mut Gen) -> String,
        alphabet: &str,
    ) -> Vec<String> {
        let mut pool = known;
        for _ in 0..1500 {
            pool.push(generate(self));
        }
        for i in 0..600 {
            let base = pool[i % pool.len()].clone();
            pool.push(self.mutate(&base, alphabet));
        }
        pool.sort();
        pool.dedup();
        pool
    }
}

/// The dpkg/rpm/apk tests' pairs: 2000 versions, every `mutate_every`th a
/// mutated `seeds` version (edits from `alphabet`), the rest from `build`;
/// each paired with a neighbour, a random one ([`pair_up`]) and a near
/// variant of itself ([`variant_pairs`], with `suffixes`).
pub fn seeded_pairs(
    seed: u64,
    seeds: &[String],
    alphabet: &str,
    mutate_every: usize,
    mut build: impl FnMut(&mut Gen) -> String,
    suffixes: &[&str],
) -> Vec<(String, String)> {
    let mut gen = Gen::new(seed);
    let versions: Vec<String> = (0..2000)
        .map(|i| {
            if i % mutate_every == 0 {
                gen.mutate_seed(seeds, alphabet)
            } else {
                build(&mut gen)
            }
        })
        .collect();
    let mut pairs = pair_up(&mut gen.rng, &versions);
    pairs.extend(variant_pairs(&mut gen.rng, &versions, suffixes));
    pairs
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

/// Both sides of every vector, in file order.
pub fn vector_versions(vectors: Vec<Vector>) -> Vec<String> {
    vectors.into_iter().flat_map(|v| [v.a, v.b]).collect()
}

// ---------------------------------------------------------------------------
// Random input: parsers answer anything with a value or an error, never a panic

/// `count` random byte strings (lossily made UTF-8), up to 23 bytes, three
/// bytes in four from `alphabet` (the characters the scheme gives meaning
/// to), the rest any byte.
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

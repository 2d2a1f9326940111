//! The labeled set (tests/labeled/): root filesystems built from real
//! packages with known-vulnerable versions, real advisory records, and
//! expected.yaml — the true positives every scan must report and the
//! false-positive traps it must not, each with its reason.
//!
//! - `labeled_oracle_agrees`: tests/labeled/oracle.py recomputes every true
//!   positive from the package managers' own listings and other programs'
//!   version orderings; it must agree with expected.yaml.
//! - `labeled_inventory_matches_package_managers`: `stella scan dir:ROOT -o
//!   json` finds exactly what dpkg-query, pip, rpm -qa, go version -m and the
//!   binary's .dep-v0 section list.
//! - `labeled_feeds_build_accepts_advisories`: `stella feeds build` reads
//!   every advisory file, none quarantined.
//! - `labeled_findings`: `stella scan dir:ROOT --feeds oci-dir:DB -o
//!   findings-json=FILE` reports every true positive (id or alias, package,
//!   installed and fixed version, the advisory's ecosystem and package), no
//!   trap, and nothing else; the same bytes on a second run.
//! - `labeled_gate`: the Debian case packed as an OCI image (umoci) and
//!   gated as CI gates it — `--policy` (exit 2, every reason tied to a rule
//!   and a finding, an exception waiving one until it expires), a VEX
//!   document attached as a referrer (`stella vex attach`) that suppresses
//!   the findings (exit 0), `--attach` pushing the verdict as a referrer.
//!   Digests in the verdict are checked against sha256 of the files and
//!   the layouts' own index.json.
//!
//! build.sh downloads the pinned packages once (deb.debian.org, PyPI) into
//! target/tmp/labeled-cache and checks their sha256. It needs python3 (with
//! pip, PyYAML, packaging), dpkg-deb, rpmbuild/rpm and objcopy: tests/run.sh
//! installs them; a missing one fails with its name.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;
use stella_model::Finding;

const CASES: [&str; 5] = ["pypi", "debian", "go", "rust", "almalinux"];

fn labeled_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/labeled")
}

fn work_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("labeled")
}

fn run(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Builds the root filesystems once per test process (the tests share them),
/// then runs the oracle, which also writes expected.yaml as JSON.
fn built() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = work_dir();
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("labeled-cache");
        run(
            Command::new("bash")
                .arg(labeled_dir().join("build.sh"))
                .arg(&out)
                .arg(&cache),
            "tests/labeled/build.sh",
        );
        run(
            Command::new("python3")
                .arg(labeled_dir().join("oracle.py"))
                .arg(&out)
                .arg("--json")
                .arg(out.join("expected.json")),
            "tests/labeled/oracle.py (the oracle disagrees with expected.yaml)",
        );
        out
    })
}

fn expected() -> Value {
    let path = built().join("expected.json");
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn case<'a>(expected: &'a Value, name: &str) -> &'a Value {
    expected["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("expected.yaml has no case {name}"))
}

fn stella(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stella"))
        .args(args)
        .output()
        .expect("run stella")
}

fn rootfs(name: &str) -> String {
    format!("dir:{}", built().join("rootfs").join(name).display())
}

/// Ground-truth TSV rows (`kind name version …`) of one listing.
fn ground_truth(file: &str) -> Vec<Vec<String>> {
    let path = built().join("ground-truth").join(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => text
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// PEP 503 name normalization (the spelling-independent Python name).
fn pep503(name: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for ch in name.chars() {
        if matches!(ch, '-' | '_' | '.') {
            dash = true;
        } else {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(ch.to_ascii_lowercase());
        }
    }
    out
}

fn same_name(kind: &str, a: &str, b: &str) -> bool {
    if kind == "pypi" {
        pep503(a) == pep503(b)
    } else {
        a == b
    }
}

#[test]
fn labeled_oracle_agrees() {
    // built() runs the oracle and fails when it disagrees.
    let expected = expected();
    for name in CASES {
        let c = case(&expected, name);
        assert!(
            !c["true_positives"].as_array().unwrap().is_empty(),
            "{name}: no true positives"
        );
    }
}

#[test]
fn labeled_inventory_matches_package_managers() {
    let scans = built().join("inventories");
    std::fs::create_dir_all(&scans).unwrap();
    let mut problems = Vec::new();
    for name in CASES {
        let file = scans.join(format!("{name}.json"));
        let out = stella(&[
            "scan",
            &rootfs(name),
            "-q",
            "-o",
            &format!("json={}", file.display()),
        ]);
        assert!(
            out.status.success(),
            "stella scan {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let inventory: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let found: BTreeSet<(String, String, String)> = inventory["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let kind = c["kind"].as_str().unwrap_or("").to_string();
                let name = c["name"].as_str().unwrap_or("");
                let name = if kind == "pypi" {
                    pep503(name)
                } else {
                    name.to_string()
                };
                (kind, name, c["version"].as_str().unwrap_or("").to_string())
            })
            .collect();

        let mut truth: BTreeSet<(String, String, String)> = BTreeSet::new();
        for listing in ["dpkg", "pip", "cargo", "rpm"] {
            for row in ground_truth(&format!("{name}-{listing}.tsv")) {
                let [kind, pkg, version, ..] = row.as_slice() else {
                    panic!("{name}-{listing}.tsv: short row {row:?}")
                };
                let pkg = if kind == "pypi" {
                    pep503(pkg)
                } else {
                    pkg.clone()
                };
                truth.insert((kind.clone(), pkg, version.clone()));
            }
        }
        // Debian packages name their source package (binary ≠ source is how
        // distro advisories find them): as dpkg-query's ${source:Package} and
        // ${source:Version} say.
        for row in ground_truth(&format!("{name}-dpkg.tsv")) {
            let [_, pkg, _, source, source_version] = row.as_slice() else {
                panic!("{name}-dpkg.tsv: row {row:?}")
            };
            let component = inventory["components"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["kind"] == "deb" && c["name"] == pkg.as_str());
            let got =
                component.map(|c| (c["source"]["name"].clone(), c["source"]["version"].clone()));
            let want = (
                Value::from(source.as_str()),
                Value::from(source_version.as_str()),
            );
            if got.as_ref() != Some(&want) {
                problems.push(format!(
                    "{name}: {pkg}: source {got:?}, dpkg-query says {want:?}"
                ));
            }
        }
        if let Ok(go) =
            std::fs::read_to_string(built().join(format!("ground-truth/{name}-version.txt")))
        {
            let version = go.trim().trim_start_matches("go").to_string();
            truth.insert(("golang".into(), "stdlib".into(), version));
        }
        // What the scan adds beyond the package managers' listings: the
        // binaries' own main module / root crate.
        let own = |c: &(String, String, String)| {
            (c.0 == "cargo" && c.1 == "stella-labeled-crates")
                || (c.0 == "golang" && c.1.starts_with("github.com/dustinkirkland/golang-petname"))
        };
        for missing in truth.difference(&found) {
            problems.push(format!("{name}: the scan misses {missing:?}"));
        }
        for extra in found.difference(&truth).filter(|c| !own(c)) {
            problems.push(format!("{name}: the scan adds {extra:?}"));
        }
        // The OS-owned python package is reported once, as its dpkg package.
        if name == "pypi" {
            let owner = inventory["components"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == "python3-urllib3");
            let purls = owner
                .and_then(|c| c["properties"]["stella:language:purls"].as_str())
                .unwrap_or("");
            if !purls
                .split_whitespace()
                .any(|p| p == "pkg:pypi/urllib3@1.26.12")
            {
                problems.push(format!(
                    "pypi: python3-urllib3 does not carry its egg-info (purls {purls:?})"
                ));
            }
        }
        let expected = expected();
        let distro = &case(&expected, name)["distro"];
        if inventory["distro"]["id"] != distro["id"]
            || inventory["distro"]["versionId"] != distro["version"]
        {
            problems.push(format!(
                "{name}: distro {} {}, expected {distro}",
                inventory["distro"]["id"], inventory["distro"]["versionId"]
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Builds the feeds DB of every advisory source; returns its `oci-dir:` ref.
fn feeds_db() -> String {
    static DB: OnceLock<String> = OnceLock::new();
    DB.get_or_init(|| {
        let advisories = labeled_dir().join("advisories");
        let layout = built().join("feeds-db");
        let _ = std::fs::remove_dir_all(&layout);
        let target = format!("oci-dir:{}", layout.display());
        let sources: Vec<String> = [
            "osv:osv-pypi",
            "osv:osv-go",
            "osv:osv-crates",
            "osv:osv-almalinux9",
            "debian-tracker:debian-tracker/bookworm.json",
        ]
        .iter()
        .map(|s| {
            let (kind, path) = s.split_once(':').unwrap();
            format!("{kind}:{}", advisories.join(path).display())
        })
        .collect();
        let mut args = vec!["feeds", "build"];
        args.extend(sources.iter().map(String::as_str));
        args.extend(["-o", &target, "--json"]);
        let out = stella(&args);
        assert!(
            out.status.success(),
            "stella feeds build: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        target
    })
    .clone()
}

#[test]
fn labeled_feeds_build_accepts_advisories() {
    let target = feeds_db();
    let layout = PathBuf::from(target.strip_prefix("oci-dir:").unwrap());
    let blob = |digest: &str| -> Value {
        let hex = digest.strip_prefix("sha256:").unwrap();
        serde_json::from_slice(&std::fs::read(layout.join("blobs/sha256").join(hex)).unwrap())
            .unwrap()
    };
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifest = blob(index["manifests"][0]["digest"].as_str().unwrap());
    let config = blob(manifest["config"]["digest"].as_str().unwrap());
    let count = |dir: &str, ext: &str| {
        fn walk(p: &Path, ext: &str) -> u64 {
            std::fs::read_dir(p)
                .unwrap()
                .map(|e| e.unwrap().path())
                .map(|p| {
                    if p.is_dir() {
                        walk(&p, ext)
                    } else {
                        u64::from(p.extension().is_some_and(|e| e == ext))
                    }
                })
                .sum()
        }
        walk(&labeled_dir().join("advisories").join(dir), ext)
    };
    // One advisory per record file; the tracker fixture holds 13 CVEs.
    let want = [
        ("osv/osv-pypi", count("osv-pypi", "yaml")),
        ("osv/osv-go", count("osv-go", "json")),
        ("osv/osv-crates", count("osv-crates", "json")),
        ("osv/osv-almalinux9", count("osv-almalinux9", "json")),
        ("debian-tracker/bookworm.json", 13),
    ];
    for (name, advisories) in want {
        let source = config["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no source {name} in {config}"));
        assert_eq!(source["advisories"], advisories, "{name}: {source}");
        assert_eq!(source["quarantined"], 0, "{name}: {source}");
    }
}

/// The ids a finding or an expected entry goes by.
fn ids(entry: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Some(id) = entry["id"].as_str() {
        out.insert(id.to_string());
    }
    for a in entry["aliases"].as_array().into_iter().flatten() {
        if let Some(a) = a.as_str() {
            out.insert(a.to_string());
        }
    }
    out
}

fn finding_ids(f: &Finding) -> BTreeSet<String> {
    std::iter::once(&f.id).chain(&f.aliases).cloned().collect()
}

fn on_component(f: &Finding, entry: &Value) -> bool {
    let kind = entry["kind"].as_str().unwrap_or("");
    f.component.kind.as_str() == kind
        && same_name(
            kind,
            &f.component.name,
            entry["package"].as_str().unwrap_or(""),
        )
}

fn describe(f: &Finding) -> String {
    format!(
        "{} {:?} on {}/{} {} (installed {}, fixed {:?}, by {}/{} {})",
        f.id,
        f.aliases,
        f.component.kind.as_str(),
        f.component.name,
        f.component.version,
        f.installed_version,
        f.fixed_version,
        f.matched_by.ecosystem,
        f.matched_by.package,
        f.matched_by.rule
    )
}

/// Scans one root filesystem with the feeds DB; the findings, or why not.
/// The contract writes the same bytes on every run: the scan runs twice.
fn findings(name: &str, db: &str) -> Result<Vec<Finding>, String> {
    let dir = built().join("findings");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{name}.json"));
    let again = dir.join(format!("{name}.again.json"));
    for target in [&file, &again] {
        let out = stella(&[
            "scan",
            &rootfs(name),
            "-q",
            "--feeds",
            db,
            "-o",
            &format!("findings-json={}", target.display()),
        ]);
        if !out.status.success() {
            return Err(format!(
                "`stella scan {} --feeds {db} -o findings-json=…` exited with {} (docs/cli.md: \
                 `--feeds`, `findings-json`):\n{}",
                rootfs(name),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    if std::fs::read(&file).ok() != std::fs::read(&again).ok() {
        return Err(format!(
            "{} and {} differ: findings-json must be byte-identical across runs",
            file.display(),
            again.display()
        ));
    }
    let doc: Value = serde_json::from_slice(
        &std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?,
    )
    .map_err(|e| format!("{}: not JSON: {e}", file.display()))?;
    if doc["schema"] != "stella-findings@1" {
        return Err(format!(
            "{}: schema {} (want stella-findings@1)",
            file.display(),
            doc["schema"]
        ));
    }
    serde_json::from_value(doc["findings"].clone()).map_err(|e| {
        format!(
            "{}: findings are not stella_model::Finding: {e}",
            file.display()
        )
    })
}

/// Every difference between one case's findings and expected.yaml: missing
/// true positives, wrong versions or ecosystem, trap hits, findings nobody
/// expected, duplicates.
fn compare(name: &str, c: &Value, found: &[Finding]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut explained = vec![false; found.len()];
    for tp in c["true_positives"].as_array().unwrap() {
        let want = ids(tp);
        let hit = found
            .iter()
            .position(|f| !finding_ids(f).is_disjoint(&want) && on_component(f, tp));
        let Some(i) = hit else {
            problems.push(format!(
                "{name}: missing true positive {} on {} {} ({})",
                tp["id"], tp["package"], tp["installed"], tp["reason"]
            ));
            continue;
        };
        explained[i] = true;
        let f = &found[i];
        let kind = tp["kind"].as_str().unwrap_or("");
        let mut wrong = Vec::new();
        if f.installed_version != tp["installed"].as_str().unwrap_or("") {
            wrong.push(format!(
                "installed {} (want {})",
                f.installed_version, tp["installed"]
            ));
        }
        if f.fixed_version.as_deref() != tp["fixed"].as_str() {
            wrong.push(format!(
                "fixed {:?} (want {})",
                f.fixed_version, tp["fixed"]
            ));
        }
        if f.matched_by.ecosystem != tp["ecosystem"].as_str().unwrap_or("") {
            wrong.push(format!(
                "ecosystem {} (want {})",
                f.matched_by.ecosystem, tp["ecosystem"]
            ));
        }
        if !same_name(
            kind,
            &f.matched_by.package,
            tp["advisory_package"].as_str().unwrap_or(""),
        ) {
            wrong.push(format!(
                "matched by package {} (want {})",
                f.matched_by.package, tp["advisory_package"]
            ));
        }
        if !wrong.is_empty() {
            problems.push(format!("{name}: {}: {}", describe(f), wrong.join(", ")));
        }
    }
    for trap in c["traps"].as_array().unwrap() {
        let avoid = ids(trap);
        for f in found
            .iter()
            .filter(|f| !finding_ids(f).is_disjoint(&avoid) && on_component(f, trap))
        {
            problems.push(format!(
                "{name}: trap hit ({}): {} — {}",
                trap["trap"],
                describe(f),
                trap["reason"]
            ));
        }
    }
    for also in c["also_expected"].as_array().unwrap() {
        let want = ids(also);
        for (i, f) in found.iter().enumerate() {
            if !finding_ids(f).is_disjoint(&want) && on_component(f, also) {
                explained[i] = true;
            }
        }
    }
    for (f, ok) in found.iter().zip(&explained) {
        if !ok {
            problems.push(format!("{name}: unexpected finding {}", describe(f)));
        }
    }
    // Each true positive once: a duplicate is noise.
    let mut seen = BTreeSet::new();
    for f in found {
        let key = (
            f.id.clone(),
            f.component.kind,
            f.component.name.clone(),
            f.component.version.clone(),
        );
        if !seen.insert(key) {
            problems.push(format!("{name}: duplicate finding {}", describe(f)));
        }
    }
    problems
}

#[test]
fn labeled_findings() {
    let expected = expected();
    let db = feeds_db();
    let mut problems = Vec::new();
    for name in CASES {
        let c = case(&expected, name);
        let found = match findings(name, &db) {
            Ok(found) => found,
            Err(why) if why.contains("unexpected argument '--feeds'") => {
                panic!(
                    "labeled set: `stella scan` has no `--feeds` yet (issue 7's integrator adds \
                     it with `-o findings-json`); the set itself is ready: {} cases in \
                     tests/labeled/expected.yaml.\n{why}",
                    CASES.len()
                )
            }
            Err(why) => {
                problems.push(format!("{name}: {why}"));
                continue;
            }
        };
        problems.extend(compare(name, c, &found));
    }
    assert!(
        problems.is_empty(),
        "labeled set: {} problem(s)\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// A finding as the contract writes it, for an expected.yaml entry.
fn finding_for(entry: &Value) -> Finding {
    serde_json::from_value(serde_json::json!({
        "id": entry["id"],
        "aliases": entry["aliases"].as_array().cloned().unwrap_or_default(),
        "component": {
            "kind": entry["kind"],
            "name": entry["package"],
            "version": entry["installed"],
        },
        "installedVersion": entry["installed"],
        "fixedVersion": entry["fixed"],
        "status": "affected",
        "matchedBy": {
            "ecosystem": entry["ecosystem"].as_str().unwrap_or("(trap)"),
            "package": entry["advisory_package"].as_str().or(entry["package"].as_str()),
            "key": "package",
            "scheme": "test",
            "rule": "test",
        },
    }))
    .unwrap()
}

/// The comparison itself can fail: the expected findings pass, and each kind
/// of mistake (a missing true positive, a wrong fixed version, a trap hit,
/// an extra finding, a duplicate) is reported.
#[test]
fn labeled_comparison_catches_mistakes() {
    let expected = expected();
    for name in CASES {
        let c = case(&expected, name);
        let tps = c["true_positives"].as_array().unwrap();
        let right: Vec<Finding> = tps.iter().map(finding_for).collect();
        assert_eq!(compare(name, c, &right), Vec::<String>::new(), "{name}");

        let missing = &right[1..];
        assert!(compare(name, c, missing)[0].contains("missing true positive"));

        let mut wrong_fix = right.clone();
        wrong_fix[0].fixed_version = Some("0".into());
        assert!(compare(name, c, &wrong_fix)[0].contains("fixed"));

        let trap = &c["traps"].as_array().unwrap()[0];
        let mut with_trap = right.clone();
        with_trap.push(finding_for(trap));
        let problems = compare(name, c, &with_trap);
        assert!(
            problems.iter().any(|p| p.contains("trap hit")),
            "{problems:?}"
        );

        let mut duplicated = right.clone();
        duplicated.push(right[0].clone());
        let problems = compare(name, c, &duplicated);
        assert!(
            problems.iter().any(|p| p.contains("duplicate")),
            "{problems:?}"
        );

        let mut extra = right.clone();
        extra[0].id = "CVE-0000-0000".into();
        extra[0].aliases.clear();
        let problems = compare(name, c, &extra);
        assert!(
            problems.iter().any(|p| p.contains("unexpected finding")),
            "{problems:?}"
        );
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// The digest a layout's index.json gives its only (or tagged) manifest.
fn layout_manifest_digest(layout: &Path, tag: Option<&str>) -> String {
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifests = index["manifests"].as_array().unwrap();
    let m = match tag {
        Some(t) => manifests
            .iter()
            .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == t)
            .unwrap(),
        None => &manifests[0],
    };
    m["digest"].as_str().unwrap().to_string()
}

fn json_file(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `stella scan` exit code and stderr, the outputs in `dir`.
fn gate(image: &str, db: &str, cache: &Path, dir: &Path, extra: &[&str]) -> (i32, String) {
    let f = format!("findings-json={}", dir.join("findings.json").display());
    let v = format!("verdict-json={}", dir.join("verdict.json").display());
    let s = format!("sarif={}", dir.join("sarif.json").display());
    let cache = cache.display().to_string();
    let mut args = vec![
        "scan",
        image,
        "-q",
        "--feeds",
        db,
        "--feeds-cache",
        &cache,
        "-o",
        &f,
        "-o",
        &v,
        "-o",
        &s,
    ];
    args.extend_from_slice(extra);
    let out = stella(&args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn labeled_gate() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    // The Debian case as an OCI image, packed by umoci.
    let layout = w.join("image");
    let l = layout.display().to_string();
    run(
        Command::new("umoci").args(["init", "--layout", &l]),
        "umoci init",
    );
    run(
        Command::new("umoci").args(["new", "--image", &format!("{l}:img")]),
        "umoci new",
    );
    let root = built().join("rootfs/debian");
    run(
        Command::new("umoci")
            .args(["insert", "--rootless", "--image", &format!("{l}:img")])
            .arg(&root)
            .arg("/"),
        "umoci insert",
    );
    let image = format!("oci-dir:{l}:img");
    let subject = layout_manifest_digest(&layout, Some("img"));
    let db = feeds_db();
    let feeds_digest =
        layout_manifest_digest(Path::new(db.strip_prefix("oci-dir:").unwrap()), None);
    let cache = w.join("feeds-cache");

    let policy = w.join("policy.yaml");
    let policy_text = "schema: stella-policy@1\nname: labeled\nrules:\n  - id: fixable\n    action: fail\n    fixAvailable: true\nexceptions:\n  - id: EX-1\n    vulnerability: CVE-2026-61627\n    expires: 2026-12-31\n    reason: libass is not reachable from the entrypoint\n";
    std::fs::write(&policy, policy_text).unwrap();
    let p = policy.display().to_string();

    // 1. Before the exception expires: fail on every fixable finding but the waived one.
    let out1 = w.join("run1");
    std::fs::create_dir_all(&out1).unwrap();
    let (code, err) = gate(
        &image,
        &db,
        &cache,
        &out1,
        &["--policy", &p, "--at", "2026-11-24T00:00:00Z"],
    );
    assert_eq!(code, 2, "a failing verdict exits 2: {err}");
    let findings = json_file(&out1.join("findings.json"));
    let list = findings["findings"].as_array().unwrap();
    let expected = expected();
    let debian = case(&expected, "debian");
    let tp: BTreeSet<String> = debian["true_positives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let ids: BTreeSet<String> = list
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ids, tp,
        "the image's findings are the Debian case's true positives"
    );
    assert!(list.iter().all(|f| f["fixedVersion"].is_string()));
    let verdict = json_file(&out1.join("verdict.json"));
    assert_eq!(
        verdict, findings["verdict"],
        "verdict-json = the findings document's verdict"
    );
    assert_eq!(verdict["outcome"], "fail");
    assert_eq!(verdict["subject"], subject.as_str());
    assert_eq!(
        verdict["policy"]["digest"],
        sha256_hex(policy_text.as_bytes()).as_str()
    );
    assert_eq!(verdict["feeds"]["digest"], feeds_digest.as_str());
    assert_eq!(verdict["evaluatedAt"], "2026-11-24T00:00:00Z");
    let reasons: BTreeSet<String> = verdict["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|r| assert_eq!(r["rule"], "fixable"))
        .map(|r| r["finding"].as_str().unwrap().to_string())
        .collect();
    let mut unwaived = tp.clone();
    unwaived.remove("CVE-2026-61627");
    assert_eq!(reasons, unwaived);
    let waived = verdict["waived"].as_array().unwrap();
    assert_eq!(waived.len(), 1);
    assert_eq!(waived[0]["finding"], "CVE-2026-61627");
    assert!(waived[0]["exception"].as_str().unwrap().starts_with("EX-1"));
    let sarif = json_file(&out1.join("sarif.json"));
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(
        sarif["runs"][0]["results"].as_array().unwrap().len(),
        tp.len()
    );
    // Replayable: the same inputs and --at give the same bytes.
    let out1b = w.join("run1b");
    std::fs::create_dir_all(&out1b).unwrap();
    gate(
        &image,
        &db,
        &cache,
        &out1b,
        &["--policy", &p, "--at", "2026-11-24T00:00:00Z"],
    );
    for f in ["findings.json", "verdict.json", "sarif.json"] {
        assert_eq!(
            std::fs::read(out1.join(f)).unwrap(),
            std::fs::read(out1b.join(f)).unwrap(),
            "{f} differs between two runs"
        );
    }

    // 2. After expiry: the waived finding fails too, and the stale exception warns.
    let out2 = w.join("run2");
    std::fs::create_dir_all(&out2).unwrap();
    let (code, _) = gate(
        &image,
        &db,
        &cache,
        &out2,
        &["--policy", &p, "--at", "2027-01-01T00:00:00Z"],
    );
    assert_eq!(code, 2);
    let verdict = json_file(&out2.join("verdict.json"));
    let fixable: BTreeSet<String> = verdict["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule"] == "fixable")
        .map(|r| r["finding"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fixable, tp);
    assert!(verdict["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["rule"] == "EX-1" && r["action"] == "warn"));

    // 3. VEX attached to the image: every finding not_affected, the gate passes.
    let statements: Vec<Value> = list
        .iter()
        .map(|f| {
            serde_json::json!({
                "vulnerability": {"name": f["id"]},
                "products": [{"@id": f["component"]["purl"]}],
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path"
            })
        })
        .collect();
    let vex = serde_json::json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://stella.example/vex/labeled-1",
        "author": "stella tests",
        "timestamp": "2026-11-20T00:00:00Z",
        "version": 1,
        "statements": statements
    });
    let vex_bytes = serde_json::to_vec_pretty(&vex).unwrap();
    let vex_file = w.join("labeled.openvex.json");
    std::fs::write(&vex_file, &vex_bytes).unwrap();
    // A copy without the plain referrer, for the signed VEX of step 5.
    let signed_layout = w.join("image-signed");
    run(
        Command::new("cp")
            .arg("-a")
            .arg(&layout)
            .arg(&signed_layout),
        "cp -a",
    );
    let attached = stella(&["vex", "attach", vex_file.to_str().unwrap(), "--to", &image]);
    assert!(
        attached.status.success(),
        "{}",
        String::from_utf8_lossy(&attached.stderr)
    );
    let out3 = w.join("run3");
    std::fs::create_dir_all(&out3).unwrap();
    let (code, err) = gate(
        &image,
        &db,
        &cache,
        &out3,
        &["--policy", &p, "--at", "2026-11-24T00:00:00Z"],
    );
    assert_eq!(code, 0, "VEX'd findings do not fail the gate: {err}");
    let findings = json_file(&out3.join("findings.json"));
    for f in findings["findings"].as_array().unwrap() {
        assert_eq!(f["vex"]["state"], "not_affected", "{f}");
        assert_eq!(f["vex"]["document"], sha256_hex(&vex_bytes).as_str());
    }
    let verdict = &findings["verdict"];
    assert_eq!(verdict["outcome"], "pass");
    assert_eq!(verdict["vex"].as_array().unwrap().len(), 1);
    let sarif = json_file(&out3.join("sarif.json"));
    assert!(sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["suppressions"].as_array().is_some_and(|s| !s.is_empty())));
    // Without the referrers the findings are active again.
    let out4 = w.join("run4");
    std::fs::create_dir_all(&out4).unwrap();
    let (code, _) = gate(
        &image,
        &db,
        &cache,
        &out4,
        &[
            "--policy",
            &p,
            "--at",
            "2026-11-24T00:00:00Z",
            "--no-vex-referrers",
        ],
    );
    assert_eq!(code, 2);
    // The same document given as a file instead of a referrer.
    let out4b = w.join("run4b");
    std::fs::create_dir_all(&out4b).unwrap();
    let vex_arg = vex_file.display().to_string();
    let (code, err) = gate(
        &image,
        &db,
        &cache,
        &out4b,
        &[
            "--policy",
            &p,
            "--at",
            "2026-11-24T00:00:00Z",
            "--no-vex-referrers",
            "--vex",
            &vex_arg,
        ],
    );
    assert_eq!(code, 0, "--vex FILE suppresses as the referrer did: {err}");
    assert_eq!(
        json_file(&out4b.join("verdict.json"))["vex"][0]["digest"],
        sha256_hex(&vex_bytes).as_str()
    );

    // 5. The same statements signed (`stella attest --type openvex`) on the
    // copy without the plain referrer: applied only when --vex-key verifies
    // them; another key leaves the findings active.
    let signed_image = format!("oci-dir:{}:img", signed_layout.display());
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("../attest/tests/fixtures/signing");
    let key = |name: &str| keys.join(name).display().to_string();
    let attested = stella(&[
        "attest",
        &signed_image,
        "--type",
        "openvex",
        "--predicate",
        &vex_arg,
        "--key",
        &key("p256.pkcs8.pem"),
    ]);
    assert!(
        attested.status.success(),
        "{}",
        String::from_utf8_lossy(&attested.stderr)
    );
    let policy_args = ["--policy", p.as_str(), "--at", "2026-11-24T00:00:00Z"];
    for (name, keys, expected) in [
        ("run5-nokey", vec![], 2),
        ("run5-otherkey", vec![key("ed25519.pub.pem")], 2),
        ("run5-key", vec![key("p256.pub.pem")], 0),
    ] {
        let out = w.join(name);
        std::fs::create_dir_all(&out).unwrap();
        let mut extra: Vec<&str> = policy_args.to_vec();
        for k in &keys {
            extra.extend(["--vex-key", k.as_str()]);
        }
        let (code, err) = gate(&signed_image, &db, &cache, &out, &extra);
        assert_eq!(code, expected, "{name}: {err}");
        let findings = json_file(&out.join("findings.json"));
        let list = findings["findings"].as_array().unwrap();
        assert!(!list.is_empty(), "{name}");
        let verdict_vex = findings["verdict"]["vex"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if expected == 0 {
            assert!(
                list.iter().all(|f| f["vex"]["state"] == "not_affected"),
                "{name}"
            );
            assert_eq!(verdict_vex.len(), 1, "{name}");
            let source = verdict_vex[0]["name"].as_str().unwrap_or_default();
            assert!(source.contains("image-signed@sha256:"), "{name}: {source}");
        } else {
            assert!(list.iter().all(|f| f["vex"].is_null()), "{name}");
            assert!(verdict_vex.is_empty(), "{name}");
        }
    }

    // Argument errors before any scanning: exit 1, naming what is missing.
    for (args, says) in [
        (
            vec!["scan", image.as_str(), "--policy", p.as_str()],
            "--feeds",
        ),
        (vec!["scan", image.as_str(), "-o", "sarif"], "--feeds"),
        (
            vec![
                "scan",
                image.as_str(),
                "--feeds",
                db.as_str(),
                "-o",
                "verdict-json",
            ],
            "--policy",
        ),
        (
            vec![
                "scan",
                image.as_str(),
                "--feeds",
                db.as_str(),
                "--at",
                "yesterday",
            ],
            "RFC 3339",
        ),
    ] {
        let out = stella(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }

    // On a terminal the table on stdout is coloured, a table into a file
    // never is (util-linux `script` gives stella a pseudo-terminal).
    let table_file = w.join("table.txt");
    let cmd = format!(
        "{} scan {image} -q --feeds {db} --feeds-cache {} --no-vex-referrers -o table -o table={}",
        env!("CARGO_BIN_EXE_stella"),
        cache.display(),
        table_file.display()
    );
    let tty = run(
        Command::new("script").args(["-qec", &cmd, "/dev/null"]),
        "script (a terminal for stella)",
    );
    assert!(tty.stdout.contains(&0x1b), "no colour on a terminal");
    let in_file = std::fs::read(&table_file).unwrap();
    assert!(
        !in_file.is_empty() && !in_file.contains(&0x1b),
        "escape codes in the table file"
    );

    // 4. --attach pushes the verdict next to the SBOMs.
    let out5 = w.join("run5");
    std::fs::create_dir_all(&out5).unwrap();
    let (code, err) = gate(
        &image,
        &db,
        &cache,
        &out5,
        &["--policy", &p, "--at", "2026-11-24T00:00:00Z", "--attach"],
    );
    assert_eq!(code, 0, "{err}");
    let referrers = stella(&["referrers", &image, "-o", "json"]);
    let referrers: Value = serde_json::from_slice(&referrers.stdout).unwrap();
    let types: BTreeSet<&str> = referrers["referrers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["artifactType"].as_str())
        .collect();
    for t in [
        "application/vnd.stellaops.verdict.v1+json",
        "application/vnd.openvex+json",
        "application/vnd.cyclonedx+json",
        "application/spdx+json",
    ] {
        assert!(types.contains(t), "{t} not among {types:?}");
    }
}

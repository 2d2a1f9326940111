//! The matcher against real advisories (tests/fixtures/matcher, read by
//! the feeds connectors and merged by alias as the DB does): the labeled
//! true positives, and each known false-positive trap with a test that
//! fails without the rule that avoids it.

mod matcher_support;

use std::collections::BTreeSet;

use matcher_support::*;
use stella_model::{AffectedStatus, ComponentKind, Finding, Rating};
use stella_policy::matcher::{match_inventory, MatchOptions, MatchReport};

fn run(inv: &stella_model::Inventory, source: &MemSource) -> MatchReport {
    match_inventory(inv, source, &MatchOptions::default())
        .unwrap_or_else(|e| panic!("match failed: {e}"))
}

fn ids(report: &MatchReport) -> BTreeSet<String> {
    report.findings.iter().map(|f| f.id.clone()).collect()
}

fn ids_for<'a>(report: &'a MatchReport, name: &str, version: &str) -> Vec<&'a str> {
    report
        .findings
        .iter()
        .filter(|f| f.component.name == name && f.component.version == version)
        .map(|f| f.id.as_str())
        .collect()
}

fn finding<'a>(report: &'a MatchReport, id: &str) -> &'a Finding {
    report
        .findings
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no finding {id} in {:?}", ids(report)))
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn site(name: &str, version: &str) -> String {
    format!("usr/local/lib/python3.11/site-packages/{name}-{version}.dist-info/METADATA")
}

fn pypi(name: &str, version: &str) -> stella_model::Component {
    component(ComponentKind::Pypi, name, version, &site(name, version))
}

/// The labeled PyPI set. Expected (the PyPA records, cross-checked
/// by the `packaging` oracle in matcher_oracle.rs; canonical ids are the
/// CVE aliases the merge picks):
/// - requests 2.25.0: CVE-2023-32681 (Proxy-Authorization leak, fixed 2.31.0)
/// - urllib3 1.26.4: CVE-2021-33503 (ReDoS, fixed 1.26.5), CVE-2023-43804
///   (Cookie on redirect, 1.26.17), CVE-2023-45803 (body on 303, 1.26.18)
/// - Jinja2 2.11.2: CVE-2020-28493 (urlize ReDoS, fixed 2.11.3)
/// - PyYAML 5.3.1: CVE-2020-14343 (full_load RCE, fixed 5.4)
#[test]
fn pypi_labeled_set_true_positives() {
    let source = MemSource::fixtures();
    let inv = inventory(
        None,
        vec![
            pypi("requests", "2.25.0"),
            pypi("urllib3", "1.26.4"),
            pypi("Jinja2", "2.11.2"),
            pypi("PyYAML", "5.3.1"),
        ],
    );
    let report = run(&inv, &source);
    assert_eq!(ids_for(&report, "requests", "2.25.0"), ["CVE-2023-32681"]);
    assert_eq!(
        ids_for(&report, "urllib3", "1.26.4"),
        ["CVE-2021-33503", "CVE-2023-43804", "CVE-2023-45803"]
    );
    assert_eq!(ids_for(&report, "Jinja2", "2.11.2"), ["CVE-2020-28493"]);
    assert_eq!(ids_for(&report, "PyYAML", "5.3.1"), ["CVE-2020-14343"]);
    assert_eq!(report.findings.len(), 6);

    let fixes: Vec<(&str, Option<&str>)> = report
        .findings
        .iter()
        .map(|f| (f.id.as_str(), f.fixed_version.as_deref()))
        .collect();
    assert_eq!(
        fixes,
        [
            ("CVE-2020-14343", Some("5.4")),
            ("CVE-2020-28493", Some("2.11.3")),
            ("CVE-2021-33503", Some("1.26.5")),
            ("CVE-2023-32681", Some("2.31.0")),
            ("CVE-2023-43804", Some("1.26.17")),
            ("CVE-2023-45803", Some("1.26.18")),
        ]
    );
    let f = finding(&report, "CVE-2020-14343");
    assert_eq!(f.matched_by.ecosystem, "PyPI");
    assert_eq!(f.matched_by.package, "pyyaml", "as the record names it");
    assert_eq!(f.matched_by.key, "package");
    assert_eq!(f.matched_by.scheme, "pypi");
    assert_eq!(f.matched_by.rule, "<5.4");
    assert_eq!(f.matched_by.sources, ["osv:pypa"]);
    assert_eq!(f.status, AffectedStatus::Affected);
    assert!(
        f.aliases.contains(&"PYSEC-2021-142".to_string()),
        "{:?}",
        f.aliases
    );
    assert_eq!(f.component.evidence, [site("PyYAML", "5.3.1")]);
    assert_eq!(f.component.layer, Some(1));
    assert!(f.component.layer_diff_id.is_some());
    assert_eq!(f.installed_version, "5.3.1");
    // The PEP 503 name is what the source is asked for.
    let asked: BTreeSet<(String, String)> = source
        .lookups
        .lock()
        .expect("lookups lock")
        .iter()
        .cloned()
        .collect();
    assert!(
        asked.contains(&("PyPI".into(), "pyyaml".into())),
        "{asked:?}"
    );
    assert!(
        asked.contains(&("PyPI".into(), "jinja2".into())),
        "{asked:?}"
    );
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

/// Trap: a Python distribution the OS package manager installed (Debian's
/// dist-packages) is the OS package's business; PyPI's advisories about
/// the upstream release do not apply to the patched distro build.
#[test]
fn os_managed_python_is_not_matched_against_pypi() {
    let source = MemSource::fixtures();
    let mut owned = component(
        ComponentKind::Pypi,
        "PyYAML",
        "5.3.1",
        "usr/lib/python3/dist-packages/PyYAML-5.3.1.egg-info",
    );
    owned
        .properties
        .insert("stella:python:os-managed".into(), "true".into());
    let report = run(&inventory(None, vec![owned]), &source);
    assert!(report.findings.is_empty(), "{:?}", ids(&report));
    assert_eq!(report.stats.components_skipped, 1);
    assert_eq!(report.warnings.len(), 1);
    assert!(
        report.warnings[0].contains("stella:python:os-managed"),
        "{:?}",
        report.warnings
    );
    // The same distribution installed by pip is matched.
    let report = run(&inventory(None, vec![pypi("PyYAML", "5.3.1")]), &source);
    assert_eq!(ids(&report), set(&["CVE-2020-14343"]));
}

/// Trap: Debian tracks source packages. Binary libjs-prototype is built
/// from source prototypejs: it is found by its source; and a source package
/// named like a binary of another source (`udev`, whose binary today comes
/// from systemd) must not hit that binary.
#[test]
fn debian_binary_and_source_names() {
    let source = MemSource::fixtures();
    let inv = inventory(
        Some(distro("debian", "10")),
        vec![deb("libjs-prototype", "1.6.0-1", "prototypejs", "1.6.0-1")],
    );
    let report = run(&inv, &source);
    // CVE-2008-7220: buster fixed in 1.6.0.2-1; CVE-2007-2383: resolved
    // with fixed version 0 (not affected).
    assert_eq!(ids(&report), set(&["CVE-2008-7220"]));
    let f = finding(&report, "CVE-2008-7220");
    assert_eq!(f.matched_by.key, "source-package");
    assert_eq!(f.matched_by.package, "prototypejs");
    assert_eq!(f.matched_by.ecosystem, "Debian:10");
    assert_eq!(f.matched_by.scheme, "deb");
    assert_eq!(f.matched_by.rule, "<1.6.0.2-1");
    assert_eq!(f.fixed_version.as_deref(), Some("1.6.0.2-1"));
    assert_eq!(f.component.source_name.as_deref(), Some("prototypejs"));
    let sev = f.severity.as_ref().expect("the tracker's urgency rates it");
    assert_eq!((sev.vector.as_str(), sev.rating), ("high**", Rating::High));
    assert_eq!(sev.source, "debian-tracker");

    let inv = inventory(
        Some(distro("debian", "12")),
        vec![deb(
            "udev",
            "252.30-1~deb12u2",
            "systemd",
            "252.30-1~deb12u2",
        )],
    );
    let report = run(&inv, &source);
    assert!(report.findings.is_empty(), "{:?}", ids(&report));
    // The key is asked (AlmaLinux-style data names binaries), the tracker's
    // entry for source `udev` is refused.
    assert!(source
        .lookups
        .lock()
        .expect("lookups lock")
        .contains(&("Debian:12".to_string(), "udev".to_string())));
}

/// Trap: epochs. `1:4.13+dfsg1-1` is above `4.14-1` (dpkg says so too:
/// matcher_oracle.rs); a fix carrying the epoch is compared as such.
#[test]
fn debian_epochs_are_honoured() {
    let source = MemSource::fixtures();
    let inv = inventory(
        Some(distro("debian", "12")),
        vec![deb("passwd", "1:4.13+dfsg1-1", "shadow", "1:4.13+dfsg1-1")],
    );
    let report = run(&inv, &source);
    assert_eq!(ids(&report), set(&["TEMP-0000000-E90C42"]));
    let f = finding(&report, "TEMP-0000000-E90C42");
    assert_eq!(f.fixed_version.as_deref(), Some("1:4.13+dfsg1-1+deb12u1"));
    assert_eq!(f.installed_version, "1:4.13+dfsg1-1");
}

/// Trap: an rpm's SOURCERPM carries no epoch. openssl-libs
/// 1:3.0.7-27.el9 is far past ALSA-2022:6224's fix 1:3.0.1-41.el9_0, but
/// its source `openssl-3.0.7-27.el9` read without the epoch sorts below
/// it. Found once when it is older — by its binary name, the key AlmaLinux
/// advisories use (the source name would find it too) — no finding at the fix.
#[test]
fn rpm_epochs_and_source_names() {
    let source = MemSource::fixtures();
    let current = rpm(
        "openssl-libs",
        "1:3.0.7-27.el9",
        "openssl-3.0.7-27.el9.src.rpm",
    );
    let at_fix = rpm(
        "openssl",
        "1:3.0.1-41.el9_0",
        "openssl-3.0.1-41.el9_0.src.rpm",
    );
    let old = rpm(
        "openssl-libs",
        "1:3.0.1-23.el9_0",
        "openssl-3.0.1-23.el9_0.src.rpm",
    );
    let inv = inventory(Some(distro("almalinux", "9.0")), vec![current, at_fix, old]);
    let report = run(&inv, &source);
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    let f = &report.findings[0];
    assert_eq!(f.id, "ALSA-2022:6224");
    assert_eq!(f.component.version, "1:3.0.1-23.el9_0");
    assert_eq!(f.matched_by.key, "package", "one finding for two names");
    assert_eq!(f.matched_by.package, "openssl-libs");
    assert_eq!(f.matched_by.ecosystem, "AlmaLinux:9");
    assert_eq!(f.matched_by.scheme, "rpm");
    assert_eq!(f.installed_version, "1:3.0.1-23.el9_0");
    assert_eq!(f.fixed_version.as_deref(), Some("1:3.0.1-41.el9_0"));
    assert_eq!(f.matched_by.sources, ["osv:almalinux"]);
}

/// Trap: withdrawn advisories (PyPA redis, RustSec ring, Go
/// gorilla/sessions — each states every version affected) never produce
/// findings.
#[test]
fn withdrawn_advisories_are_ignored() {
    let source = MemSource::fixtures();
    let inv = inventory(
        None,
        vec![
            pypi("redis", "4.5.0"),
            component(ComponentKind::Cargo, "ring", "0.17.8", "usr/bin/app"),
            component(
                ComponentKind::Golang,
                "github.com/gorilla/sessions",
                "v1.2.1",
                "usr/bin/app",
            ),
        ],
    );
    let report = run(&inv, &source);
    assert!(report.findings.is_empty(), "{:?}", ids(&report));
    assert_eq!(report.stats.withdrawn_ignored, 3);
    assert_eq!(report.stats.advisories_read, 3);
}

/// Trap: ranges without a fixed version. GHSA's ferris-says range closes
/// with `last_affected` 0.2.1 (no fix: 0.2.2 is not affected, 0.3.0 is,
/// fixed in 0.3.1); RustSec's tempdir is `introduced`-only (every
/// version); PyPA's py is `last_affected` 1.11.0.
#[test]
fn ranges_without_a_fixed_version() {
    let source = MemSource::fixtures();
    let crate_at = |v: &str| component(ComponentKind::Cargo, "ferris-says", v, "usr/bin/app");
    let inv = inventory(
        None,
        vec![
            crate_at("0.1.1"),
            crate_at("0.2.1"),
            crate_at("0.2.2"),
            crate_at("0.3.0"),
            component(ComponentKind::Cargo, "tempdir", "0.3.7", "usr/bin/app"),
            pypi("py", "1.11.0"),
        ],
    );
    let report = run(&inv, &source);
    let found: Vec<(&str, &str, Option<&str>, &str)> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.component.name.as_str(),
                f.component.version.as_str(),
                f.fixed_version.as_deref(),
                f.matched_by.rule.as_str(),
            )
        })
        .collect();
    // Sorted by id: CVE-2022-42969 (py), GHSA-v363-rrf2-5fmj, RUSTSEC-2018-0017.
    assert_eq!(
        found,
        [
            ("py", "1.11.0", None, "<=1.11.0"),
            ("ferris-says", "0.2.1", None, ">=0.1.2, <=0.2.1"),
            ("ferris-says", "0.3.0", Some("0.3.1"), ">=0.3.0, <0.3.1"),
            ("tempdir", "0.3.7", None, ">=0.0.0-0"),
        ]
    );
    let ferris = finding(&report, "GHSA-v363-rrf2-5fmj");
    assert_eq!(ferris.matched_by.sources, ["ghsa"]);
    let sev = ferris.severity.as_ref().expect("GHSA's word rates it");
    assert_eq!((sev.vector.as_str(), sev.rating), ("LOW", Rating::Low));
}

/// A version the scheme cannot read gives a warning naming it, never a
/// finding or a silent miss.
#[test]
fn unreadable_versions_warn() {
    let source = MemSource::fixtures();
    let inv = inventory(
        None,
        vec![
            pypi("requests", "2.25.0 (patched)"),
            component(
                ComponentKind::Golang,
                "stdlib",
                "devel go1.22-abc",
                "usr/bin/app",
            ),
            // No advisory for this key: nothing to decide, nothing to say.
            pypi("no-such-package", "garbage!"),
        ],
    );
    let report = run(&inv, &source);
    assert!(report.findings.is_empty(), "{:?}", ids(&report));
    assert_eq!(report.warnings.len(), 2, "{:#?}", report.warnings);
    assert!(
        report.warnings.iter().any(|w| w.starts_with(
            "pypi requests 2.25.0 (patched): PyPI/requests: installed version not readable"
        ) && w.contains("CVE-2023-32681")),
        "{:#?}",
        report.warnings
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.starts_with("golang stdlib devel go1.22-abc: Go/stdlib")),
        "{:#?}",
        report.warnings
    );
}

/// Trap: another release's advisories. chromium is end-of-life (every
/// version affected) in Debian 10 and fixed in 98.0.4758.80-1 in Debian 12.
#[test]
fn only_the_images_own_release_applies() {
    let source = MemSource::fixtures();
    let chromium = || {
        deb(
            "chromium",
            "120.0.6099.224-1~deb12u1",
            "chromium",
            "120.0.6099.224-1~deb12u1",
        )
    };
    let report = run(
        &inventory(Some(distro("debian", "12")), vec![chromium()]),
        &source,
    );
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    let report = run(
        &inventory(Some(distro("debian", "10")), vec![chromium()]),
        &source,
    );
    assert_eq!(ids(&report), set(&["CVE-2022-0456"]));
    let f = &report.findings[0];
    assert_eq!(f.status, AffectedStatus::EndOfLife);
    assert_eq!(f.matched_by.rule, "all versions");
    assert_eq!(f.fixed_version, None);
    // A release the feeds do not hold, and no release at all.
    for distro in [Some(distro("debian", "7")), None] {
        let report = run(&inventory(distro, vec![chromium()]), &source);
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        assert_eq!(report.stats.components_skipped, 1);
        assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
        assert!(report.warnings[0].starts_with("1 component(s) not matched: deb packages: "));
    }
    // Packages of another family than the image's release.
    let alien = apk("musl", "1.1.22-r3", "musl");
    let report = run(
        &inventory(Some(distro("debian", "12")), vec![alien]),
        &source,
    );
    assert!(report.findings.is_empty());
    assert!(report.warnings[0].contains("apk packages in an image whose release is Debian:12"));
}

/// Alpine secdb only lists fixes: below the fix is a finding, at or after
/// it none. libssl1.1 is built from origin openssl.
#[test]
fn alpine_secdb_fixes() {
    let source = MemSource::fixtures();
    let inv = inventory(
        Some(distro("alpine", "3.10.2")),
        vec![
            apk("libssl1.1", "1.1.1c-r0", "openssl"),
            apk("libcrypto1.1", "1.1.1d-r0", "openssl"),
        ],
    );
    let report = run(&inv, &source);
    assert_eq!(
        ids(&report),
        set(&["CVE-2019-1547", "CVE-2019-1549", "CVE-2019-1563"])
    );
    for f in &report.findings {
        assert_eq!(f.component.name, "libssl1.1");
        assert_eq!(f.fixed_version.as_deref(), Some("1.1.1d-r0"));
        assert_eq!(f.matched_by.ecosystem, "Alpine:v3.10");
        assert_eq!(f.matched_by.key, "source-package");
        assert_eq!(f.matched_by.scheme, "apk");
    }
}

/// Go: the toolchain's stdlib by its version (go1.21.5, and a release
/// candidate), modules by path. Expected from the vulndb records:
/// go1.21.5 is below the 1.21 fixes of GO-2024-2598 (1.21.8), -2687
/// (1.21.9), -2887 (1.21.11), and in the first range of GO-2024-3105
/// ([0, 1.22.7)) and GO-2025-3373 ([0, 1.22.11)): those records have no
/// 1.21 branch fix; it is at or past the fixes of GO-2023-1987, -2041,
/// -2185 (both entries) and -2382 (fixed in 1.21.5 exactly).
/// go1.24rc1 is 1.24.0-rc.1: only GO-2025-3373 ([1.24.0-0, 1.24.0-rc.2)).
#[test]
fn go_stdlib_and_modules() {
    let source = MemSource::fixtures();
    let stdlib = |v: &str| {
        let mut c = component(ComponentKind::Golang, "stdlib", v, "usr/bin/app");
        c.purl = None;
        c
    };
    let inv = inventory(
        None,
        vec![
            stdlib("1.21.5"),
            stdlib("go1.24rc1"),
            component(
                ComponentKind::Golang,
                "github.com/containerd/containerd",
                "v1.7.2",
                "usr/bin/app",
            ),
            component(
                ComponentKind::Golang,
                "github.com/containerd/containerd",
                "(devel)",
                "usr/bin/other",
            ),
        ],
    );
    let report = run(&inv, &source);
    assert_eq!(
        ids_for(&report, "stdlib", "1.21.5"),
        [
            "CVE-2023-45288",
            "CVE-2024-24783",
            "CVE-2024-24790",
            "CVE-2024-34155",
            "CVE-2024-45341"
        ]
    );
    let rc = ids_for(&report, "stdlib", "go1.24rc1");
    assert_eq!(rc, ["CVE-2024-45341"]);
    let f = report
        .findings
        .iter()
        .find(|f| f.component.version == "go1.24rc1")
        .unwrap_or_else(|| panic!("{:?}", report.findings));
    assert_eq!(f.matched_by.key, "go-stdlib");
    assert_eq!(f.installed_version, "1.24.0-rc.1");
    assert_eq!(f.fixed_version.as_deref(), Some("1.24.0-rc.2"));
    assert_eq!(f.matched_by.scheme, "semver");
    // GHSA-7ww5-4wqc-m92c: [1.7.0, 1.7.11) (and GHSA's own bound `<= 1.7.10`).
    let containerd = ids_for(&report, "github.com/containerd/containerd", "v1.7.2");
    assert_eq!(containerd, ["GHSA-7ww5-4wqc-m92c"]);
    let f = finding(&report, "GHSA-7ww5-4wqc-m92c");
    assert_eq!(f.fixed_version.as_deref(), Some("1.7.11"));
    assert_eq!(f.matched_by.key, "package");
    // `(devel)` is no version: the advisory is not evaluated, and said so.
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(
        report.warnings.iter().any(|w| w.contains("(devel)")),
        "{:?}",
        report.warnings
    );
}

/// Maven by `groupId:artifactId` from the purl; never by a guessed group.
#[test]
fn maven_by_group_and_artifact() {
    let source = MemSource::fixtures();
    let jackson = with_purl(
        component(
            ComponentKind::Maven,
            "jackson-databind",
            "2.13.1",
            "app/lib/jackson-databind-2.13.1.jar",
        ),
        "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.13.1",
    );
    let guessed = component(
        ComponentKind::Maven,
        "jackson-databind",
        "2.12.0",
        "app/lib/jackson.jar",
    );
    let report = run(&inventory(None, vec![jackson, guessed]), &source);
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    let f = &report.findings[0];
    assert_eq!(
        f.matched_by.package,
        "com.fasterxml.jackson.core:jackson-databind"
    );
    assert_eq!(f.fixed_version.as_deref(), Some("2.13.2.1"));
    assert_eq!(
        f.component.purl.as_deref(),
        Some("pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.13.1")
    );
    assert_eq!(report.stats.components_skipped, 1);
    assert!(
        report.warnings[0].contains("groupId"),
        "{:?}",
        report.warnings
    );
}

/// Distro statuses: postponed → fix-deferred, undetermined →
/// under-investigation (optional); the tracker's urgency rates them.
#[test]
fn distro_statuses_carry_through() {
    let source = MemSource::fixtures();
    let inv = inventory(
        Some(distro("debian", "12")),
        vec![deb(
            "libssl3",
            "3.0.15-1~deb12u1",
            "openssl",
            "3.0.15-1~deb12u1",
        )],
    );
    let report = run(&inv, &source);
    let statuses: Vec<(&str, AffectedStatus)> = report
        .findings
        .iter()
        .map(|f| (f.id.as_str(), f.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("TEMP-0000000-55A001", AffectedStatus::FixDeferred),
            ("TEMP-0000000-55A002", AffectedStatus::UnderInvestigation),
        ]
    );
    let deferred = &report.findings[0];
    assert_eq!(deferred.matched_by.package, "openssl");
    assert_eq!(deferred.component.name, "libssl3");
    let sev = deferred.severity.as_ref().expect("urgency");
    assert_eq!((sev.vector.as_str(), sev.rating), ("low**", Rating::Low));
    let report = match_inventory(
        &inv,
        &source,
        &MatchOptions {
            include_under_investigation: false,
            ..MatchOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ids(&report), set(&["TEMP-0000000-55A001"]));
}

/// npm by name; output sorted and byte-identical across runs whatever the
/// component order.
#[test]
fn deterministic_sorted_output() {
    let source = MemSource::fixtures();
    let mut components = vec![
        component(
            ComponentKind::Npm,
            "xlsx",
            "0.18.5",
            "app/node_modules/xlsx/package.json",
        ),
        pypi("urllib3", "1.26.4"),
        pypi("Jinja2", "2.11.2"),
        deb("libjs-prototype", "1.6.0-1", "prototypejs", "1.6.0-1"),
    ];
    let first = run(
        &inventory(Some(distro("debian", "10")), components.clone()),
        &source,
    );
    components.reverse();
    let second = run(
        &inventory(Some(distro("debian", "10")), components),
        &source,
    );
    let json = |r: &MatchReport| serde_json::to_string(&r.findings).unwrap_or_default();
    assert_eq!(json(&first), json(&second));
    assert!(first
        .findings
        .windows(2)
        .all(|w| w[0].sort_key() < w[1].sort_key()));
    assert!(
        ids(&first).contains("CVE-2023-30533"),
        "xlsx: {:?}",
        ids(&first)
    );
    // The same report, warnings and counts at any thread count (lookups
    // and evaluation run in parallel). Many components, so every thread
    // gets work and the order of completion varies.
    let many: Vec<_> = (0..200)
        .flat_map(|i| {
            [
                pypi("urllib3", &format!("1.26.{}", i % 20)),
                pypi("Jinja2", &format!("2.{}.0", i % 12)),
                deb("libjs-prototype", "1.6.0-1", "prototypejs", "1.6.0-1"),
            ]
        })
        .collect();
    let inv = inventory(Some(distro("debian", "10")), many);
    let with = |threads| {
        let report = match_inventory(
            &inv,
            &source,
            &MatchOptions {
                threads,
                ..MatchOptions::default()
            },
        )
        .expect("match");
        (json(&report), report.warnings, report.stats)
    };
    let one = with(1);
    assert!(one.2.findings > 50, "{:?}", one.2);
    for threads in [2, 3, 8, 0] {
        assert_eq!(with(threads), one, "{threads} threads");
    }
}

/// Lookups are per distinct key: 10 000 components over a handful of
/// names ask the source once per name.
#[test]
fn lookups_are_per_distinct_key() {
    let source = MemSource::fixtures();
    let names = [
        "requests", "urllib3", "Jinja2", "PyYAML", "jinja2", "pyyaml",
    ];
    let components: Vec<_> = (0..10_000)
        .map(|i| {
            let name = names[i % names.len()];
            let mut c = pypi(name, &format!("1.{}.0", i % 50));
            c.evidence = vec![format!("srv/app{i}/{name}/METADATA")];
            c
        })
        .collect();
    let report = run(&inventory(None, components), &source);
    assert_eq!(report.stats.components, 10_000);
    assert_eq!(
        report.stats.keys_looked_up, 4,
        "jinja2 and pyyaml are asked once each"
    );
    assert_eq!(source.lookups.lock().expect("lookups lock").len(), 4);
    assert!(!report.findings.is_empty());
}

/// A Go binary a Debian package installed is folded into the package by
/// the scan; its toolchain is matched against the Go database only when
/// asked (the distro's advisories are the ones that apply by default).
#[test]
fn folded_go_stdlib_is_matched_only_when_asked() {
    let source = MemSource::fixtures();
    let mut docker = deb(
        "docker.io",
        "20.10.24+dfsg1-1+b3",
        "docker.io",
        "20.10.24+dfsg1-1",
    );
    docker.properties.insert(
        "stella:language:purls".into(),
        "pkg:golang/github.com/containerd/containerd@v1.7.2 pkg:golang/stdlib@1.21.5".into(),
    );
    let inv = inventory(Some(distro("debian", "12")), vec![docker]);
    let report = run(&inv, &source);
    assert!(report.findings.is_empty(), "{:?}", ids(&report));
    let options = MatchOptions {
        folded_go_stdlib: true,
        ..MatchOptions::default()
    };
    let report = match_inventory(&inv, &source, &options).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        ids(&report),
        set(&[
            "CVE-2023-45288",
            "CVE-2024-24783",
            "CVE-2024-24790",
            "CVE-2024-34155",
            "CVE-2024-45341"
        ]),
        "the same as go1.21.5's stdlib on its own (go_stdlib_and_modules); modules stay folded"
    );
    let f = &report.findings[0];
    assert_eq!(f.component.name, "docker.io");
    assert_eq!(
        (f.matched_by.key.as_str(), f.matched_by.package.as_str()),
        ("go-stdlib", "stdlib")
    );
    assert_eq!(f.installed_version, "1.21.5");
}

/// OSV: a version is affected when a range holds it **or** the entry lists
/// it. A listed version outside every range still matches (compared by
/// the ecosystem's ordering: PEP 440 says `2.0.0` is `2.0`, the first
/// equal listed text is reported), one inside a range matches by the
/// range (with its fix), and one in neither does not.
#[test]
fn listed_versions_outside_the_ranges_still_match() {
    let advisory: stella_model::Advisory = serde_json::from_value(serde_json::json!({
        "id": "PYSEC-0000-1",
        "affected": [{
            "ecosystem": "PyPI",
            "name": "demo",
            "status": "affected",
            "ranges": [{"scheme": "pypi", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}],
            "versions": ["0.5", "1.5", "2.0", "2.0.0"]
        }]
    }))
    .expect("advisory");
    let source = MemSource::new(vec![advisory]);
    let matched = |version: &str| {
        let report = run(&inventory(None, vec![pypi("demo", version)]), &source);
        report
            .findings
            .first()
            .map(|f| (f.matched_by.rule.clone(), f.fixed_version.clone()))
    };
    assert_eq!(matched("0.5"), Some(("<1.0".into(), Some("1.0".into()))));
    assert_eq!(matched("1.5"), Some(("= 1.5 (listed)".into(), None)));
    assert_eq!(matched("2.0.0"), Some(("= 2.0 (listed)".into(), None)));
    assert_eq!(matched("2.0"), Some(("= 2.0 (listed)".into(), None)));
    assert_eq!(matched("1.2"), None);
    assert_eq!(matched("3"), None);
}

//! The OS-owned Python trap end to end: a root filesystem scanned by the
//! real analyzers (stella_analyzers::scan_dir), then matched.
//!
//! A Debian 11 tree holds PyYAML 5.3.1 twice: once as Debian's
//! python3-yaml (source pyyaml) in `usr/lib/python3/dist-packages`, once
//! pip-installed as requests 2.25.0 in `usr/local`. PyPA's records say
//! PyYAML 5.3.1 is affected by CVE-2020-14343 — upstream's release, not
//! Debian's patched build, whose advisories are the tracker's.

mod matcher_support;

use std::path::Path;

use matcher_support::*;
use stella_analyzers::{scan_dir, ScanOptions};
use stella_model::ComponentKind;
use stella_policy::matcher::{match_inventory, MatchOptions};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    }
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

const EGG_INFO: &str = "usr/lib/python3/dist-packages/PyYAML-5.3.1.egg-info";

fn debian_tree(root: &Path, with_file_list: bool) {
    write(
        root,
        "etc/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 11 (bullseye)\"\nNAME=\"Debian GNU/Linux\"\n\
         VERSION_ID=\"11\"\nVERSION=\"11 (bullseye)\"\nVERSION_CODENAME=bullseye\nID=debian\n",
    );
    write(
        root,
        "var/lib/dpkg/status",
        "Package: python3-yaml\nStatus: install ok installed\nPriority: optional\n\
         Section: python\nInstalled-Size: 663\nMaintainer: Debian Python Team <team+python@tracker.debian.org>\n\
         Architecture: amd64\nSource: pyyaml\nVersion: 5.3.1-5\nDepends: python3 (<< 3.10), python3 (>= 3.9~)\n\
         Description: YAML parser and emitter for Python3\n",
    );
    write(
        root,
        &format!("{EGG_INFO}/PKG-INFO"),
        "Metadata-Version: 1.1\nName: PyYAML\nVersion: 5.3.1\nSummary: YAML parser and emitter for Python\n\
         License: MIT\n",
    );
    if with_file_list {
        write(
            root,
            "var/lib/dpkg/info/python3-yaml.list",
            &format!("/.\n/usr\n/usr/lib\n/usr/lib/python3\n/usr/lib/python3/dist-packages\n/{EGG_INFO}\n/{EGG_INFO}/PKG-INFO\n"),
        );
    }
    write(
        root,
        "usr/local/lib/python3.9/dist-packages/requests-2.25.0.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: requests\nVersion: 2.25.0\nSummary: Python HTTP for Humans.\n\
         License: Apache 2.0\n",
    );
}

fn scan_and_match(
    with_file_list: bool,
) -> (stella_model::Inventory, stella_policy::matcher::MatchReport) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    debian_tree(dir.path(), with_file_list);
    let inventory = scan_dir(dir.path(), "dir:test", &ScanOptions::default())
        .unwrap_or_else(|e| panic!("scan: {e}"));
    let report = match_inventory(&inventory, &MemSource::fixtures(), &MatchOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    (inventory, report)
}

#[test]
fn a_python_package_dpkg_lists_is_folded_and_not_matched_against_pypi() {
    let (inventory, report) = scan_and_match(true);
    let pypi: Vec<&str> = inventory
        .components
        .iter()
        .filter(|c| c.kind == ComponentKind::Pypi)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(pypi, ["requests"], "PyYAML is folded into python3-yaml");
    let deb = inventory
        .components
        .iter()
        .find(|c| c.name == "python3-yaml")
        .unwrap_or_else(|| panic!("{:?}", inventory.components));
    assert_eq!(
        deb.properties
            .get("stella:language:purls")
            .map(String::as_str),
        Some("pkg:pypi/pyyaml@5.3.1")
    );
    let ids: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.id.as_str(), f.component.name.as_str()))
        .collect();
    assert_eq!(ids, [("CVE-2023-32681", "requests")]);
    // The deb was looked up in its release by its source name.
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn a_python_package_in_dist_packages_without_a_file_list_is_not_matched_against_pypi() {
    let (inventory, report) = scan_and_match(false);
    let pyyaml = inventory
        .components
        .iter()
        .find(|c| c.kind == ComponentKind::Pypi && c.name == "PyYAML")
        .unwrap_or_else(|| panic!("the scan reports PyYAML: {:?}", inventory.components));
    assert_eq!(
        pyyaml
            .properties
            .get("stella:python:os-managed")
            .map(String::as_str),
        Some("true")
    );
    let ids: Vec<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(
        ids,
        ["CVE-2023-32681"],
        "no CVE-2020-14343 for Debian's PyYAML"
    );
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(report.warnings[0].contains("stella:python:os-managed"));
}

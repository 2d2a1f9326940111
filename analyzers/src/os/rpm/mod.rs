//! The rpm package database analyzer.
//!
//! rpm has kept its package headers in three containers over the years, all
//! holding the same header blob per package ([`header`]): a Berkeley DB hash
//! file `Packages` ([`bdb`], rpm ≤ 4.15), rpm's own `Packages.db` ([`ndb`],
//! SUSE) and `rpmdb.sqlite` ([`sqlite`], rpm ≥ 4.16). Each may sit in
//! `var/lib/rpm` or, on newer Fedora/SUSE, `usr/lib/sysimage/rpm`. When an
//! image holds more than one (typically a stale `Packages` left behind by a
//! backend conversion), the newest format wins and the others are noted.
//!
//! Every container is parsed without trusting a single offset: a malformed
//! database is an [`AnalyzerError`] naming the file, never a panic.

pub mod bdb;
pub mod header;
pub mod ndb;
pub mod sqlite;

use stella_model::{Component, ComponentKind, Distro, Purl, SourcePackage};

use crate::analyzer::{AnalyzeContext, AnalyzerError, Findings, PackageAnalyzer};
use crate::fs::FsView;

pub use header::{parse_header_blob, HeaderError, RpmHeader};

/// The database directories, newest layout first.
const DB_DIRS: [&str; 2] = ["usr/lib/sysimage/rpm", "var/lib/rpm"];

/// The rpm database backends, in order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Ndb,
    Bdb,
}

impl Backend {
    const ALL: [Backend; 3] = [Backend::Sqlite, Backend::Ndb, Backend::Bdb];

    /// The database file name inside a database directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Backend::Sqlite => "rpmdb.sqlite",
            Backend::Ndb => "Packages.db",
            Backend::Bdb => "Packages",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Ndb => "ndb",
            Backend::Bdb => "bdb",
        }
    }
}

/// Any failure reading one database file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpmDbError {
    #[error(transparent)]
    Sqlite(#[from] sqlite::SqliteError),
    #[error(transparent)]
    Bdb(#[from] bdb::BdbError),
    #[error(transparent)]
    Ndb(#[from] ndb::NdbError),
    #[error("package record {record}: {source}")]
    Header { record: u32, source: HeaderError },
}

/// Reads every package header of a database of the given backend, in the
/// database's own order (for fuzzing and tools; the analyzer uses it too).
/// `wal` is only used by the sqlite backend.
pub fn read_database(
    backend: Backend,
    bytes: &[u8],
    wal: Option<&[u8]>,
) -> Result<Vec<RpmHeader>, RpmDbError> {
    let mut out = Vec::new();
    let mut push = |record: u32, blob: &[u8]| -> Result<(), RpmDbError> {
        out.push(parse_header_blob(blob).map_err(|source| RpmDbError::Header { record, source })?);
        Ok(())
    };
    match backend {
        Backend::Sqlite => sqlite::for_each_record(bytes, wal, &mut push)?,
        Backend::Ndb => ndb::for_each_record(bytes, &mut push)?,
        Backend::Bdb => bdb::for_each_record(bytes, &mut push)?,
    }
    Ok(out)
}

/// Splits a SOURCERPM file name (`bash-5.1.8-6.el9.src.rpm`) into the source
/// package name and its `version-release`.
pub fn parse_source_rpm(file: &str) -> Option<SourcePackage> {
    let stem = file.strip_suffix(".rpm")?;
    let (nvr, _arch) = stem.rsplit_once('.')?;
    let (nv, release) = nvr.rsplit_once('-')?;
    let (name, version) = nv.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    Some(SourcePackage {
        name: name.to_string(),
        version: format!("{version}-{release}"),
    })
}

/// `pkg:rpm/<distro id>/<name>@<version>-<release>?arch=…&distro=<id>-<version_id>&epoch=…`
pub fn purl(h: &RpmHeader, distro: Option<&Distro>) -> Purl {
    let mut p = Purl::new("rpm", &h.name).with_version(&format!("{}-{}", h.version, h.release));
    if let Some(d) = distro.filter(|d| !d.id.is_empty()) {
        let id = d.id.to_ascii_lowercase();
        let qualifier = match d.version_id.as_deref().filter(|v| !v.is_empty()) {
            Some(v) => format!("{id}-{v}"),
            None => id.clone(),
        };
        p = p.with_namespace(&id).with_qualifier("distro", &qualifier);
    }
    if let Some(arch) = &h.arch {
        p = p.with_qualifier("arch", arch);
    }
    if let Some(epoch) = h.epoch {
        p = p.with_qualifier("epoch", &epoch.to_string());
    }
    p
}

fn component(h: RpmHeader, evidence: &str, distro: Option<&Distro>) -> Component {
    let mut c = Component::new(ComponentKind::Rpm, &h.name, &h.evr());
    c.purl = Some(purl(&h, distro));
    c.source = h.source_rpm.as_deref().and_then(parse_source_rpm);
    c.licenses = h.license.into_iter().filter(|l| !l.is_empty()).collect();
    c.supplier = h.vendor.filter(|v| !v.is_empty());
    c.arch = h.arch;
    c.evidence = vec![evidence.to_string()];
    c
}

/// Finds rpm databases and turns their headers into components.
#[derive(Debug, Clone, Copy, Default)]
pub struct RpmAnalyzer;

impl RpmAnalyzer {
    pub fn new() -> RpmAnalyzer {
        RpmAnalyzer
    }
}

impl PackageAnalyzer for RpmAnalyzer {
    fn name(&self) -> &'static str {
        "rpm"
    }

    fn version(&self) -> u32 {
        1
    }

    fn wants(&self, path: &str) -> bool {
        matches!(
            path,
            "var/lib/rpm/rpmdb.sqlite"
                | "var/lib/rpm/rpmdb.sqlite-wal"
                | "var/lib/rpm/Packages.db"
                | "var/lib/rpm/Packages"
                | "usr/lib/sysimage/rpm/rpmdb.sqlite"
                | "usr/lib/sysimage/rpm/rpmdb.sqlite-wal"
                | "usr/lib/sysimage/rpm/Packages.db"
                | "usr/lib/sysimage/rpm/Packages"
        )
    }

    fn analyze(
        &self,
        view: &dyn FsView,
        ctx: &AnalyzeContext<'_>,
    ) -> Result<Findings, AnalyzerError> {
        let mut findings = Findings::default();
        let Some(db) = installed_headers(view, &mut findings.notes)? else {
            return Ok(findings);
        };
        findings.components = db
            .headers
            .into_iter()
            .filter(|h| h.name != "gpg-pubkey")
            .map(|h| component(h, &db.path, ctx.distro))
            .collect();
        Ok(findings)
    }
}

/// The headers of the installed-package database a view holds.
pub struct InstalledDb {
    /// The database file read (physical path).
    pub path: String,
    pub headers: Vec<RpmHeader>,
}

/// Finds the view's rpm database (the best backend when several exist; the
/// others become notes) and reads every header. `Ok(None)`: no database.
pub fn installed_headers(
    view: &dyn FsView,
    notes: &mut Vec<(String, String)>,
) -> Result<Option<InstalledDb>, AnalyzerError> {
    // Every distinct database file, best first. A symlinked directory
    // (Fedora's var/lib/rpm -> usr/lib/sysimage/rpm) yields one file.
    let mut found: Vec<(Backend, String, &[u8])> = Vec::new();
    for backend in Backend::ALL {
        for dir in DB_DIRS {
            let want = format!("{dir}/{}", backend.file_name());
            let Some(file) = view
                .read(&want)
                .map_err(|e| AnalyzerError::new(&want, e.to_string()))?
            else {
                continue;
            };
            if !found.iter().any(|(_, p, _)| p == file.path) {
                found.push((backend, file.path.to_string(), file.bytes));
            }
        }
    }
    let Some((backend, path, bytes)) = found.first().cloned() else {
        return Ok(None);
    };
    for (other, other_path, _) in &found[1..] {
        notes.push((
            other_path.clone(),
            format!(
                "ignored {} rpm database: the {} database {path} takes precedence",
                other.as_str(),
                backend.as_str()
            ),
        ));
    }
    let wal_path = format!("{path}-wal");
    let wal = match backend {
        Backend::Sqlite => view
            .read(&wal_path)
            .map_err(|e| AnalyzerError::new(&wal_path, e.to_string()))?
            .map(|f| f.bytes),
        _ => None,
    };
    let headers = read_database(backend, bytes, wal).map_err(|e| {
        AnalyzerError::new(&path, format!("{} rpm database: {e}", backend.as_str()))
    })?;
    Ok(Some(InstalledDb { path, headers }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::MemFs;

    #[test]
    fn source_rpm_names() {
        let s = parse_source_rpm("bash-5.1.8-6.el9.src.rpm").unwrap();
        assert_eq!(
            (s.name.as_str(), s.version.as_str()),
            ("bash", "5.1.8-6.el9")
        );
        let s = parse_source_rpm("python3-pip-21.3.1-1.fc40.nosrc.rpm").unwrap();
        assert_eq!(
            (s.name.as_str(), s.version.as_str()),
            ("python3-pip", "21.3.1-1.fc40")
        );
        assert_eq!(parse_source_rpm("(none)"), None);
        assert_eq!(parse_source_rpm("foo.src.rpm"), None);
        assert_eq!(parse_source_rpm("-1-2.src.rpm"), None);
    }

    #[test]
    fn purl_follows_the_spec() {
        let h = RpmHeader {
            name: "curl".into(),
            epoch: Some(1),
            version: "7.76.1".into(),
            release: "26.el9".into(),
            arch: Some("x86_64".into()),
            ..RpmHeader::default()
        };
        let d = Distro {
            id: "RHEL".into(),
            version_id: Some("9.3".into()),
            ..Distro::default()
        };
        assert_eq!(
            purl(&h, Some(&d)).to_string(),
            "pkg:rpm/rhel/curl@7.76.1-26.el9?arch=x86_64&distro=rhel-9.3&epoch=1"
        );
        let h = RpmHeader {
            epoch: None,
            arch: None,
            ..h
        };
        assert_eq!(purl(&h, None).to_string(), "pkg:rpm/curl@7.76.1-26.el9");
    }

    #[test]
    fn wants_only_database_files() {
        let a = RpmAnalyzer::new();
        assert!(a.wants("var/lib/rpm/Packages"));
        assert!(a.wants("usr/lib/sysimage/rpm/rpmdb.sqlite"));
        assert!(!a.wants("var/lib/rpm/Name"));
        assert!(!a.wants("var/lib/rpm/rpmdb.sqlite-shm"));
        assert!(!a.wants("etc/os-release"));
    }

    #[test]
    fn no_database_no_components() {
        let f = RpmAnalyzer
            .analyze(&MemFs::new(), &AnalyzeContext::default())
            .unwrap();
        assert_eq!(f, Findings::default());
    }

    #[test]
    fn header_errors_name_the_file_and_record() {
        let db = bdb::build::db(
            false,
            1,
            &[bdb::build::Page::Hash {
                pairs: vec![(
                    bdb::build::Item::Data(&5u32.to_le_bytes()),
                    bdb::build::Item::Data(b"\0\0\0\x01\0\0\0\0 too short"),
                )],
                next: 0,
            }],
        );
        let fs = MemFs::new().with_file("var/lib/rpm/Packages", db);
        let err = RpmAnalyzer
            .analyze(&fs, &AnalyzeContext::default())
            .unwrap_err();
        assert_eq!(err.path, "var/lib/rpm/Packages");
        assert!(err.message.contains("package record 5"), "{err}");
    }

    #[test]
    fn skips_gpg_pubkeys_and_prefers_newer_locations() {
        let blob = |name: &str| header::simple_blob(name, "1.0", "1", None);
        let page = |blobs: &[(u32, Vec<u8>)]| -> Vec<u8> {
            let keys: Vec<[u8; 4]> = blobs.iter().map(|(k, _)| k.to_le_bytes()).collect();
            let pairs = keys
                .iter()
                .zip(blobs)
                .map(|(k, (_, b))| (bdb::build::Item::Data(k), bdb::build::Item::Data(b)))
                .collect();
            bdb::build::db(false, 1, &[bdb::build::Page::Hash { pairs, next: 0 }])
        };
        let fs = MemFs::new()
            .with_file(
                "usr/lib/sysimage/rpm/Packages",
                page(&[(1, blob("gpg-pubkey")), (2, blob("new"))]),
            )
            .with_file("var/lib/rpm/Packages", page(&[(1, blob("old"))]));
        let f = RpmAnalyzer
            .analyze(&fs, &AnalyzeContext::default())
            .unwrap();
        let names: Vec<_> = f.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["new"]);
        assert_eq!(f.components[0].evidence, ["usr/lib/sysimage/rpm/Packages"]);
        assert_eq!(f.notes.len(), 1);
        assert_eq!(f.notes[0].0, "var/lib/rpm/Packages");
    }
}

//! `rpmdb.sqlite` (rpm ≥ 4.16: Fedora ≥ 33, RHEL/Alma/Rocky 9, Amazon Linux
//! 2023): one row per package in `Packages(hnum, blob)`, the blob being a
//! plain header blob.
//!
//! The bytes are handed to an in-memory SQLite (read-only) so no file is
//! written, except when an uncheckpointed write-ahead log sits beside the
//! database: its frames are part of the database's current state, and only a
//! real file pair lets SQLite replay them, so that case goes through a private
//! temporary directory. The file is untrusted, so `Packages` must be a real
//! table (a view could compute anything) and value lengths are capped by the
//! input size.

use std::io::Read;

use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

/// Why an `rpmdb.sqlite` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqliteError {
    #[error("database file is empty")]
    Empty,
    #[error("database file is too large ({0} bytes) for in-memory reading")]
    TooLarge(usize),
    #[error("cannot open as SQLite: {0}")]
    Open(String),
    #[error("cannot stage the database and its write-ahead log in a temporary directory: {0}")]
    Staging(String),
    #[error("no Packages table (found {0})")]
    NoPackagesTable(String),
    #[error("reading Packages failed: {0}")]
    Query(String),
    #[error("Packages row {row}: {what}")]
    BadRow { row: i64, what: String },
}

fn query_err(e: rusqlite::Error) -> SqliteError {
    SqliteError::Query(e.to_string())
}

/// A connection plus whatever must outlive it.
struct Opened {
    conn: Connection,
    _dir: Option<tempfile::TempDir>,
}

fn open(db: &[u8], wal: Option<&[u8]>) -> Result<Opened, SqliteError> {
    if db.is_empty() {
        return Err(SqliteError::Empty);
    }
    // sqlite3_malloc takes an int.
    if i32::try_from(db.len()).is_err() {
        return Err(SqliteError::TooLarge(db.len()));
    }
    let open_err = |e: rusqlite::Error| SqliteError::Open(e.to_string());
    if let Some(wal) = wal.filter(|w| !w.is_empty()) {
        let stage = |e: std::io::Error| SqliteError::Staging(e.to_string());
        let dir = tempfile::tempdir().map_err(stage)?;
        let path = dir.path().join("rpmdb.sqlite");
        std::fs::write(&path, db).map_err(stage)?;
        std::fs::write(dir.path().join("rpmdb.sqlite-wal"), wal).map_err(stage)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags).map_err(open_err)?;
        return Ok(Opened {
            conn,
            _dir: Some(dir),
        });
    }
    let mut conn = Connection::open_in_memory().map_err(open_err)?;
    // rpm keeps its database in WAL mode (header bytes 18/19 = 2), which an
    // in-memory database cannot be; with no log to replay, the legacy
    // rollback-journal mode (1) reads the same pages.
    let wal_mode = db.get(18..20) == Some(&[2, 2][..]);
    let reader: Box<dyn Read + '_> = if wal_mode {
        Box::new(db[..18].chain(&[1u8, 1][..]).chain(&db[20..]))
    } else {
        Box::new(db)
    };
    conn.deserialize_read_exact("main", reader, db.len(), true)
        .map_err(open_err)?;
    Ok(Opened { conn, _dir: None })
}

/// Calls `f(hnum, header_blob)` for every row of `Packages`, in `hnum` order.
/// `wal` is the content of `rpmdb.sqlite-wal`, when the image has one.
pub fn for_each_record<E: From<SqliteError>>(
    db: &[u8],
    wal: Option<&[u8]>,
    mut f: impl FnMut(u32, &[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let opened = open(db, wal)?;
    let conn = &opened.conn;
    let input = db.len() + wal.map_or(0, <[u8]>::len);
    let cap = i32::try_from(input.max(1 << 20)).unwrap_or(i32::MAX);
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, cap)
        .map_err(query_err)?;

    let kind: Option<String> = conn
        .query_row(
            "SELECT type FROM sqlite_master WHERE name = 'Packages'",
            [],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(query_err(e)),
        })?;
    match kind.as_deref() {
        Some("table") => {}
        other => {
            return Err(SqliteError::NoPackagesTable(
                other.map_or("nothing".to_string(), |k| format!("a {k}")),
            )
            .into())
        }
    }

    let mut stmt = conn
        .prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")
        .map_err(query_err)?;
    let mut rows = stmt.query([]).map_err(query_err)?;
    while let Some(row) = rows.next().map_err(query_err)? {
        let hnum = match row.get_ref(0).map_err(query_err)? {
            ValueRef::Integer(n) => n,
            other => {
                return Err(SqliteError::BadRow {
                    row: -1,
                    what: format!("hnum is {:?}, not an integer", other.data_type()),
                }
                .into())
            }
        };
        let bad = |what: String| SqliteError::BadRow { row: hnum, what };
        let record = u32::try_from(hnum).map_err(|_| bad("hnum out of range".to_string()))?;
        match row.get_ref(1).map_err(query_err)? {
            ValueRef::Blob(b) => f(record, b)?,
            other => return Err(bad(format!("blob is {:?}, not a blob", other.data_type())).into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(db: &[u8]) -> Result<Vec<(u32, Vec<u8>)>, SqliteError> {
        let mut out = Vec::new();
        for_each_record(db, None, |k, v| {
            out.push((k, v.to_vec()));
            Ok::<_, SqliteError>(())
        })?;
        Ok(out)
    }

    fn db_with(schema: &str) -> Vec<u8> {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(schema).unwrap();
        conn.serialize("main").unwrap().to_vec()
    }

    #[test]
    fn reads_rows_in_hnum_order() {
        let db = db_with(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);
             INSERT INTO Packages VALUES (7, x'0102'), (3, x'03');",
        );
        assert_eq!(collect(&db).unwrap(), vec![(3, vec![3]), (7, vec![1, 2])]);
    }

    #[test]
    fn rejects_views_missing_tables_and_odd_rows() {
        let view = db_with("CREATE VIEW Packages AS SELECT 1 AS hnum, x'00' AS blob;");
        assert_eq!(
            collect(&view),
            Err(SqliteError::NoPackagesTable("a view".into()))
        );
        let none = db_with("CREATE TABLE Other (x);");
        assert_eq!(
            collect(&none),
            Err(SqliteError::NoPackagesTable("nothing".into()))
        );
        let text = db_with(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob);
             INSERT INTO Packages VALUES (1, 'text');",
        );
        assert!(matches!(
            collect(&text),
            Err(SqliteError::BadRow { row: 1, .. })
        ));
        let negative = db_with(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob);
             INSERT INTO Packages VALUES (-1, x'00');",
        );
        assert!(matches!(
            collect(&negative),
            Err(SqliteError::BadRow { row: -1, .. })
        ));
    }

    #[test]
    fn garbage_is_an_error() {
        assert_eq!(collect(b""), Err(SqliteError::Empty));
        assert!(collect(b"not a database at all, just text").is_err());
    }
}

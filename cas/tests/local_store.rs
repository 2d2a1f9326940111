//! The local backend on a real directory: round trips, damaged entries,
//! LRU eviction under a tiny cap, and several threads and processes sharing
//! one directory.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use stella_cas::{CasError, FragmentStore, LocalStore};
use stella_model::Digest;

fn key(n: u32) -> Digest {
    Digest::sha256_of(format!("key {n}").as_bytes())
}

/// Content that can be recomputed from the key alone (so concurrent writers
/// of one key agree, as real fragments do).
fn payload(n: u32, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u32 * 31 + n) as u8).collect()
}

fn entry_path(root: &Path, k: &Digest) -> PathBuf {
    let (a, b) = k.hex().split_at(2);
    root.join("layers-v1").join(a).join(b)
}

fn set_used(path: &Path, secs: u64) {
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

#[test]
fn stores_and_returns_fragments() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(store.get(&key(1)).unwrap(), None);
    store.put(&key(1), b"first").unwrap();
    store.put(&key(2), b"").unwrap();
    assert_eq!(store.get(&key(1)).unwrap().as_deref(), Some(&b"first"[..]));
    assert_eq!(store.get(&key(2)).unwrap().as_deref(), Some(&b""[..]));
    store.put(&key(1), b"replaced").unwrap();
    assert_eq!(
        store.get(&key(1)).unwrap().as_deref(),
        Some(&b"replaced"[..])
    );
    store.remove(&key(1)).unwrap();
    store.remove(&key(1)).unwrap();
    assert_eq!(store.get(&key(1)).unwrap(), None);
    // Nothing left behind in tmp/, and the directory is tagged as a cache.
    assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    assert!(fs::read_to_string(dir.path().join("CACHEDIR.TAG"))
        .unwrap()
        .starts_with("Signature: 8a477f597d28d172789f06886806bc55"));
    // A second store on the same directory sees the entries.
    let again = LocalStore::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(again.get(&key(2)).unwrap().as_deref(), Some(&b""[..]));
}

#[test]
fn refuses_keys_that_are_not_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path(), 1 << 20).unwrap();
    let k = Digest::from_sha512_bytes(&[0u8; 64]);
    assert!(matches!(
        store.put(&k, b"x"),
        Err(CasError::UnsupportedKey(_))
    ));
    assert!(matches!(store.get(&k), Err(CasError::UnsupportedKey(_))));
}

/// Damage the entry file on disk with `damage`, then read it.
fn damaged(damage: impl Fn(&Path)) -> (Result<Option<Vec<u8>>, CasError>, bool) {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path(), 1 << 20).unwrap();
    store.put(&key(7), &payload(7, 5000)).unwrap();
    let path = entry_path(dir.path(), &key(7));
    damage(&path);
    let got = store.get(&key(7));
    (got, path.exists())
}

fn assert_corrupt(result: (Result<Option<Vec<u8>>, CasError>, bool), why: &str) {
    let (got, still_there) = result;
    match got {
        Err(CasError::Corrupt { reason, .. }) => assert!(reason.contains(why), "{reason}"),
        other => panic!("expected a corrupt entry ({why}), got {other:?}"),
    }
    assert!(!still_there, "a corrupt entry is removed");
}

#[test]
fn detects_a_flipped_payload_byte() {
    assert_corrupt(
        damaged(|p| {
            let mut b = fs::read(p).unwrap();
            let mid = b.len() / 2;
            b[mid] ^= 0x01;
            fs::write(p, b).unwrap();
        }),
        "does not match",
    );
}

#[test]
fn detects_a_truncated_entry() {
    assert_corrupt(
        damaged(|p| {
            let b = fs::read(p).unwrap();
            fs::write(p, &b[..b.len() - 1]).unwrap();
        }),
        "file holds",
    );
    assert_corrupt(damaged(|p| fs::write(p, b"STL").unwrap()), "shorter than");
    assert_corrupt(damaged(|p| fs::write(p, b"").unwrap()), "shorter than");
}

#[test]
fn detects_an_entry_under_the_wrong_name() {
    assert_corrupt(
        damaged(|p| {
            let dir = tempfile::tempdir().unwrap();
            let other = LocalStore::open(dir.path(), 1 << 20).unwrap();
            other.put(&key(8), &payload(7, 5000)).unwrap();
            fs::copy(entry_path(dir.path(), &key(8)), p).unwrap();
        }),
        "entry is for key",
    );
}

#[test]
fn a_rewrite_after_corruption_is_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path(), 1 << 20).unwrap();
    store.put(&key(3), b"good").unwrap();
    fs::write(entry_path(dir.path(), &key(3)), b"garbage").unwrap();
    assert!(store.get(&key(3)).is_err());
    assert_eq!(store.get(&key(3)).unwrap(), None);
    store.put(&key(3), b"good").unwrap();
    assert_eq!(store.get(&key(3)).unwrap().as_deref(), Some(&b"good"[..]));
}

#[test]
fn evicts_least_recently_used_entries_down_to_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    // Each entry is 80 bytes of header + 100 of payload = 180 bytes.
    let store = LocalStore::open(dir.path(), 400).unwrap();
    for n in 0..3 {
        store.put(&key(n), &payload(n, 100)).unwrap();
    }
    // Written long ago, in order 0, 1, 2 ...
    for n in 0..3 {
        set_used(&entry_path(dir.path(), &key(n)), 1_000_000 + u64::from(n));
    }
    // ... then entry 0 is read, which makes it the most recently used.
    assert!(store.get(&key(0)).unwrap().is_some());
    let ev = store.evict().unwrap();
    assert_eq!((ev.entries, ev.bytes), (3, 540));
    assert_eq!((ev.removed, ev.removed_bytes), (1, 180));
    assert!(store.get(&key(0)).unwrap().is_some());
    assert_eq!(store.get(&key(1)).unwrap(), None, "the LRU entry goes");
    assert!(store.get(&key(2)).unwrap().is_some());
    // Under the cap: nothing more to do.
    let ev = store.evict().unwrap();
    assert_eq!((ev.entries, ev.removed), (2, 0));
}

#[test]
fn the_clock_is_ours_not_atime() {
    // A read must move the entry's last use forward even though the
    // filesystem may not update atime (noatime/relatime).
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path(), 1 << 20).unwrap();
    store.put(&key(1), b"x").unwrap();
    let path = entry_path(dir.path(), &key(1));
    set_used(&path, 1_000_000);
    store.get(&key(1)).unwrap();
    let used = fs::metadata(&path).unwrap().modified().unwrap();
    assert!(used > SystemTime::now() - Duration::from_secs(600));
}

#[test]
fn does_not_keep_a_fragment_larger_than_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path(), 1000).unwrap();
    store.put(&key(1), &payload(1, 500)).unwrap();
    store.put(&key(2), &payload(2, 1000)).unwrap();
    assert_eq!(store.get(&key(2)).unwrap(), None);
    assert!(
        store.get(&key(1)).unwrap().is_some(),
        "nothing was evicted for it"
    );
}

#[test]
fn removes_temporary_files_of_dead_writers_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path(), 1 << 20).unwrap();
    let old = dir.path().join("tmp/1-0-0.tmp");
    let fresh = dir.path().join("tmp/2-0-0.tmp");
    fs::write(&old, b"half").unwrap();
    fs::write(&fresh, b"half").unwrap();
    set_used(&old, 1_000_000);
    store.evict().unwrap();
    assert!(!old.exists());
    assert!(
        fresh.exists(),
        "may belong to a writer that is still running"
    );
}

/// Puts, gets and evictions on a few shared keys; every read is either a
/// miss or exactly the key's content.
fn hammer(root: &Path, seed: u32, rounds: u32) {
    // A cap of about four entries keeps the evictions busy.
    let store = LocalStore::open(root, 4 * (80 + 20_000)).unwrap();
    for i in 0..rounds {
        let n = (i * 7 + seed) % 6;
        let want = payload(n, 20_000);
        match store.get(&key(n)) {
            Ok(Some(got)) => assert_eq!(got, want, "key {n}"),
            Ok(None) => store.put(&key(n), &want).unwrap(),
            Err(e) => panic!("a reader saw a broken entry: {e}"),
        }
        if i % 10 == 0 {
            store.evict().unwrap();
        }
    }
}

#[test]
fn threads_share_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::thread::scope(|s| {
        for seed in 0..6 {
            let root = dir.path();
            s.spawn(move || hammer(root, seed, 300));
        }
    });
}

/// The body of [`processes_share_a_directory`]'s children.
#[test]
#[ignore = "run by processes_share_a_directory in child processes"]
fn child_hammer() {
    let root = std::env::var_os("STELLA_CAS_TEST_DIR").expect("STELLA_CAS_TEST_DIR");
    let seed: u32 = std::env::var("STELLA_CAS_TEST_SEED")
        .unwrap()
        .parse()
        .unwrap();
    hammer(Path::new(&root), seed, 400);
}

#[test]
fn processes_share_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..3)
        .map(|seed| {
            Command::new(&exe)
                .args(["--exact", "child_hammer", "--ignored", "--quiet"])
                .env("STELLA_CAS_TEST_DIR", dir.path())
                .env("STELLA_CAS_TEST_SEED", seed.to_string())
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    hammer(dir.path(), 9, 400);
    for mut c in children {
        assert!(c.wait().unwrap().success(), "a child process failed");
    }
    // Every entry left is whole.
    let store = LocalStore::open(dir.path(), u64::MAX).unwrap();
    for n in 0..6 {
        if let Some(got) = store.get(&key(n)).unwrap() {
            assert_eq!(got, payload(n, 20_000));
        }
    }
}

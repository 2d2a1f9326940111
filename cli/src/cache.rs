//! The layer cache of `stella scan`: a `stella-cas` store (local directory,
//! or OCI artifacts with `--cas`) adapted to
//! the engine's [`LayerCache`] hook. A cache problem never fails a scan: it
//! is reported on stderr and the layer is streamed instead.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;
use stella_analyzers::LayerCache;
use stella_cas::{parse_size, FragmentStore, LocalStore, OciFragmentStore};
use stella_model::Digest;
use stella_registry_store::{open_store, StoreOptions};

#[derive(Args, Debug, Clone)]
pub struct CacheArgs {
    /// Layer cache directory [default: $XDG_CACHE_HOME/stella, else ~/.cache/stella].
    /// Image sources only; a dir: scan never uses the cache.
    #[arg(long, env = "STELLA_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Neither read nor write the layer cache.
    #[arg(long, env = "STELLA_NO_CACHE", value_parser = clap::builder::FalseyValueParser::new())]
    pub no_cache: bool,
    /// Size cap of the layer cache directory (e.g. 500MiB, 2GiB); the least
    /// recently used fragments are evicted beyond it.
    #[arg(long, env = "STELLA_CACHE_MAX_SIZE", value_name = "SIZE", default_value = "2GiB",
          value_parser = parse_cache_size)]
    pub cache_max_size: u64,
    /// Keep the layer cache as OCI artifacts in a registry repository
    /// (registry:HOST/REPO) or an OCI layout (oci-dir:PATH) instead of the
    /// local directory, so CI runners share it.
    #[arg(
        long = "cas",
        env = "STELLA_CAS",
        value_name = "registry:REPO|oci-dir:PATH"
    )]
    pub cas: Option<String>,
}

fn parse_cache_size(s: &str) -> Result<u64, String> {
    parse_size(s).map_err(|e| e.to_string())
}

fn warn(message: impl std::fmt::Display) {
    eprintln!("stella: warning: layer cache: {message}");
}

/// The fragment store behind one scan: the local directory, or OCI
/// artifacts in a registry / layout (`--cas`).
pub struct ScanCache {
    store: Box<dyn FragmentStore>,
    wrote: AtomicBool,
    put_failed: AtomicBool,
}

impl ScanCache {
    /// The cache the arguments ask for; `None` with `--no-cache`, or (after a
    /// warning) when the directory cannot be used.
    pub fn open(args: &CacheArgs) -> Option<ScanCache> {
        if args.no_cache {
            return None;
        }
        if let Some(spec) = &args.cas {
            return match open_store(spec, &StoreOptions::default()) {
                Ok(store) => Some(ScanCache::over(Box::new(OciFragmentStore::new(store)))),
                Err(e) => {
                    warn(format_args!("{spec}: {e}; scanning without it"));
                    None
                }
            };
        }
        let dir = match &args.cache_dir {
            Some(dir) => dir.clone(),
            None => match LocalStore::default_dir() {
                Ok(dir) => dir,
                Err(e) => {
                    warn(format_args!("{e}; scanning without it"));
                    return None;
                }
            },
        };
        match LocalStore::open(&dir, args.cache_max_size) {
            Ok(store) => Some(ScanCache::over(Box::new(store))),
            Err(e) => {
                warn(format_args!("{e}; scanning without it"));
                None
            }
        }
    }

    fn over(store: Box<dyn FragmentStore>) -> ScanCache {
        ScanCache {
            store,
            wrote: AtomicBool::new(false),
            put_failed: AtomicBool::new(false),
        }
    }

    /// Keeps the store under its cap after a scan that wrote to it.
    pub fn finish(&self) {
        if self.wrote.load(Ordering::Relaxed) {
            if let Err(e) = self.store.maintain() {
                warn(format_args!("evicting old entries: {e}"));
            }
        }
    }
}

impl LayerCache for ScanCache {
    fn get(&self, key: &Digest) -> Option<Vec<u8>> {
        match self.store.get(key) {
            Ok(found) => found,
            Err(e) => {
                warn(format_args!("{e}; the layer is scanned again"));
                None
            }
        }
    }

    fn put(&self, key: &Digest, fragment: &[u8]) {
        match self.store.put(key, fragment) {
            Ok(()) => self.wrote.store(true, Ordering::Relaxed),
            // Once per scan: a full disk would otherwise warn for every layer.
            Err(e) => {
                if !self.put_failed.swap(true, Ordering::Relaxed) {
                    warn(format_args!("not stored: {e}"));
                }
            }
        }
    }

    fn rejected(&self, key: &Digest, reason: &str) {
        warn(format_args!(
            "entry {key} could not be decoded ({reason}); the layer is scanned again"
        ));
        if let Err(e) = self.store.remove(key) {
            warn(e);
        }
    }
}

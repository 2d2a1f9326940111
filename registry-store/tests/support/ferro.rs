//! `ferro-oci-server`, an embeddable OCI 1.1 registry, served in-process on
//! a loopback port by a runtime of its own.

use std::sync::Arc;

use ferro_blob_store::InMemoryBlobStore;
use ferro_oci_server::{router, AppState, InMemoryRegistryMeta};

pub struct Ferro {
    pub addr: String,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Ferro {
    pub fn start() -> Ferro {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime for ferro");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr").to_string();
        let state = AppState::new(
            Arc::new(InMemoryBlobStore::new()),
            Arc::new(InMemoryRegistryMeta::new()),
        );
        runtime.spawn(async move {
            let _ = axum::serve(listener, router(state)).await;
        });
        Ferro {
            addr,
            runtime: Some(runtime),
        }
    }
}

impl Drop for Ferro {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

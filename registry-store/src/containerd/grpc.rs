//! The gRPC side of `containerd:REF`: the images service names the image,
//! the content service streams its documents and layers.
//!
//! Like the registry source, each opened image owns a small tokio runtime
//! (the rest of Stella is synchronous and reads layers from several
//! threads); calls run as tasks on it, and layer bodies cross a bounded
//! channel of chunks into a [`ChannelReader`], so memory stays bounded.

use std::future::Future;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use containerd_client::services::v1::content_client::ContentClient;
use containerd_client::services::v1::images_client::ImagesClient;
use containerd_client::services::v1::namespaces_client::NamespacesClient;
use containerd_client::services::v1::{
    GetImageRequest, Image, InfoRequest, ListImagesRequest, ListNamespacesRequest,
    ReadContentRequest,
};
use containerd_client::tonic::metadata::AsciiMetadataValue;
use containerd_client::tonic::transport::Channel;
use containerd_client::tonic::{Code, Request, Status};
use stella_model::Digest;
use tokio::sync::mpsc;

use super::Lookup;
use crate::image::{
    image_info, resolve_chain, BlobSource, LayerDescriptor, OpenOptions, ResolvedImage,
};
use crate::oci::{Descriptor, MAX_MANIFEST_BYTES};
use crate::registry::{error_chain, quote, ChannelReader, OwnedRuntime, CHUNKS_IN_FLIGHT};
use crate::verify::{read_verified, VerifyingReader};
use crate::StoreError;

/// A daemon that does not accept the connection by then is not coming.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// One unary call, or one message of a content stream.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// containerd sends content in chunks of 1 MiB; tonic's default cap is 4 MiB.
const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// The gRPC header carrying the namespace of every namespaced call.
const NAMESPACE_HEADER: &str = "containerd-namespace";

pub(super) fn open(
    reference: &str,
    lookup: Lookup,
    socket: PathBuf,
    opts: &OpenOptions,
) -> Result<ResolvedImage, StoreError> {
    let runtime = OwnedRuntime::new()?;
    let daemon = Arc::new(Daemon::connect(
        socket,
        &opts.containerd_namespace,
        runtime.handle(),
    )?);
    let image = daemon.find_image(reference, &lookup)?;
    let target = image.target.clone().unwrap_or_default();
    let location = daemon.location();
    let record = format!("image record {:?} in {location}", image.name);
    let root_digest: Digest = target
        .digest
        .parse()
        .map_err(|e| StoreError::malformed(&record, format!("target digest: {e}")))?;
    let root_size = u64::try_from(target.size)
        .map_err(|_| StoreError::malformed(&record, format!("target size {}", target.size)))?;
    let root_what = format!("manifest {root_digest} of {:?} in {location}", image.name);
    let root = read_verified(
        daemon.open_content(&root_digest, Some(root_size), "manifest")?,
        &root_digest,
        Some(root_size),
        MAX_MANIFEST_BYTES,
        &root_what,
    )?;
    let fetch_daemon = daemon.clone();
    let fetch = move |d: &Descriptor, limit: u64| -> Result<Box<dyn Read + Send>, StoreError> {
        let what = match &d.platform {
            Some(p) => match &p.variant {
                Some(v) => format!("manifest for {}/{}/{v}", p.os, p.architecture),
                None => format!("manifest for {}/{}", p.os, p.architecture),
            },
            None if limit == MAX_MANIFEST_BYTES => "manifest".to_string(),
            None => "config".to_string(),
        };
        Ok(Box::new(fetch_daemon.open_content(
            &d.digest,
            Some(d.size),
            &what,
        )?))
    };
    let resolved = resolve_chain(root, root_digest, &opts.platform, &location, &fetch)?;
    Ok(ResolvedImage {
        info: image_info(&resolved, Some(image.name)),
        config: resolved.config,
        layers: resolved.layers,
        blobs: Box::new(ContainerdBlobs {
            daemon,
            _runtime: runtime,
        }),
    })
}

/// One namespace of one containerd, and the channel to it.
struct Daemon {
    channel: Channel,
    /// The socket, for messages.
    address: String,
    namespace: String,
    namespace_header: AsciiMetadataValue,
    handle: tokio::runtime::Handle,
}

impl Daemon {
    fn connect(
        socket: PathBuf,
        namespace: &str,
        handle: tokio::runtime::Handle,
    ) -> Result<Daemon, StoreError> {
        let address = socket.display().to_string();
        let failed = |reason: String| StoreError::Containerd {
            address: address.clone(),
            reason,
        };
        // The usual mistakes get their own words before tonic's.
        match std::fs::metadata(&socket) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(failed(
                    "no such socket: is containerd running, and is this its address? \
                     (set it with CONTAINERD_ADDRESS; dockerd's own containerd listens \
                     under its exec-root, e.g. /var/run/docker/containerd/containerd.sock)"
                        .into(),
                ))
            }
            Ok(meta) if !is_socket(&meta) => {
                return Err(failed("not a unix socket".into()));
            }
            _ => {}
        }
        let namespace_header =
            AsciiMetadataValue::try_from(namespace).map_err(|e| StoreError::BadSource {
                input: namespace.to_string(),
                reason: format!("not usable as a containerd namespace: {e}"),
            })?;
        let connect_to = socket.clone();
        let connected = handle.spawn(async move {
            tokio::time::timeout(CONNECT_TIMEOUT, containerd_client::connect(connect_to)).await
        });
        let channel = match futures_executor::block_on(connected) {
            Ok(Ok(Ok(channel))) => channel,
            Ok(Ok(Err(e))) => {
                let detail = error_chain(&e);
                let hint = if detail.contains("ermission denied") {
                    " (the socket is usually only open to root)"
                } else {
                    ""
                };
                return Err(failed(format!("cannot connect: {detail}{hint}")));
            }
            Ok(Err(_)) => {
                return Err(failed(format!(
                    "no answer within {}s",
                    CONNECT_TIMEOUT.as_secs()
                )))
            }
            Err(e) => return Err(failed(format!("connection task ended abnormally: {e}"))),
        };
        Ok(Daemon {
            channel,
            address,
            namespace: namespace.to_string(),
            namespace_header,
            handle,
        })
    }

    fn location(&self) -> String {
        format!(
            "containerd namespace {:?} at {}",
            self.namespace, self.address
        )
    }

    /// Runs one call on the runtime, bounded by [`CALL_TIMEOUT`].
    fn run<F, T>(&self, doing: &str, fut: F) -> Result<Result<T, Status>, StoreError>
    where
        F: Future<Output = Result<T, Status>> + Send + 'static,
        T: Send + 'static,
    {
        let task = self
            .handle
            .spawn(async move { tokio::time::timeout(CALL_TIMEOUT, fut).await });
        match futures_executor::block_on(task) {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(_)) => Err(self.failed(format!(
                "{doing}: no answer within {}s",
                CALL_TIMEOUT.as_secs()
            ))),
            Err(e) => Err(self.failed(format!("{doing}: call ended abnormally: {e}"))),
        }
    }

    fn failed(&self, reason: String) -> StoreError {
        StoreError::Containerd {
            address: self.address.clone(),
            reason,
        }
    }

    /// A gRPC status that is not one of the expected answers.
    fn status_error(&self, doing: &str, status: &Status) -> StoreError {
        let hint = match status.code() {
            // A socket that does not speak gRPC (docker's API socket, say)
            // fails at the transport; an HTTP/1 server closing the HTTP/2
            // stream sometimes surfaces as Cancelled.
            Code::Unimplemented
            | Code::Unknown
            | Code::Internal
            | Code::Unavailable
            | Code::Cancelled => " (is this containerd's gRPC socket?)",
            Code::PermissionDenied => " (the socket is usually only open to root)",
            _ => "",
        };
        self.failed(format!(
            "{doing}: {:?}: {}{hint}",
            status.code(),
            quote(status.message())
        ))
    }

    /// A request in this daemon's namespace.
    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request
            .metadata_mut()
            .insert(NAMESPACE_HEADER, self.namespace_header.clone());
        request
    }

    fn images(&self) -> ImagesClient<Channel> {
        ImagesClient::new(self.channel.clone())
    }

    fn content(&self) -> ContentClient<Channel> {
        ContentClient::new(self.channel.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES)
    }

    /// The image record named `name`, `None` when there is none.
    fn get_image(&self, name: &str) -> Result<Option<Image>, StoreError> {
        self.get_image_in(name, self.namespace_header.clone())
    }

    fn get_image_in(
        &self,
        name: &str,
        namespace: AsciiMetadataValue,
    ) -> Result<Option<Image>, StoreError> {
        let mut request = Request::new(GetImageRequest {
            name: name.to_string(),
        });
        request.metadata_mut().insert(NAMESPACE_HEADER, namespace);
        let mut client = self.images();
        let doing = format!("looking up image {name:?}");
        match self.run(&doing, async move { client.get(request).await })? {
            Ok(response) => Ok(response.into_inner().image),
            Err(status) if status.code() == Code::NotFound => Ok(None),
            Err(status) => Err(self.status_error(&doing, &status)),
        }
    }

    /// Finds REF's image record: by the names it may be stored under, or
    /// for a bare digest by target (the first name, sorted, when several).
    fn find_image(&self, reference: &str, lookup: &Lookup) -> Result<Image, StoreError> {
        match lookup {
            Lookup::Names(names) => {
                for name in names {
                    if let Some(image) = self.get_image(name)? {
                        return Ok(image);
                    }
                }
            }
            Lookup::Target(digest) => {
                let mut client = self.images();
                let request = self.request(ListImagesRequest {
                    filters: vec![format!("target.digest=={digest}")],
                });
                let doing = format!("listing images with target {digest}");
                let listed = self.run(&doing, async move { client.list(request).await })?;
                let mut images = listed
                    .map_err(|status| self.status_error(&doing, &status))?
                    .into_inner()
                    .images;
                // The filter is the daemon's; the digest check is ours.
                images.retain(|i| {
                    i.target
                        .as_ref()
                        .is_some_and(|t| t.digest == digest.to_string())
                });
                images.sort_by(|a, b| a.name.cmp(&b.name));
                if let Some(image) = images.into_iter().next() {
                    return Ok(image);
                }
            }
        }
        Err(self.image_not_found(reference, lookup)?)
    }

    /// Why REF was not found: a namespace that does not exist, or an image
    /// that is not in it (saying which other namespace has it, if one does).
    fn image_not_found(&self, reference: &str, lookup: &Lookup) -> Result<StoreError, StoreError> {
        let namespaces = self.namespaces()?;
        let mut elsewhere = Vec::new();
        if let Lookup::Names(names) = lookup {
            for ns in namespaces.iter().filter(|ns| **ns != self.namespace) {
                let Ok(header) = AsciiMetadataValue::try_from(ns.as_str()) else {
                    continue;
                };
                for name in names {
                    if self.get_image_in(name, header.clone())?.is_some() {
                        elsewhere.push(ns.clone());
                        break;
                    }
                }
            }
        }
        let hint = match elsewhere.as_slice() {
            [] => String::new(),
            [one] => format!("; the image is in namespace {one:?}"),
            many => format!("; the image is in namespaces {}", many.join(", ")),
        };
        if !namespaces.contains(&self.namespace) {
            return Ok(StoreError::ContainerdNamespaceNotFound {
                namespace: self.namespace.clone(),
                address: self.address.clone(),
                available: if namespaces.is_empty() {
                    "none".into()
                } else {
                    namespaces.join(", ")
                },
                hint,
            });
        }
        let tried = match lookup {
            Lookup::Names(names) if names.len() > 1 => format!(" (tried {})", names.join(", ")),
            _ => String::new(),
        };
        Ok(StoreError::NotFound {
            what: "image",
            reference: reference.to_string(),
            location: format!("{}{tried}{hint}", self.location()),
        })
    }

    /// The namespaces the daemon has, sorted.
    fn namespaces(&self) -> Result<Vec<String>, StoreError> {
        let mut client = NamespacesClient::new(self.channel.clone());
        let doing = "listing namespaces";
        let listed = self.run(doing, async move {
            client
                .list(ListNamespacesRequest {
                    filter: String::new(),
                })
                .await
        })?;
        let mut names: Vec<String> = listed
            .map_err(|status| self.status_error(doing, &status))?
            .into_inner()
            .namespaces
            .into_iter()
            .map(|n| n.name)
            .collect();
        names.sort();
        Ok(names)
    }

    /// Starts streaming one blob of the content store. Absent content is
    /// [`StoreError::ContentNotFetched`]; a stored size other than the
    /// descriptor's is refused before a byte is read. The caller verifies
    /// the digest (the stream is the daemon's word).
    fn open_content(
        &self,
        digest: &Digest,
        expected_size: Option<u64>,
        what: &str,
    ) -> Result<ChannelReader, StoreError> {
        let mut client = self.content();
        let request = self.request(InfoRequest {
            digest: digest.to_string(),
        });
        let doing = format!("{what} {digest}");
        let info = match self.run(&doing, async move { client.info(request).await })? {
            Ok(response) => response.into_inner().info.unwrap_or_default(),
            Err(status) if status.code() == Code::NotFound => {
                return Err(StoreError::ContentNotFetched {
                    what: what.to_string(),
                    digest: digest.clone(),
                    namespace: self.namespace.clone(),
                    address: self.address.clone(),
                })
            }
            Err(status) => return Err(self.status_error(&doing, &status)),
        };
        if let Some(size) = expected_size {
            if u64::try_from(info.size).ok() != Some(size) {
                return Err(StoreError::malformed(
                    format!("{doing} in {}", self.location()),
                    format!(
                        "the content store holds {} bytes, the descriptor says {size}",
                        info.size
                    ),
                ));
            }
        }
        let (tx, rx) = mpsc::channel::<io::Result<Option<Bytes>>>(CHUNKS_IN_FLIGHT);
        let request = self.request(ReadContentRequest {
            digest: digest.to_string(),
            offset: 0,
            // 0: to the end.
            size: 0,
        });
        self.handle
            .spawn(stream_content(self.content(), request, tx));
        Ok(ChannelReader::new(rx, digest.clone()))
    }
}

/// Forwards a content stream into `tx`, checking that chunks arrive in
/// order; `Ok(None)` marks the clean end, so a cut stream never looks whole.
async fn stream_content(
    mut client: ContentClient<Channel>,
    request: Request<ReadContentRequest>,
    tx: mpsc::Sender<io::Result<Option<Bytes>>>,
) {
    let fail = |message: String| Err(io::Error::other(message));
    let mut stream = match tokio::time::timeout(CALL_TIMEOUT, client.read(request)).await {
        Ok(Ok(response)) => response.into_inner(),
        Ok(Err(status)) => {
            let _ = tx.send(fail(status_text(&status))).await;
            return;
        }
        Err(_) => {
            let _ = tx.send(fail("containerd did not answer".into())).await;
            return;
        }
    };
    let mut offset: i64 = 0;
    loop {
        let item = match tokio::time::timeout(CALL_TIMEOUT, stream.message()).await {
            Ok(Ok(Some(chunk))) if chunk.offset != offset => fail(format!(
                "containerd sent bytes at offset {} where {offset} was next",
                chunk.offset
            )),
            Ok(Ok(Some(chunk))) => {
                offset = offset.saturating_add(chunk.data.len() as i64);
                Ok(Some(Bytes::from(chunk.data)))
            }
            Ok(Ok(None)) => Ok(None),
            Ok(Err(status)) => fail(status_text(&status)),
            Err(_) => fail(format!(
                "containerd sent nothing for {}s",
                CALL_TIMEOUT.as_secs()
            )),
        };
        let last = !matches!(item, Ok(Some(_)));
        // A reader that went away ends the stream.
        if tx.send(item).await.is_err() || last {
            return;
        }
    }
}

fn status_text(status: &Status) -> String {
    format!("{:?}: {}", status.code(), quote(status.message()))
}

#[cfg(unix)]
fn is_socket(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_socket()
}

#[cfg(not(unix))]
fn is_socket(_meta: &std::fs::Metadata) -> bool {
    true
}

/// Layer blobs from the content store, shared by all layer readers.
struct ContainerdBlobs {
    daemon: Arc<Daemon>,
    // Dropped last: readers borrow `self`, so none outlive the runtime.
    _runtime: OwnedRuntime,
}

impl BlobSource for ContainerdBlobs {
    fn open_layer(&self, layer: &LayerDescriptor) -> Result<Box<dyn Read + Send + '_>, StoreError> {
        let raw = self
            .daemon
            .open_content(&layer.digest, layer.size, "layer")?;
        Ok(Box::new(VerifyingReader::new(
            raw,
            layer.digest.clone(),
            layer.size,
        )))
    }
}

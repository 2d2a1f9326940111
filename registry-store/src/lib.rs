//! # stella-registry-store
//!
//! Stella's storage. The write side is the artifact store ([`ArtifactStore`],
//! with [`OciLayoutStore`] and [`RegistryStore`]): blobs, manifests, tags and
//! referrers, the same in an OCI layout directory and in a registry, with
//! [`attach`] to hang SBOMs and attestations off an image and the referrers
//! tag-schema fallback for registries without the referrers API.
//!
//! The read side turns an image reference in syft's
//! vocabulary (`oci-dir:`, `oci-archive:`, `docker-archive:`, `registry:`,
//! bare `REF`, `containerd:` with the `containerd` feature, `dir:`) into a [`ResolvedImage`] — manifest, config and layer
//! table — plus a [`BlobSource`] that streams layer blobs.
//!
//! Every byte read through this crate is digest-checked: small documents
//! (manifests, configs) before they are parsed, layer blobs while they stream
//! (the reader fails at end of stream on a mismatch, so a caller that reads to
//! the end can never accept wrong bytes).

mod archive;
mod containerd;
mod error;
mod image;
mod layout;
pub mod oci;
mod platform;
mod reference;
mod registry;
mod source;
mod store;
pub mod tls;
mod verify;

pub use error::StoreError;
pub use image::{
    open_image, BlobSource, LayerDescriptor, OpenOptions, ResolvedImage,
    DEFAULT_CONTAINERD_ADDRESS, DEFAULT_CONTAINERD_NAMESPACE,
};
pub use platform::Platform;
pub use source::{LayoutSelector, SourceSpec};
pub use store::{
    artifact_blobs, artifact_manifest, attach, attach_many, fallback_tag, open_store, open_target,
    referrer_tag, Artifact, ArtifactBlob, ArtifactStore, ManifestBytes, ManifestRef,
    OciLayoutStore, RegistryStore, RetryPolicy, StoreOptions, Target, TargetImage,
    DEFAULT_CHUNK_SIZE,
};
pub use verify::VerifyingReader;

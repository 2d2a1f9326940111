//! OCI distribution registry source (being written).

use crate::image::{OpenOptions, ResolvedImage};
use crate::StoreError;

pub(crate) fn open_registry(
    reference: &str,
    _opts: &OpenOptions,
) -> Result<ResolvedImage, StoreError> {
    Err(StoreError::Unsupported(format!(
        "registry source {reference} is not implemented yet"
    )))
}

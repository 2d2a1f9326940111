//! OS package analyzers: os-release, dpkg, apk, rpm.

pub mod apk;
pub mod rpm;

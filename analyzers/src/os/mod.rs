//! OS package analyzers: os-release, dpkg, apk, rpm.

pub mod apk;
pub mod dpkg;
pub mod os_release;
pub mod rpm;

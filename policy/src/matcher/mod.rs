//! The matcher: inventory × advisories → findings.

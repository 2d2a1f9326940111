//! The `stella-policy@1` document and its evaluation into a verdict.

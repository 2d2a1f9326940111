//! Sizes as people write them: `2GiB`, `500MB`, `64m`, `1048576`.

/// A size that could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid size {0:?}: expected a whole number with an optional unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB; K/M/G/T mean KiB/MiB/GiB/TiB)")]
pub struct SizeError(pub String);

/// Parses a byte count. Units are case-insensitive; `KB`/`MB`/… are powers
/// of 1000, `KiB`/`MiB`/… and the bare `K`/`M`/… powers of 1024.
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let err = || SizeError(text.to_string());
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    if digits.is_empty() {
        return Err(err());
    }
    let n: u64 = digits.parse().map_err(|_| err())?;
    let unit = unit.trim().to_ascii_lowercase();
    let factor: u64 = match unit.as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "mb" => 1000_u64.pow(2),
        "gb" => 1000_u64.pow(3),
        "tb" => 1000_u64.pow(4),
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        _ => return Err(err()),
    };
    n.checked_mul(factor).ok_or_else(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_units() {
        assert_eq!(parse_size("1048576"), Ok(1_048_576));
        assert_eq!(parse_size("2GiB"), Ok(2 * 1024 * 1024 * 1024));
        assert_eq!(parse_size("2 gib"), Ok(2 * 1024 * 1024 * 1024));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("64m"), Ok(64 * 1024 * 1024));
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("10b"), Ok(10));
    }

    #[test]
    fn refuses_nonsense() {
        for bad in [
            "",
            "GiB",
            "-1",
            "1.5GiB",
            "12 parsecs",
            "99999999999999999999",
            "16777216TiB",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}

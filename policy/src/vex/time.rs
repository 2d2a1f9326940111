//! RFC 3339 timestamps as VEX documents write them, reduced to an instant so
//! that statements written in different offsets order correctly
//! (`2023-01-08T18:02:03-06:00` is later than `2023-01-08T23:00:00Z`).

use std::cmp::Ordering;
use std::fmt;

/// An instant read from an RFC 3339 date-time, with the text it came from.
/// Ordered by the instant; equal instants by text, so the order is total
/// and deterministic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    seconds: i64,
    /// Fraction of the second, in nanoseconds (digits beyond 9 are dropped).
    nanos: u32,
    text: String,
}

impl Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (`t`, `z` and a
    /// space for `T` accepted). `None` when it is not such a date-time.
    pub fn parse(text: &str) -> Option<Timestamp> {
        let (seconds, nanos) = crate::time::parse_instant(text).ok()?;
        Some(Timestamp {
            seconds,
            nanos,
            text: text.to_string(),
        })
    }

    /// The text as the document wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Seconds since the Unix epoch (UTC).
    pub fn unix_seconds(&self) -> i64 {
        self.seconds
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.seconds, self.nanos, &self.text).cmp(&(other.seconds, other.nanos, &other.text))
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> i64 {
        Timestamp::parse(s).expect(s).unix_seconds()
    }

    #[test]
    fn known_instants() {
        // Values from `date -u -d … +%s` (GNU coreutils).
        assert_eq!(secs("1970-01-01T00:00:00Z"), 0);
        assert_eq!(secs("2023-01-08T18:02:03-06:00"), 1_673_222_523);
        assert_eq!(secs("2000-02-29T12:00:00+01:00"), 951_822_000);
        assert_eq!(secs("1969-12-31T23:59:59Z"), -1);
    }

    #[test]
    fn offsets_order_by_instant() {
        let a = Timestamp::parse("2023-01-08T18:02:03.647787998-06:00").unwrap();
        let b = Timestamp::parse("2023-01-08T23:00:00Z").unwrap();
        assert!(a > b);
        let c = Timestamp::parse("2023-01-09T00:02:03.5Z").unwrap();
        let d = Timestamp::parse("2023-01-09T00:02:03.647787998Z").unwrap();
        assert!(c < d);
    }

    #[test]
    fn rejects_non_rfc3339() {
        for bad in [
            "",
            "2023-01-08",
            "2023-01-08T18:02:03",
            "2023-13-08T18:02:03Z",
            "2023-02-29T18:02:03Z",
            "2023-01-08T24:02:03Z",
            "2023-01-08T18:02:03.Z",
            "2023-01-08T18:02:03+0600",
            "2023-01-08T18:02:03Zjunk",
            "２０２3-01-08T18:02:03Z",
        ] {
            assert!(Timestamp::parse(bad).is_none(), "{bad:?}");
        }
    }
}

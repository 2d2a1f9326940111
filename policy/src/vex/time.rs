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
        let b = text.as_bytes();
        if b.len() < 20 || !b.is_ascii() {
            return None;
        }
        let num = |from: usize, len: usize| -> Option<i64> {
            let digits = b.get(from..from + len)?;
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            digits
                .iter()
                .try_fold(0i64, |acc, d| Some(acc * 10 + i64::from(d - b'0')))
        };
        let sep = |at: usize, allowed: &[u8]| b.get(at).is_some_and(|c| allowed.contains(c));
        if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
            return None;
        }
        let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
        let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let mut i = 19;
        let mut nanos: u32 = 0;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                if i - start < 9 {
                    nanos = nanos * 10 + u32::from(b[i] - b'0');
                }
                i += 1;
            }
            let digits = i - start;
            if digits == 0 {
                return None;
            }
            for _ in digits..9 {
                nanos *= 10;
            }
        }
        let offset_seconds = match b.get(i) {
            Some(b'Z' | b'z') if i + 1 == b.len() => 0,
            Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && sep(i + 3, b":") => {
                let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
                if oh > 23 || om > 59 {
                    return None;
                }
                let offset = oh * 3600 + om * 60;
                if *sign == b'+' {
                    offset
                } else {
                    -offset
                }
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
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

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (years 0..=9999).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    // Count from March so the leap day is the year's last day.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
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

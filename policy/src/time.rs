//! Just enough calendar for policies and VEX: RFC 3339 timestamps and
//! `YYYY-MM-DD` dates to seconds since the epoch (UTC), and ages like `30d`.
//! Written here rather than pulled in: both need parsing, ordering and
//! subtraction, not time zones or formatting options.

use std::fmt;

use thiserror::Error;

/// A bad date, timestamp or age.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{input:?} is not {expected}: {reason}")]
pub struct TimeError {
    pub input: String,
    pub expected: &'static str,
    pub reason: &'static str,
}

/// An instant, as whole seconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

const DAY: i64 = 86_400;

impl Timestamp {
    pub fn from_unix(seconds: i64) -> Timestamp {
        Timestamp(seconds)
    }

    pub fn unix(self) -> i64 {
        self.0
    }

    /// An RFC 3339 timestamp (`2024-05-01T12:00:00Z`, `…+02:00`, fractions
    /// ignored) or a bare date (midnight UTC).
    pub fn parse(text: &str) -> Result<Timestamp, TimeError> {
        if text.len() == 10 && text.is_ascii() {
            return Date::parse(text).map(Date::start);
        }
        parse_instant(text).map(|(seconds, _)| Timestamp(seconds))
    }

    /// The calendar date (UTC) this instant falls on.
    pub fn date(self) -> Date {
        civil_from_days(self.0.div_euclid(DAY))
    }
}

/// RFC 3339 in UTC, to the second: `2026-11-24T18:00:00Z`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.rem_euclid(DAY);
        write!(
            f,
            "{}T{:02}:{:02}:{:02}Z",
            self.date(),
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i64,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// `YYYY-MM-DD`, a real day of the Gregorian calendar.
    pub fn parse(text: &str) -> Result<Date, TimeError> {
        let err = |reason| TimeError {
            input: text.to_string(),
            expected: "a YYYY-MM-DD date",
            reason,
        };
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(err("not in the form YYYY-MM-DD"));
        }
        let year = digits(&b[..4]).ok_or_else(|| err("bad year"))?;
        let month = digits(&b[5..7]).ok_or_else(|| err("bad month"))? as u32;
        let day = digits(&b[8..10]).ok_or_else(|| err("bad day"))? as u32;
        if !(1..=12).contains(&month) {
            return Err(err("month out of range"));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(err("no such day in that month"));
        }
        Ok(Date { year, month, day })
    }

    /// Midnight UTC at the start of this day.
    pub fn start(self) -> Timestamp {
        Timestamp(days_from_civil(self) * DAY)
    }

    /// Midnight UTC at the end of this day (the next day's start).
    pub fn end(self) -> Timestamp {
        Timestamp(self.start().0 + DAY)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A length of time as policies write it: `<N>h`, `<N>d` or `<N>w`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Age {
    pub text: String,
    pub seconds: i64,
}

impl Age {
    pub fn parse(text: &str) -> Result<Age, TimeError> {
        let err = |reason| TimeError {
            input: text.to_string(),
            expected: "an age like 30d (units h, d, w)",
            reason,
        };
        let Some(unit) = text.chars().last() else {
            return Err(err("empty"));
        };
        let number = &text[..text.len() - unit.len_utf8()];
        let per = match unit {
            'h' => 3600,
            'd' => DAY,
            'w' => 7 * DAY,
            _ => return Err(err("the unit must be h, d or w")),
        };
        if number.is_empty() || number.len() > 6 || !number.bytes().all(|c| c.is_ascii_digit()) {
            return Err(err("the number must be 1 to 6 digits"));
        }
        let n: i64 = number.parse().map_err(|_| err("bad number"))?;
        Ok(Age {
            text: text.to_string(),
            seconds: n * per,
        })
    }
}

/// An RFC 3339 date-time (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `t`,
/// `z` and a space for `T` accepted) as seconds since the epoch and the
/// fraction in nanoseconds (digits beyond 9 dropped).
pub fn parse_instant(text: &str) -> Result<(i64, u32), TimeError> {
    let err = |reason| TimeError {
        input: text.to_string(),
        expected: "an RFC 3339 timestamp",
        reason,
    };
    if !text.is_ascii() {
        return Err(err("not ASCII"));
    }
    let b = text.as_bytes();
    if b.len() < 20 {
        return Err(err("too short"));
    }
    let date = Date::parse(&text[..10]).map_err(|e| err(e.reason))?;
    if !matches!(b[10], b'T' | b't' | b' ') {
        return Err(err("no 'T' between date and time"));
    }
    if b[13] != b':' || b[16] != b':' {
        return Err(err("time is not HH:MM:SS"));
    }
    let hour = digits(&b[11..13]).ok_or_else(|| err("bad hour"))?;
    let minute = digits(&b[14..16]).ok_or_else(|| err("bad minute"))?;
    let second = digits(&b[17..19]).ok_or_else(|| err("bad second"))?;
    // 60: a leap second, which RFC 3339 allows.
    if hour > 23 || minute > 59 || second > 60 {
        return Err(err("time out of range"));
    }
    let mut rest = &b[19..];
    let mut nanos: u32 = 0;
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return Err(err("empty fraction of a second"));
        }
        for i in 0..9 {
            let d = if i < n {
                u32::from(rest[1 + i] - b'0')
            } else {
                0
            };
            nanos = nanos * 10 + d;
        }
        rest = &rest[1 + n..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits(&[*h1, *h2]).ok_or_else(|| err("bad offset hours"))?;
            let m = digits(&[*m1, *m2]).ok_or_else(|| err("bad offset minutes"))?;
            if h > 23 || m > 59 {
                return Err(err("offset out of range"));
            }
            let o = h * 3600 + m * 60;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return Err(err("no time zone (Z or ±HH:MM)")),
    };
    Ok((
        date.start().0 + hour * 3600 + minute * 60 + second - offset,
        nanos,
    ))
}

fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, c| n * 10 + i64::from(c - b'0')))
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (eras of 400 years,
/// the year counted from March so the leap day comes last).
fn days_from_civil(d: Date) -> i64 {
    let y = if d.month <= 2 { d.year - 1 } else { d.year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let m = i64::from(d.month);
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d.day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> Date {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    Date { year, month, day }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        // Values from `date -u -d … +%s`.
        let cases = [
            ("1970-01-01T00:00:00Z", 0),
            ("2000-02-29T12:34:56Z", 951_827_696),
            ("2021-05-24T19:45:00.123Z", 1_621_885_500),
            ("2021-05-24T21:45:00+02:00", 1_621_885_500),
            ("2021-05-24T17:45:00-02:00", 1_621_885_500),
            ("2026-12-31", 1_798_675_200),
            ("1969-12-31T23:59:59Z", -1),
        ];
        for (text, secs) in cases {
            let t = Timestamp::parse(text).unwrap();
            assert_eq!(t.unix(), secs, "{text}");
        }
        assert_eq!(
            Timestamp::from_unix(951_827_696).to_string(),
            "2000-02-29T12:34:56Z"
        );
        assert_eq!(Timestamp::from_unix(-1).to_string(), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn round_trip_every_day_for_centuries() {
        for days in -200_000..200_000 {
            let t = Timestamp::from_unix(days * DAY);
            let d = t.date();
            assert_eq!(d.start(), t);
            assert_eq!(
                Date::parse(&d.to_string()).ok(),
                (d.year >= 0 && d.year <= 9999).then_some(d)
            );
        }
    }

    #[test]
    fn bad_input_is_refused() {
        for bad in [
            "",
            "2021-02-29",
            "2021-13-01",
            "2021-00-10",
            "2021-1-01",
            "2021-04-31T00:00:00Z",
            "2021-04-30T24:00:00Z",
            "2021-04-30T00:00:00",
            "2021-04-30T00:00:00+0200",
            "2021-04-30X00:00:00Z",
            "2021-04-30T00:00:00.Z",
            "yesterday",
            "２０２１-04-30",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ages() {
        assert_eq!(Age::parse("30d").unwrap().seconds, 30 * DAY);
        assert_eq!(Age::parse("2w").unwrap().seconds, 14 * DAY);
        assert_eq!(Age::parse("12h").unwrap().seconds, 12 * 3600);
        assert_eq!(Age::parse("0d").unwrap().seconds, 0);
        for bad in ["", "30", "d", "-1d", "1.5d", "30D", "1000000d", "30 d", "é"] {
            assert!(Age::parse(bad).is_err(), "{bad}");
        }
    }
}

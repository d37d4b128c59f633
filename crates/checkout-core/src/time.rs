//! Timestamps on the wire: RFC 3339 in UTC (`2026-11-22T07:00:00.123Z`), written exactly
//! as chrono writes them (`to_rfc3339_opts(SecondsFormat::AutoSi, true)`) and read exactly
//! as chrono's strict `DateTime::parse_from_rfc3339` reads them, by the small reader and
//! writer here: chrono's scanners and formatters were about 7 KB of the browser module
//! for two fixed formats. A property test holds both to chrono's answers on generated and
//! mangled texts and on arbitrary instants.
//!
//! chrono's own `Deserialize` accepts a relaxed superset through its general format
//! parser; the contract only ever sends RFC 3339, so the fields the browser reads use
//! these functions (`#[serde(with = "crate::time::rfc3339")]`).

use std::fmt::{self, Write};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// Why a text is not an RFC 3339 timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A character where another was expected.
    #[error("input contains invalid characters")]
    Invalid,
    /// The text ends too early.
    #[error("premature end of input")]
    TooShort,
    /// Characters after the offset.
    #[error("trailing input")]
    TooLong,
    /// A field out of its range (month 13, hour 24, offset 24:00, …).
    #[error("input is out of range")]
    OutOfRange,
}

/// Parses one RFC 3339 timestamp (any offset; the result is in UTC): `YYYY-MM-DD`, `T`,
/// `t` or a space, `hh:mm:ss`, an optional fraction (digits after the ninth are ignored),
/// and `Z`, `z` or `±hh:mm` (also U+2212 as the minus sign) within ±23:59. A second of 60
/// is a leap second, as chrono keeps it.
pub fn parse(text: &str) -> Result<DateTime<Utc>, ParseError> {
    use ParseError::*;
    let bytes = text.as_bytes();
    if bytes.len() < 19 {
        return Err(TooShort);
    }
    let digit = |at: usize| match bytes[at] {
        b @ b'0'..=b'9' => Ok(u32::from(b - b'0')),
        _ => Err(Invalid),
    };
    let two = |at: usize| Ok(digit(at)? * 10 + digit(at + 1)?);
    let year = two(0)? * 100 + two(2)?;
    let expect = |at: usize, allowed: &[u8]| {
        if allowed.contains(&bytes[at]) {
            Ok(())
        } else {
            Err(Invalid)
        }
    };
    expect(4, b"-")?;
    let month = two(5)?;
    expect(7, b"-")?;
    let day = two(8)?;
    let date = NaiveDate::from_ymd_opt(year as i32, month, day).ok_or(OutOfRange)?;
    expect(10, b"Tt ")?;
    let hour = two(11)?;
    expect(13, b":")?;
    let minute = two(14)?;
    expect(16, b":")?;
    let (second, mut nano) = match two(17)? {
        60 => (59, 1_000_000_000),
        second => (second, 0),
    };
    let mut rest = &bytes[19..];
    if let [b'.', fraction @ ..] = rest {
        let digits = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return Err(if fraction.is_empty() {
                TooShort
            } else {
                Invalid
            });
        }
        let mut value = 0u32;
        for (at, b) in fraction.iter().take(9).enumerate().take(digits) {
            value += u32::from(b - b'0') * 10u32.pow(8 - at as u32);
        }
        nano += value;
        rest = &fraction[digits..];
    }
    let time = date
        .and_hms_nano_opt(hour, minute, second, nano)
        .ok_or(OutOfRange)?;
    let offset = offset_seconds(&mut rest)?;
    if !rest.is_empty() {
        return Err(TooLong);
    }
    let offset = FixedOffset::east_opt(offset).ok_or(OutOfRange)?;
    time.checked_sub_offset(offset)
        .map(|utc| utc.and_utc())
        .ok_or(OutOfRange)
}

/// `Z`, `z`, or a sign (`+`, `-`, U+2212), two digits of hours, `:`, two of minutes.
fn offset_seconds(rest: &mut &[u8]) -> Result<i32, ParseError> {
    use ParseError::*;
    let negative = match *rest {
        [b'Z' | b'z', tail @ ..] => {
            *rest = tail;
            return Ok(0);
        }
        [b'+', tail @ ..] => {
            *rest = tail;
            false
        }
        [b'-', tail @ ..] => {
            *rest = tail;
            true
        }
        // U+2212 MINUS SIGN, as chrono allows.
        [0xE2, 0x88, 0x92, tail @ ..] => {
            *rest = tail;
            true
        }
        [] => return Err(TooShort),
        _ => return Err(Invalid),
    };
    let hours = match *rest {
        [h1 @ b'0'..=b'9', h2 @ b'0'..=b'9', tail @ ..] => {
            *rest = tail;
            i32::from((h1 - b'0') * 10 + (h2 - b'0'))
        }
        [_, _, ..] => return Err(Invalid),
        _ => return Err(TooShort),
    };
    match *rest {
        [b':', tail @ ..] => *rest = tail,
        [] => return Err(TooShort),
        _ => return Err(Invalid),
    }
    let minutes = match *rest {
        [m1 @ b'0'..=b'5', m2 @ b'0'..=b'9', tail @ ..] => {
            *rest = tail;
            i32::from((m1 - b'0') * 10 + (m2 - b'0'))
        }
        [b'6'..=b'9', b'0'..=b'9', ..] => return Err(OutOfRange),
        [_, _, ..] => return Err(Invalid),
        _ => return Err(TooShort),
    };
    let seconds = hours * 3600 + minutes * 60;
    Ok(if negative { -seconds } else { seconds })
}

/// An instant written as the wire has it: what chrono's `Serialize` writes for a
/// `DateTime<Utc>` (`2026-11-22T07:00:00.123Z`: the fraction in 0, 3, 6 or 9 digits,
/// whichever is exact; a leap second as `:60`; a year outside 0–9999 with its sign).
#[derive(Debug, Clone, Copy)]
pub struct Rfc3339<'a>(pub &'a DateTime<Utc>);

impl fmt::Display for Rfc3339<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn digits(f: &mut fmt::Formatter<'_>, value: u32, width: u32) -> fmt::Result {
            for at in (0..width).rev() {
                f.write_char(char::from(b'0' + (value / 10u32.pow(at) % 10) as u8))?;
            }
            Ok(())
        }
        let t = self.0;
        let year = t.year();
        if !(0..=9999).contains(&year) {
            f.write_char(if year < 0 { '-' } else { '+' })?;
        }
        let width = (year.unsigned_abs().checked_ilog10().unwrap_or(0) + 1).max(4);
        digits(f, year.unsigned_abs(), width)?;
        f.write_char('-')?;
        digits(f, t.month(), 2)?;
        f.write_char('-')?;
        digits(f, t.day(), 2)?;
        f.write_char('T')?;
        let (mut second, mut nano) = (t.second(), t.nanosecond());
        if nano >= 1_000_000_000 {
            second += 1;
            nano -= 1_000_000_000;
        }
        digits(f, t.hour(), 2)?;
        f.write_char(':')?;
        digits(f, t.minute(), 2)?;
        f.write_char(':')?;
        digits(f, second, 2)?;
        if nano != 0 {
            f.write_char('.')?;
            match (nano % 1_000_000, nano % 1_000) {
                (0, _) => digits(f, nano / 1_000_000, 3)?,
                (_, 0) => digits(f, nano / 1_000, 6)?,
                _ => digits(f, nano, 9)?,
            }
        }
        f.write_char('Z')
    }
}

impl serde::Serialize for Rfc3339<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// [`parse`] with a serde error that names the text.
fn parse_field<E: serde::de::Error>(text: &str) -> Result<DateTime<Utc>, E> {
    parse(text).map_err(|e| {
        E::custom(format_args!(
            "{} is not an RFC 3339 time: {e}",
            crate::detail::Quoted(text)
        ))
    })
}

/// `#[serde(with = "…::rfc3339")]` for a `DateTime<Utc>`.
pub mod rfc3339 {
    use super::*;

    /// As chrono writes it.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&Rfc3339(t))
    }

    /// Strict RFC 3339.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        parse_field::<D::Error>(&<std::borrow::Cow<'de, str>>::deserialize(d)?)
    }
}

/// `#[serde(default, with = "…::rfc3339_opt")]` for an `Option<DateTime<Utc>>`
/// (`null` or absent is `None`).
pub mod rfc3339_opt {
    use super::*;

    /// As chrono writes it, or `null`.
    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.collect_str(&Rfc3339(t)),
            None => s.serialize_none(),
        }
    }

    /// Strict RFC 3339, or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        match <Option<std::borrow::Cow<'de, str>>>::deserialize(d)? {
            None => Ok(None),
            Some(text) => parse_field::<D::Error>(&text).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct At {
        #[serde(with = "rfc3339")]
        at: DateTime<Utc>,
        #[serde(default, with = "rfc3339_opt")]
        until: Option<DateTime<Utc>>,
    }

    #[test]
    fn writes_what_chrono_writes_and_reads_it_back() {
        let at = parse("2026-11-22T07:00:00.123Z").unwrap();
        let value = At {
            at,
            until: Some(at),
        };
        let text = serde_json::to_string(&value).unwrap();
        assert_eq!(
            text,
            r#"{"at":"2026-11-22T07:00:00.123Z","until":"2026-11-22T07:00:00.123Z"}"#
        );
        assert_eq!(
            text,
            serde_json::to_string(&serde_json::json!({"at": at, "until": at})).unwrap()
        );
        assert_eq!(serde_json::from_str::<At>(&text).unwrap(), value);
    }

    #[test]
    fn offsets_become_utc_and_absent_or_null_is_none() {
        let v: At =
            serde_json::from_str(r#"{"at":"2026-11-22T09:00:00+02:00","until":null}"#).unwrap();
        assert_eq!(v.at, parse("2026-11-22T07:00:00Z").unwrap());
        assert_eq!(v.until, None);
        let v: At = serde_json::from_str(r#"{"at":"2026-11-22T07:00:00Z"}"#).unwrap();
        assert_eq!(v.until, None);
    }

    #[test]
    fn refuses_what_is_not_rfc_3339() {
        for bad in [
            "2026-11-22",
            "2026-11-22T07:00:00",
            "Sun, 22 Nov 2026 07:00:00 GMT",
            "tomorrow",
            "",
        ] {
            let text = format!(r#"{{"at":"{bad}"}}"#);
            let error = serde_json::from_str::<At>(&text).unwrap_err().to_string();
            assert!(error.contains("not an RFC 3339 time"), "{bad}: {error}");
        }
        assert!(serde_json::from_str::<At>(r#"{"at":1700000000}"#).is_err());
    }

    mod against_chrono {
        use chrono::{NaiveDateTime, SecondsFormat, TimeZone};
        use proptest::prelude::*;

        use super::super::*;

        fn chrono_parse(text: &str) -> Option<DateTime<Utc>> {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        }

        /// Texts near the grammar: each part drawn from valid and invalid choices.
        fn near_rfc3339() -> impl Strategy<Value = String> {
            let year = prop_oneof!["[0-9]{4}", "[0-9]{3}", "2026", "0000", "9999", "[0-9a]{4}"];
            let two = prop_oneof![
                "[0-9]{2}", "00", "12", "13", "23", "24", "29", "31", "59", "60", "61", "99",
                "[0-9]", "[0-9]{3}"
            ];
            let separator = prop_oneof!["T", "t", " ", "_", ""];
            let fraction = prop_oneof!["", "\\.[0-9]{1,12}", "\\.", "\\.x", ",5"];
            let offset = prop_oneof![
                "Z",
                "z",
                "",
                "[+-][0-9]{2}:[0-9]{2}",
                "[+-]2[34]:[56]9",
                "\u{2212}0[0-9]:30",
                "[+-][0-9]{2}[0-9]{2}",
                "[+-][0-9]{2}",
                "[+-][0-9]{2}:",
                "[+-][0-9]{2}:[0-9]",
                "UTC",
                "Zx",
                " Z"
            ];
            (
                year,
                two.clone(),
                two.clone(),
                separator,
                two.clone(),
                two.clone(),
                two,
                fraction,
                offset,
            )
                .prop_map(|(y, mo, d, sep, h, mi, s, frac, off)| {
                    format!("{y}-{mo}-{d}{sep}{h}:{mi}:{s}{frac}{off}")
                })
        }

        /// A text of the grammar with one byte changed, inserted or removed.
        fn mangled() -> impl Strategy<Value = String> {
            (
                near_rfc3339(),
                any::<prop::sample::Index>(),
                any::<u8>(),
                0u8..3,
            )
                .prop_map(|(text, at, byte, how)| {
                    let mut bytes = text.into_bytes();
                    let at = at.index(bytes.len() + 1);
                    match how {
                        0 if at < bytes.len() => bytes[at] = byte,
                        1 => bytes.insert(at, byte),
                        _ if at < bytes.len() => {
                            bytes.remove(at);
                        }
                        _ => {}
                    }
                    String::from_utf8_lossy(&bytes).into_owned()
                })
        }

        /// Any instant chrono can hold, leap seconds included.
        fn instant() -> impl Strategy<Value = DateTime<Utc>> {
            let min = NaiveDateTime::MIN.and_utc().timestamp();
            let max = NaiveDateTime::MAX.and_utc().timestamp();
            let nanos = prop_oneof![
                Just(0u32),
                (0u32..1000).prop_map(|m| m * 1_000_000),
                (0u32..1_000_000).prop_map(|u| u * 1000),
                0u32..1_000_000_000
            ];
            let near_now = 0i64..4_102_444_800;
            (prop_oneof![min..max, near_now], nanos, any::<bool>()).prop_map(
                |(secs, nano, leap)| {
                    let t = DateTime::from_timestamp(secs, nano).expect("in range");
                    if leap {
                        let leap_second = t.date_naive().and_hms_nano_opt(
                            t.hour(),
                            t.minute(),
                            59,
                            1_000_000_000 + nano,
                        );
                        leap_second.map(|n| Utc.from_utc_datetime(&n)).unwrap_or(t)
                    } else {
                        t
                    }
                },
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4000))]

            #[test]
            fn reads_what_chrono_reads(text in prop_oneof![near_rfc3339(), mangled()]) {
                prop_assert_eq!(parse(&text).ok(), chrono_parse(&text), "{:?}", text);
            }

            #[test]
            fn writes_what_chrono_writes(t in instant()) {
                let ours = Rfc3339(&t).to_string();
                prop_assert_eq!(&ours, &t.to_rfc3339_opts(SecondsFormat::AutoSi, true));
                prop_assert_eq!(&ours, &serde_json::to_value(t).unwrap().as_str().unwrap().to_owned());
                if (0..=9999).contains(&t.year()) {
                    prop_assert_eq!(parse(&ours), Ok(t));
                }
            }
        }

        #[test]
        fn edge_cases_agree() {
            for text in [
                "2026-11-22T07:00:00Z",
                "2026-11-22t07:00:00.5z",
                "2026-11-22 07:00:00+23:59",
                "2026-11-22T07:00:00+24:00",
                "2026-11-22T07:00:00\u{2212}05:30",
                "2026-12-31T23:59:60Z",
                "2026-12-31T23:59:60.999999999Z",
                "2026-12-31T23:58:60Z",
                "2024-02-29T00:00:00Z",
                "2026-02-29T00:00:00Z",
                "2026-11-22T07:00:00.1234567891234Z",
                "0000-01-01T00:00:00+01:00",
                "9999-12-31T23:59:59-23:59",
                "2026-11-22T07:00:00.Z",
                "2026-11-22T07:00:00+05:60",
                "2026-11-22T07:00:00+5:00",
                "2026-11-22T07:00:00Z ",
            ] {
                assert_eq!(parse(text).ok(), chrono_parse(text), "{text}");
            }
        }
    }
}

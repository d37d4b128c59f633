//! The `Checkout` order class (CONTRACT §4): its number format template, digit length,
//! next number and time zone, how a checkout number is rendered, and which admin edits
//! are allowed. Allocating the next number atomically is the server's job; what a number
//! looks like, and that it only ever moves forward, is decided here.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, Rejection};

/// The default template of the `Checkout` class.
pub const DEFAULT_FORMAT: &str = "CO-<DD><MM><YYYY>-<Number>";
/// The default zero-padded width of `<Number>`.
pub const DEFAULT_DIGIT_LENGTH: u8 = 6;
/// Largest allowed digit length (an `i64` has 19 digits; numbers widen past the length).
pub const MAX_DIGIT_LENGTH: u8 = 18;
/// The largest number an admin may set as the next one: fifteen digits, far beyond any
/// shop's lifetime, and far enough below `i64::MAX` that the database's counter (a
/// BIGINT, incremented per checkout) can never overflow.
pub const MAX_NUMBER: i64 = 999_999_999_999_999;

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Text copied as is.
    Literal(String),
    /// Two-digit day of month.
    Day,
    /// Two-digit month.
    Month,
    /// Four-digit year.
    Year,
    /// The sequence number, zero-padded to the digit length and wider when it must be.
    Number,
}

/// A parsed number template such as `CO-<DD><MM><YYYY>-<Number>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberFormat {
    segments: Vec<Segment>,
}

impl NumberFormat {
    /// Parses a template. Placeholders are `<DD>`, `<MM>`, `<YYYY>` and `<Number>`;
    /// everything else is literal text. Exactly one `<Number>` is required (without it
    /// numbers would repeat); an unknown or unclosed placeholder is refused so that a
    /// typo never silently becomes literal text.
    pub fn parse(template: &str) -> Result<NumberFormat, Rejection> {
        let invalid = |why: String| {
            Rejection::with_message(
                ErrorCode::ValidationFailed,
                format!("number format {template:?}: {why}"),
            )
        };
        if template.is_empty() || template.len() > 64 {
            return Err(invalid("must be 1 to 64 characters".into()));
        }
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut rest = template;
        while let Some(ch) = rest.chars().next() {
            if ch == '<' {
                let close = rest
                    .find('>')
                    .ok_or_else(|| invalid("unclosed '<'".into()))?;
                let segment = match &rest[1..close] {
                    "DD" => Segment::Day,
                    "MM" => Segment::Month,
                    "YYYY" => Segment::Year,
                    "Number" => Segment::Number,
                    other => return Err(invalid(format!("unknown placeholder <{other}>"))),
                };
                if !literal.is_empty() {
                    segments.push(Segment::Literal(std::mem::take(&mut literal)));
                }
                segments.push(segment);
                rest = &rest[close + 1..];
            } else if ch == '>' || ch.is_control() {
                return Err(invalid(format!("unexpected character {ch:?}")));
            } else {
                literal.push(ch);
                rest = &rest[ch.len_utf8()..];
            }
        }
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        let numbers = segments
            .iter()
            .filter(|s| matches!(s, Segment::Number))
            .count();
        if numbers != 1 {
            return Err(invalid(format!(
                "needs exactly one <Number>, found {numbers}"
            )));
        }
        Ok(NumberFormat { segments })
    }

    /// The parsed pieces, in order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Renders `number` for a checkout started on `date`. The number is zero-padded to
    /// `digit_length` digits; a larger number keeps all its digits (it widens, it never
    /// wraps: 999999 is followed by 1000000 at length 6).
    pub fn render(&self, date: NaiveDate, digit_length: u8, number: i64) -> String {
        let mut out = String::with_capacity(32);
        for segment in &self.segments {
            // Writing to a String cannot fail.
            let _ = match segment {
                Segment::Literal(text) => out.write_str(text),
                Segment::Day => write!(out, "{:02}", date.day()),
                Segment::Month => write!(out, "{:02}", date.month()),
                Segment::Year => write!(out, "{:04}", date.year()),
                Segment::Number => write!(out, "{:0width$}", number, width = digit_length as usize),
            };
        }
        out
    }
}

/// The admin-editable configuration of the `Checkout` order class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderClass {
    /// The template, e.g. `CO-<DD><MM><YYYY>-<Number>`.
    pub format: String,
    /// Minimum digits of `<Number>` (zero-padded), 1..=18.
    pub digit_length: u8,
    /// The number the next checkout receives.
    pub next_number: i64,
    /// IANA time zone whose calendar date goes into the number (the store's zone).
    pub time_zone: String,
}

impl Default for OrderClass {
    fn default() -> Self {
        OrderClass {
            format: DEFAULT_FORMAT.to_owned(),
            digit_length: DEFAULT_DIGIT_LENGTH,
            next_number: 1,
            time_zone: "UTC".to_owned(),
        }
    }
}

/// A partial admin edit of the order class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderClassUpdate {
    /// New template.
    #[serde(default)]
    pub format: Option<String>,
    /// New digit length (wide so out-of-range values get a clear message).
    #[serde(default)]
    pub digit_length: Option<i64>,
    /// New next number; may only move forward.
    #[serde(default)]
    pub next_number: Option<i64>,
    /// New IANA time zone name.
    #[serde(default)]
    pub time_zone: Option<String>,
}

impl OrderClass {
    /// Checks that every field is usable.
    pub fn validate(&self) -> Result<(), Rejection> {
        NumberFormat::parse(&self.format)?;
        parse_time_zone(&self.time_zone)?;
        if !(1..=MAX_DIGIT_LENGTH).contains(&self.digit_length) {
            return Err(Rejection::with_message(
                ErrorCode::ValidationFailed,
                format!("digit_length must be between 1 and {MAX_DIGIT_LENGTH}"),
            ));
        }
        if self.next_number < 1 {
            return Err(Rejection::with_message(
                ErrorCode::ValidationFailed,
                "next_number must be at least 1",
            ));
        }
        Ok(())
    }

    /// The class with an admin edit applied. The next number may only move forward (a
    /// smaller value could hand out a number twice); any invalid field refuses the whole
    /// edit and the stored class stays as it was.
    pub fn apply(&self, update: &OrderClassUpdate) -> Result<OrderClass, Rejection> {
        let digit_length = match update.digit_length {
            Some(n) if (1..=i64::from(MAX_DIGIT_LENGTH)).contains(&n) => n as u8,
            Some(n) => {
                return Err(Rejection::with_message(
                    ErrorCode::ValidationFailed,
                    format!("digit_length must be between 1 and {MAX_DIGIT_LENGTH}; got {n}"),
                ))
            }
            None => self.digit_length,
        };
        let next_number = match update.next_number {
            Some(n) if n < self.next_number => {
                return Err(Rejection::with_message(
                    ErrorCode::ValidationFailed,
                    format!(
                        "next_number may only move forward: it is {} and {n} was asked",
                        self.next_number
                    ),
                ))
            }
            // What an admin may set is bounded; the counter itself may grow past it by
            // issuing numbers (an i64 has room for a thousand times more) without
            // blocking later edits of the other fields.
            Some(n) if n > MAX_NUMBER && n != self.next_number => {
                return Err(Rejection::with_message(
                    ErrorCode::ValidationFailed,
                    format!("next_number must be between 1 and {MAX_NUMBER}"),
                ))
            }
            Some(n) => n,
            None => self.next_number,
        };
        let next = OrderClass {
            format: update.format.clone().unwrap_or_else(|| self.format.clone()),
            digit_length,
            next_number,
            time_zone: update
                .time_zone
                .clone()
                .unwrap_or_else(|| self.time_zone.clone()),
        };
        next.validate()?;
        Ok(next)
    }

    /// Renders the checkout number `number` for a session started at `started_at`. The
    /// date is the start date in the class's time zone, so a checkout started at 23:30
    /// UTC in Asia/Tokyo carries the next day's date.
    pub fn render(&self, number: i64, started_at: DateTime<Utc>) -> Result<String, Rejection> {
        let format = NumberFormat::parse(&self.format)?;
        let date = local_date(started_at, parse_time_zone(&self.time_zone)?);
        Ok(format.render(date, self.digit_length, number))
    }
}

/// The calendar date of `instant` in `zone`.
pub fn local_date(instant: DateTime<Utc>, zone: Tz) -> NaiveDate {
    instant.with_timezone(&zone).date_naive()
}

/// Parses an IANA time zone name, refusing unknown names with a clear message.
pub fn parse_time_zone(name: &str) -> Result<Tz, Rejection> {
    name.parse::<Tz>().map_err(|_| {
        Rejection::with_message(
            ErrorCode::ValidationFailed,
            format!("unknown time zone {name:?}; use an IANA name such as Europe/Berlin"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn default_format_renders_like_the_spec() {
        let class = OrderClass::default();
        assert_eq!(
            class.render(1, at("2026-11-22T10:00:00Z")).unwrap(),
            "CO-22112026-000001"
        );
        assert_eq!(
            class.render(999_999, at("2026-11-22T10:00:00Z")).unwrap(),
            "CO-22112026-999999"
        );
    }

    #[test]
    fn numbers_widen_past_the_digit_length_and_never_wrap() {
        let class = OrderClass::default();
        let t = at("2026-03-05T00:00:00Z");
        assert_eq!(class.render(999_999, t).unwrap(), "CO-05032026-999999");
        assert_eq!(class.render(1_000_000, t).unwrap(), "CO-05032026-1000000");
        assert_eq!(
            class.render(123_456_789_012, t).unwrap(),
            "CO-05032026-123456789012"
        );
    }

    #[test]
    fn date_is_taken_in_the_store_time_zone_across_midnight() {
        let tokyo = OrderClass {
            time_zone: "Asia/Tokyo".into(),
            ..OrderClass::default()
        };
        // 14:59:59 UTC is 23:59:59 in Tokyo; one second later it is the next day there.
        assert_eq!(
            tokyo.render(7, at("2026-12-31T14:59:59Z")).unwrap(),
            "CO-31122026-000007"
        );
        assert_eq!(
            tokyo.render(8, at("2026-12-31T15:00:00Z")).unwrap(),
            "CO-01012027-000008"
        );
        // West of UTC: 02:00 UTC on 1 March is still 28 February in New York.
        let ny = OrderClass {
            time_zone: "America/New_York".into(),
            ..OrderClass::default()
        };
        assert_eq!(
            ny.render(9, at("2026-03-01T02:00:00Z")).unwrap(),
            "CO-28022026-000009"
        );
    }

    #[test]
    fn templates_are_parsed_strictly() {
        assert!(NumberFormat::parse("CO-<Number>").is_ok());
        assert!(NumberFormat::parse("<YYYY>/<MM>/<DD>#<Number>").is_ok());
        for bad in [
            "",
            "CO-<DD>",
            "<Number><Number>",
            "CO-<Numbr>",
            "CO-<Number",
            "CO->",
            "CO-\n<Number>",
        ] {
            let err = NumberFormat::parse(bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::ValidationFailed, "{bad:?}");
        }
    }

    #[test]
    fn admin_edits_move_forward_only_and_refuse_bad_values_whole() {
        let class = OrderClass {
            next_number: 50,
            ..OrderClass::default()
        };
        let back = OrderClassUpdate {
            next_number: Some(49),
            ..Default::default()
        };
        assert_eq!(
            class.apply(&back).unwrap_err().code,
            ErrorCode::ValidationFailed
        );
        let forward = OrderClassUpdate {
            next_number: Some(1000),
            digit_length: Some(8),
            format: Some("BB-<YYYY>-<Number>".into()),
            time_zone: Some("Europe/Berlin".into()),
        };
        let next = class.apply(&forward).unwrap();
        assert_eq!(
            next.render(1000, at("2026-06-01T12:00:00Z")).unwrap(),
            "BB-2026-00001000"
        );
        for bad in [
            OrderClassUpdate {
                digit_length: Some(0),
                ..Default::default()
            },
            OrderClassUpdate {
                digit_length: Some(19),
                ..Default::default()
            },
            OrderClassUpdate {
                time_zone: Some("Mars/Olympus".into()),
                ..Default::default()
            },
            OrderClassUpdate {
                format: Some("no number".into()),
                next_number: Some(60),
                ..Default::default()
            },
        ] {
            assert!(class.apply(&bad).is_err(), "{bad:?}");
        }
        // The next number stays within what the database's counter can hold.
        for too_far in [MAX_NUMBER + 1, i64::MAX] {
            let refused = class
                .apply(&OrderClassUpdate {
                    next_number: Some(too_far),
                    ..Default::default()
                })
                .unwrap_err();
            assert_eq!(refused.code, ErrorCode::ValidationFailed);
        }
        assert!(class
            .apply(&OrderClassUpdate {
                next_number: Some(MAX_NUMBER),
                ..Default::default()
            })
            .is_ok());
        // Numbers issued past the bound do not block editing the other fields.
        let grown = OrderClass {
            next_number: MAX_NUMBER + 3,
            ..OrderClass::default()
        };
        assert!(grown
            .apply(&OrderClassUpdate {
                time_zone: Some("UTC".into()),
                ..Default::default()
            })
            .is_ok());
    }
}

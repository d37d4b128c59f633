//! Timestamps on the wire: RFC 3339 in UTC (`2026-11-22T07:00:00.123Z`), written exactly
//! as chrono writes them and read with chrono's strict RFC 3339 parser.
//!
//! chrono's own `Deserialize` accepts a relaxed superset through its general format
//! parser, which would double the date-time code in the browser module; the contract
//! only ever sends RFC 3339, so the fields the browser reads use these functions
//! (`#[serde(with = "crate::time::rfc3339")]`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Parses one RFC 3339 timestamp (any offset; the result is in UTC).
pub fn parse(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc))
}

/// [`parse`] with a serde error that names the text.
fn parse_field<E: serde::de::Error>(text: &str) -> Result<DateTime<Utc>, E> {
    parse(text).map_err(|e| E::custom(format_args!("{text:?} is not an RFC 3339 time: {e}")))
}

/// `#[serde(with = "…::rfc3339")]` for a `DateTime<Utc>`.
pub mod rfc3339 {
    use super::*;

    /// As chrono writes it.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        t.serialize(s)
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
        t.serialize(s)
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
}

//! Postal addresses (CONTRACT §18): the shipping address a checkout is delivered to and
//! taxed by, and the billing address. Bounded and free of control characters, so what the
//! shop's ERP and label printer get is printable; the country is an ISO 3166-1 alpha-2
//! code.

use serde::{Deserialize, Serialize};

use crate::{
    catalog::iso,
    error::{FieldError, Rejection},
};

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Who receives it (a person or a company).
    pub name: String,
    /// Street and number.
    pub line1: String,
    /// More of the street address (floor, c/o).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// Town or city.
    pub city: String,
    /// Postal code.
    pub postal_code: String,
    /// State, province or region, where the country uses one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2 country code, upper case.
    pub country: String,
    /// A phone number for the carrier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// Whether `c` may appear in text a shop prints: no control characters (C0, DEL, C1),
/// no line or paragraph separators, no bidirectional embeddings, overrides or isolates
/// (they make a label read other than it is stored), no zero-width space, word joiner,
/// byte order mark or tag characters, no blank "filler" letters (Hangul fillers, the
/// Mongolian vowel separator) or invisible operators, and no noncharacters. (Zero-width
/// joiners and non-joiners, the left-to-right, right-to-left and Arabic letter marks,
/// the soft hyphen and the combining grapheme joiner stay: scripts need them; a text
/// of nothing else is blank, [`text_problem`].)
pub fn printable(c: char) -> bool {
    let n = u32::from(c);
    !(c.is_control()
        || matches!(
            n,
            0x2028 | 0x2029 | 0x200B | 0x2060 | 0xFEFF | 0x115F | 0x1160 | 0x3164 | 0xFFA0 | 0x180E
        )
        || (0x2061..=0x2064).contains(&n)
        || (0x202A..=0x202E).contains(&n)
        || (0x2066..=0x2069).contains(&n)
        || (0xFFF9..=0xFFFB).contains(&n)
        || (0xE0000..=0xE007F).contains(&n)
        || (0xFDD0..=0xFDEF).contains(&n)
        || n & 0xFFFE == 0xFFFE)
}

/// Whether `c` shows nothing: white space and the invisible marks [`printable`]
/// lets through.
fn invisible(c: char) -> bool {
    c.is_whitespace() || matches!(u32::from(c), 0x200C..=0x200F | 0x00AD | 0x034F | 0x061C)
}

/// A problem with one text field, if it has one: blank when required, longer than `max`
/// characters, or holding a character that is not [`printable`].
pub fn text_problem(value: &str, required: bool, max: usize) -> Option<String> {
    if required && value.chars().all(invisible) {
        return Some("must not be blank".to_owned());
    }
    if value.chars().count() > max {
        return Some(format!("must be at most {max} characters"));
    }
    if !value.chars().all(printable) {
        return Some(
            "must not contain control, invisible or direction-changing characters, or line breaks"
                .to_owned(),
        );
    }
    None
}

/// The fields of an address: (name, required).
const FIELDS: [(&str, bool); 8] = [
    ("name", true),
    ("line1", true),
    ("line2", false),
    ("city", true),
    ("postal_code", true),
    ("region", false),
    ("country", true),
    ("phone", false),
];

impl Address {
    /// The address in a request body, checked field by field: a field missing, unknown
    /// or not a string is listed at its place (`errors`) with every other problem of
    /// [`Address::normalized`]; the address checked and trimmed otherwise.
    pub fn from_json(body: &serde_json::Value) -> Result<Address, Rejection> {
        let refused =
            |errors| Rejection::invalid_fields("The address is not complete or not valid.", errors);
        let Some(object) = body.as_object() else {
            return Err(refused(vec![FieldError::new("", "must be an object")]));
        };
        let mut errors = Vec::new();
        for key in object.keys() {
            if !FIELDS.iter().any(|(f, _)| f == key) {
                let shown = crate::detail::Quoted(key);
                errors.push(FieldError::new(
                    format!("/{}", key.replace('~', "~0").replace('/', "~1")),
                    format!("unknown field {shown}"),
                ));
            }
        }
        for (field, required) in FIELDS {
            match object.get(field) {
                Some(serde_json::Value::String(_)) => {}
                None | Some(serde_json::Value::Null) if !required => {}
                None | Some(serde_json::Value::Null) => {
                    errors.push(FieldError::new(format!("/{field}"), "is required"));
                }
                Some(_) => errors.push(FieldError::new(format!("/{field}"), "must be a string")),
            }
        }
        if !errors.is_empty() {
            return Err(refused(errors));
        }
        let text = |f: &str| {
            object
                .get(f)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        Address {
            name: text("name").unwrap_or_default(),
            line1: text("line1").unwrap_or_default(),
            line2: text("line2"),
            city: text("city").unwrap_or_default(),
            postal_code: text("postal_code").unwrap_or_default(),
            region: text("region"),
            country: text("country").unwrap_or_default(),
            phone: text("phone"),
        }
        .normalized()
    }

    /// The address with surrounding blanks trimmed and the country upper-cased, or
    /// `VALIDATION_FAILED` listing each field's problem (`errors`, one per field).
    pub fn normalized(&self) -> Result<Address, Rejection> {
        let trim = |s: &str| s.trim().to_owned();
        let opt = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let address = Address {
            name: trim(&self.name),
            line1: trim(&self.line1),
            line2: opt(&self.line2),
            city: trim(&self.city),
            postal_code: trim(&self.postal_code),
            region: opt(&self.region),
            country: self.country.trim().to_ascii_uppercase(),
            phone: opt(&self.phone),
        };
        let mut errors = Vec::new();
        let mut check = |field: &str, value: Option<&str>, required: bool, max: usize| {
            if let Some(problem) = text_problem(value.unwrap_or(""), required, max) {
                errors.push(FieldError::new(format!("/{field}"), problem));
            }
        };
        check("name", Some(&address.name), true, 100);
        check("line1", Some(&address.line1), true, 200);
        check("line2", address.line2.as_deref(), false, 200);
        check("city", Some(&address.city), true, 100);
        check("postal_code", Some(&address.postal_code), true, 16);
        check("region", address.region.as_deref(), false, 100);
        check("phone", address.phone.as_deref(), false, 32);
        if let Some(phone) = &address.phone {
            if !phone
                .chars()
                .all(|c| c.is_ascii_digit() || " +-()./".contains(c))
            {
                errors.push(FieldError::new(
                    "/phone",
                    "may hold digits, spaces and + - ( ) . / only",
                ));
            }
        }
        if !iso::is_country(&address.country) {
            errors.push(FieldError::new(
                "/country",
                "must be an ISO 3166-1 alpha-2 country code such as DE",
            ));
        }
        if errors.is_empty() {
            Ok(address)
        } else {
            Err(Rejection::invalid_fields(
                "The address is not complete or not valid.",
                errors,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    pub(crate) fn berlin() -> Address {
        Address {
            name: " Erika Mustermann ".into(),
            line1: "Heidestraße 17".into(),
            line2: Some("  ".into()),
            city: "Köln".into(),
            postal_code: "51147".into(),
            region: None,
            country: "de".into(),
            phone: Some("+49 221 1234567".into()),
        }
    }

    #[test]
    fn addresses_are_trimmed_and_checked_field_by_field() {
        let ok = berlin().normalized().unwrap();
        assert_eq!(ok.name, "Erika Mustermann");
        assert_eq!(ok.country, "DE");
        assert_eq!(ok.line2, None);
        let mut bad = berlin();
        bad.name = "Erika\u{0}".into();
        bad.city = "x".repeat(10_000);
        bad.line1 = "a\u{2028}b".into();
        bad.country = "XX".into();
        bad.phone = Some("call me".into());
        let refused = bad.normalized().unwrap_err();
        assert_eq!(refused.code, ErrorCode::ValidationFailed);
        let pointers: Vec<&str> = refused.errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/name", "/line1", "/city", "/phone", "/country"]);
        let mut blank = berlin();
        blank.postal_code = " ".into();
        assert_eq!(
            blank.normalized().unwrap_err().errors[0].pointer,
            "/postal_code"
        );
    }
}

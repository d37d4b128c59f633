//! The problems of a catalog document being checked ([`super::check`]): each at its
//! JSON Pointer, and the walk over the document's lists that finds them.

use std::collections::HashSet;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::iso;
use crate::{
    address::text_problem,
    error::{FieldError, Rejection},
    money::{Minor, FULL_BPS},
    snapshot::MAX_UNIT_PRICE,
};

/// The problems found so far.
pub(crate) struct Problems(pub(crate) Vec<FieldError>);

impl Problems {
    /// `VALIDATION_FAILED` listing the problems (at most [`super::MAX_ERRORS`]; the
    /// message says how many there were): "`what` has N problem(s); `outcome`."
    pub(crate) fn refusal(self, what: &str, outcome: &str) -> Rejection {
        let count = self.0.len();
        let mut errors = self.0;
        errors.truncate(super::MAX_ERRORS);
        let shown = if count > super::MAX_ERRORS {
            format!(" (the first {} are listed)", super::MAX_ERRORS)
        } else {
            String::new()
        };
        Rejection::invalid_fields(
            format!("{what} has {count} problem(s){shown}; {outcome}."),
            errors,
        )
    }

    pub(crate) fn add(&mut self, pointer: impl Into<String>, detail: impl Into<String>) {
        self.0.push(FieldError::new(pointer, detail));
    }

    pub(crate) fn unknown_fields(
        &mut self,
        at: &str,
        object: &Map<String, Value>,
        allowed: &[&str],
    ) {
        for key in object.keys() {
            if !allowed.contains(&key.as_str()) {
                self.add(format!("{at}/{}", escape(key)), "unknown field");
            }
        }
    }

    pub(crate) fn text(&mut self, at: String, value: &str, required: bool, max: usize) {
        if let Some(problem) = text_problem(value, required, max) {
            self.add(at, problem);
        }
    }

    pub(crate) fn id(&mut self, at: String, value: &str, max: usize) {
        let ok = (1..=max).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !ok {
            self.add(at, format!("must be 1 to {max} of A-Z a-z 0-9 . _ -"));
        }
    }

    pub(crate) fn money(&mut self, at: String, amount: Minor) {
        if !(0..=MAX_UNIT_PRICE).contains(&amount) {
            self.add(at, format!("must be 0 to {MAX_UNIT_PRICE} minor units"));
        }
    }

    pub(crate) fn bps(&mut self, at: String, bps: u32) {
        if bps > FULL_BPS {
            self.add(at, format!("must be 0 to {FULL_BPS} basis points (100 %)"));
        }
    }

    /// The document's `currency`: an ISO 4217 code.
    pub(crate) fn currency(&mut self, doc: &Map<String, Value>) -> Option<String> {
        match doc.get("currency").and_then(Value::as_str) {
            Some(c) if iso::currency_digits(c).is_some() => Some(c.to_owned()),
            _ => {
                self.add("/currency", "must be an ISO 4217 currency code such as EUR");
                None
            }
        }
    }

    /// The document's `prices_include_tax`: `true` or `false` (`absent` when absent).
    pub(crate) fn include_tax(
        &mut self,
        doc: &Map<String, Value>,
        absent: Option<bool>,
    ) -> Option<bool> {
        match doc.get("prices_include_tax") {
            None if absent.is_some() => absent,
            Some(Value::Bool(b)) => Some(*b),
            _ => {
                self.add("/prices_include_tax", "must be true or false");
                None
            }
        }
    }

    pub(crate) fn country(&mut self, at: String, code: &str) {
        if !iso::is_country(code) {
            self.add(
                at,
                "must be an ISO 3166-1 alpha-2 country code (upper case)",
            );
        }
    }
}

/// RFC 6901: `~` and `/` in a key are escaped.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The elements of list `name` of the document, each parsed on its own (so one bad
/// element does not hide the others' problems), with its index.
pub(crate) fn list<T: DeserializeOwned>(
    problems: &mut Problems,
    doc: &Map<String, Value>,
    name: &str,
    allowed: &[&str],
    max: usize,
    nested: fn(&mut Problems, &str, &Map<String, Value>),
) -> Vec<(usize, T)> {
    let mut out = Vec::new();
    let Some(value) = doc.get(name) else {
        return out;
    };
    let Some(items) = value.as_array() else {
        problems.add(format!("/{name}"), "must be an array");
        return out;
    };
    if items.len() > max {
        problems.add(format!("/{name}"), format!("at most {max} entries"));
        return out;
    }
    for (i, item) in items.iter().enumerate() {
        let at = format!("/{name}/{i}");
        let Some(object) = item.as_object() else {
            problems.add(at, "must be an object");
            continue;
        };
        problems.unknown_fields(&at, object, allowed);
        nested(problems, &at, object);
        match serde_path_to_error::deserialize::<_, T>(item) {
            Ok(parsed) => out.push((i, parsed)),
            Err(e) => {
                // At the field that is wrong (`/lines/0/unit_price`), in plain words.
                let path = e.path().to_string();
                let at = match path.as_str() {
                    "." | "" => at,
                    field => format!("{at}/{}", escape(field).replace('.', "/")),
                };
                problems.add(at, plain(&e.into_inner().to_string()));
            }
        }
    }
    out
}

/// A serde message in the words of the document: "must be an integer" rather than
/// "invalid type: floating point `1.5`, expected i64".
fn plain(message: &str) -> String {
    let expected = message.rsplit("expected ").next().unwrap_or(message);
    let what = match expected {
        e if e.starts_with("i64") || e.starts_with("u32") || e.starts_with("i32") => {
            "must be a whole number"
        }
        e if e.starts_with("a string") => "must be a string",
        e if e.starts_with("a boolean") => "must be true or false",
        e if e.starts_with("a sequence") => "must be an array",
        _ => return message.to_owned(),
    };
    let range = message.starts_with("invalid value");
    if range {
        format!("{what} in range ({message})")
    } else {
        what.to_owned()
    }
}

/// A shipping method's `countries` (at `/shipping_methods/{i}/countries`): at least
/// one, each a known code, each once.
pub(crate) fn countries(p: &mut Problems, i: usize, countries: &[String]) {
    if countries.is_empty() {
        p.add(
            format!("/shipping_methods/{i}/countries"),
            "must name at least one country (leave it out for everywhere)",
        );
    }
    for (k, c) in countries.iter().enumerate() {
        p.country(format!("/shipping_methods/{i}/countries/{k}"), c);
        if countries[..k].contains(c) {
            p.add(
                format!("/shipping_methods/{i}/countries/{k}"),
                "this country appears more than once",
            );
        }
    }
}

/// The payment methods: an id and a name each, every id once.
pub(crate) fn payment_methods(
    p: &mut Problems,
    payment: &[(usize, crate::snapshot::PaymentMethod)],
) {
    for (i, method) in payment {
        p.id(format!("/payment_methods/{i}/id"), &method.id, 64);
        p.text(
            format!("/payment_methods/{i}/name"),
            &method.name,
            true,
            200,
        );
    }
    unique(
        p,
        payment
            .iter()
            .map(|(i, x)| (format!("/payment_methods/{i}/id"), x.id.as_str())),
        "this payment method id",
    );
}

pub(crate) fn no_nested(_: &mut Problems, _: &str, _: &Map<String, Value>) {}

/// Unknown fields of a tagged rule or discount, by its `kind`.
fn tagged(problems: &mut Problems, at: &str, object: &Map<String, Value>, field: &str) {
    let Some(inner) = object.get(field).and_then(Value::as_object) else {
        return;
    };
    let allowed: &[&str] = match inner.get("kind").and_then(Value::as_str) {
        Some("percent_off_sku") => &["kind", "sku", "bps"],
        Some("percent_off_order") => &["kind", "min_subtotal", "bps"],
        Some("percent_off") => &["kind", "bps"],
        Some("amount_off") => &["kind", "amount"],
        _ => return,
    };
    problems.unknown_fields(&format!("{at}/{field}"), inner, allowed);
}

pub(crate) fn rule_fields(problems: &mut Problems, at: &str, object: &Map<String, Value>) {
    tagged(problems, at, object, "rule");
}

pub(crate) fn discount_fields(problems: &mut Problems, at: &str, object: &Map<String, Value>) {
    tagged(problems, at, object, "discount");
}

/// Each value once: the pointer of every repeat is reported.
pub(crate) fn unique<'a>(
    problems: &mut Problems,
    items: impl Iterator<Item = (String, &'a str)>,
    what: &str,
) {
    let mut seen = HashSet::new();
    for (at, value) in items {
        if !seen.insert(value) {
            problems.add(at, format!("{what} appears more than once"));
        }
    }
}

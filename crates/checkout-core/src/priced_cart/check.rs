//! Checking a priced cart (CONTRACT §24) field by field: every problem at its JSON
//! Pointer, then the cart as a whole (its total, whether it can be paid).

use serde_json::{Map, Value};

use super::{
    PricedCart, PricedCustomer, PricedLine, PricedShipping, MAX_CART_TOTAL, MAX_CUSTOMER_ID,
    MAX_METADATA_KEY, MAX_METADATA_KEYS, MAX_METADATA_VALUE, MAX_METHODS, MAX_URL,
};
use crate::{
    catalog::problems::{countries, list, no_nested, payment_methods, unique, Problems},
    money::BasisPoints,
    snapshot::{PaymentMethod, MAX_LINES, MAX_QUANTITY},
};

const TOP: &[&str] = &[
    "customer",
    "currency",
    "prices_include_tax",
    "lines",
    "shipping_methods",
    "payment_methods",
    "metadata",
    "success_url",
    "cancel_url",
];
const CUSTOMER: &[&str] = &["id", "email"];
const LINE: &[&str] = &["sku", "name", "quantity", "unit_price", "tax_rate_bps"];
const SHIPPING: &[&str] = &[
    "id",
    "name",
    "price",
    "tax_rate_bps",
    "free_from",
    "countries",
];
const PAYMENT: &[&str] = &["id", "name"];

pub(super) fn check(p: &mut Problems, value: &Value) -> Option<PricedCart> {
    let Some(doc) = value.as_object() else {
        p.add("", "must be a JSON object");
        return None;
    };
    p.unknown_fields("", doc, TOP);
    let customer = customer(p, doc.get("customer"));
    let currency = p.currency(doc);
    let include_tax = p.include_tax(doc, None);
    let lines: Vec<(usize, PricedLine)> = list(p, doc, "lines", LINE, MAX_LINES, no_nested);
    let shipping: Vec<(usize, PricedShipping)> =
        list(p, doc, "shipping_methods", SHIPPING, MAX_METHODS, no_nested);
    let payment: Vec<(usize, PaymentMethod)> =
        list(p, doc, "payment_methods", PAYMENT, MAX_METHODS, no_nested);
    for (name, found) in [
        ("lines", lines.len()),
        ("shipping_methods", shipping.len()),
        ("payment_methods", payment.len()),
    ] {
        match doc.get(name) {
            None => p.add(format!("/{name}"), "is required"),
            Some(Value::Array(a)) if a.is_empty() && found == 0 => {
                p.add(format!("/{name}"), "must hold at least one entry");
            }
            Some(_) => {}
        }
    }
    for (i, line) in &lines {
        let at = |f: &str| format!("/lines/{i}/{f}");
        p.id(at("sku"), &line.sku, 64);
        p.text(at("name"), &line.name, true, 200);
        if crate::snapshot::line_quantity(line.quantity).is_none() {
            p.add(at("quantity"), format!("must be 1 to {MAX_QUANTITY}"));
        }
        p.money(at("unit_price"), line.unit_price);
        rate(p, at("tax_rate_bps"), line.tax_rate_bps);
    }
    unique(
        p,
        lines
            .iter()
            .map(|(i, l)| (format!("/lines/{i}/sku"), l.sku.as_str())),
        "this SKU",
    );
    for (i, method) in &shipping {
        let at = |f: &str| format!("/shipping_methods/{i}/{f}");
        p.id(at("id"), &method.id, 64);
        p.text(at("name"), &method.name, true, 200);
        p.money(at("price"), method.price);
        rate(p, at("tax_rate_bps"), method.tax_rate_bps);
        if let Some(free_from) = method.free_from {
            p.money(at("free_from"), free_from);
        }
        if let Some(list) = &method.countries {
            countries(p, *i, list);
        }
    }
    unique(
        p,
        shipping
            .iter()
            .map(|(i, m)| (format!("/shipping_methods/{i}/id"), m.id.as_str())),
        "this id",
    );
    payment_methods(p, &payment);
    payable(p, &lines, &shipping, &payment);
    let metadata = metadata(p, doc.get("metadata"));
    let success_url = url(p, doc, "success_url");
    let cancel_url = url(p, doc, "cancel_url");
    Some(PricedCart {
        customer: customer?,
        currency: currency?,
        prices_include_tax: include_tax?,
        lines: lines.into_iter().map(|(_, l)| l).collect(),
        shipping_methods: shipping.into_iter().map(|(_, m)| m).collect(),
        payment_methods: payment.into_iter().map(|(_, m)| m).collect(),
        metadata,
        success_url,
        cancel_url,
    })
}

/// A return address to the shop: absolute `https://` (or `http://`, for a shop on a
/// private network or in development), printable, no spaces, at most [`MAX_URL`]. The
/// storefront links to it and never runs it, so no other scheme is taken.
fn url(p: &mut Problems, doc: &Map<String, Value>, name: &str) -> Option<String> {
    let value = doc.get(name)?;
    let Some(url) = value.as_str() else {
        if !value.is_null() {
            p.add(format!("/{name}"), "must be a string");
        }
        return None;
    };
    let ok = crate::payment::action::is_web_address(url, MAX_URL);
    if !ok {
        p.add(
            format!("/{name}"),
            format!("must be an absolute https:// or http:// address of at most {MAX_URL} characters without spaces or credentials"),
        );
        return None;
    }
    Some(url.to_owned())
}

/// The cart as a whole: its merchandise within [`MAX_CART_TOTAL`], and an order that
/// may cost nothing (free merchandise, free shipping) not offered by card alone: a card
/// is never charged nothing.
fn payable(
    p: &mut Problems,
    lines: &[(usize, PricedLine)],
    shipping: &[(usize, PricedShipping)],
    payment: &[(usize, PaymentMethod)],
) {
    let merchandise = lines.iter().fold(0i128, |sum, (_, l)| {
        sum + i128::from(l.unit_price.max(0)) * i128::from(l.quantity.clamp(0, 999))
    });
    if merchandise > i128::from(MAX_CART_TOTAL) {
        p.add(
            "/lines",
            format!("the lines may cost at most {MAX_CART_TOTAL} minor units in all"),
        );
    }
    let free_shipping = shipping
        .iter()
        .any(|(_, m)| m.price == 0 || m.free_from.is_some_and(|f| i128::from(f) <= merchandise));
    let deferred = payment
        .iter()
        .any(|(_, m)| m.id != crate::requirements::CARD);
    if merchandise == 0 && free_shipping && !payment.is_empty() && !deferred {
        p.add(
            "/payment_methods",
            "the order may cost nothing, and a card is never charged nothing: offer a deferred method such as invoice",
        );
    }
}

fn rate(p: &mut Problems, at: String, bps: i64) {
    match BasisPoints::try_from(bps) {
        Ok(bps) => p.bps(at, bps),
        Err(_) => p.bps(at, BasisPoints::MAX),
    }
}

fn customer(p: &mut Problems, value: Option<&Value>) -> Option<PricedCustomer> {
    let Some(object) = value.and_then(Value::as_object) else {
        p.add("/customer", "must be an object with the shop's customer id");
        return None;
    };
    p.unknown_fields("/customer", object, CUSTOMER);
    let id = match object.get("id").and_then(Value::as_str) {
        Some(id) => {
            p.text("/customer/id".into(), id, true, MAX_CUSTOMER_ID);
            id.to_owned()
        }
        None => {
            p.add("/customer/id", "must be the shop's id of the customer");
            String::new()
        }
    };
    let email = match object.get("email") {
        None | Some(Value::Null) => None,
        Some(Value::String(email)) => {
            p.text("/customer/email".into(), email, true, 254);
            let (local, domain) = email.rsplit_once('@').unwrap_or_default();
            if local.is_empty() || !domain.contains('.') || email.contains(char::is_whitespace) {
                p.add("/customer/email", "must be an e-mail address");
            }
            Some(email.clone())
        }
        Some(_) => {
            p.add("/customer/email", "must be a string");
            None
        }
    };
    Some(PricedCustomer { id, email })
}

fn metadata(p: &mut Problems, value: Option<&Value>) -> Map<String, Value> {
    let object = match value {
        None | Some(Value::Null) => return Map::new(),
        Some(Value::Object(object)) => object,
        Some(_) => {
            p.add("/metadata", "must be an object of strings");
            return Map::new();
        }
    };
    if object.len() > MAX_METADATA_KEYS {
        p.add(
            "/metadata",
            format!("at most {MAX_METADATA_KEYS} keys ({} sent)", object.len()),
        );
        return Map::new();
    }
    for (key, value) in object {
        let at = format!("/metadata/{}", key.replace('~', "~0").replace('/', "~1"));
        if let Some(problem) = crate::address::text_problem(key, true, MAX_METADATA_KEY) {
            p.add(at.clone(), format!("the key {problem}"));
        }
        match value {
            Value::String(text) => p.text(at, text, false, MAX_METADATA_VALUE),
            _ => p.add(at, "must be a string"),
        }
    }
    object.clone()
}

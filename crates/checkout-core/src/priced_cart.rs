//! Checkouts from the shop's own priced cart (CONTRACT §24): a shop that keeps its cart
//! and prices in its own platform sends them server to server, as shops do with Stripe
//! Checkout. This module checks that body — every problem at its JSON Pointer, as a
//! catalog is checked — and turns it into the [`PricingInput`] every checkout is priced
//! from, so a priced cart and a catalog price the same lines the same way: one pricing
//! function ([`crate::snapshot::Snapshot::capture`]) with §17's rounding.
//!
//! The shop gives each line and shipping method its tax rate; the rate applies wherever
//! the order goes (the shop's platform decided it). Discounts are the shop's too: its
//! unit prices carry them, and such a checkout takes no voucher.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{
    catalog::problems::{list, no_nested, unique, Problems},
    error::Rejection,
    money::{BasisPoints, Minor},
    offer::{Offer, OfferedProduct},
    snapshot::{
        CartLine, OwnOffer, PaymentMethod, PricingInput, ShippingMethod, TaxRate, MAX_LINES,
        MAX_QUANTITY,
    },
};

/// Most shipping or payment methods one priced cart may offer.
pub const MAX_METHODS: usize = 20;
/// Most metadata keys.
pub const MAX_METADATA_KEYS: usize = 50;
/// Longest metadata key, in characters.
pub const MAX_METADATA_KEY: usize = 40;
/// Longest metadata value, in characters.
pub const MAX_METADATA_VALUE: usize = 500;
/// Longest customer id, in characters.
pub const MAX_CUSTOMER_ID: usize = 200;

const TOP: &[&str] = &[
    "customer",
    "currency",
    "prices_include_tax",
    "lines",
    "shipping_methods",
    "payment_methods",
    "metadata",
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

/// The shop's customer the checkout is for: the same id as their token's `sub`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedCustomer {
    /// The shop's id of the customer.
    pub id: String,
    /// Their e-mail, when the shop sends it.
    pub email: Option<String>,
}

/// A line as the shop priced it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PricedLine {
    /// The shop's SKU, unique in the cart.
    pub sku: String,
    /// What the shopper reads.
    pub name: String,
    /// How many (1 to 999).
    pub quantity: i64,
    /// One unit, in minor units, with or without tax as `prices_include_tax` says.
    pub unit_price: Minor,
    /// The line's tax rate, basis points (700 = 7 %).
    pub tax_rate_bps: i64,
}

/// A shipping method as the shop offers it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PricedShipping {
    /// Stable identifier.
    pub id: String,
    /// What the shopper reads.
    pub name: String,
    /// Price in minor units.
    pub price: Minor,
    /// Its tax rate, basis points.
    #[serde(default)]
    pub tax_rate_bps: i64,
    /// Merchandise from which it is free.
    #[serde(default)]
    pub free_from: Option<Minor>,
    /// ISO 3166-1 alpha-2 countries it delivers to; everywhere when absent.
    #[serde(default)]
    pub countries: Option<Vec<String>>,
}

/// A priced cart, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedCart {
    /// Whose checkout it is.
    pub customer: PricedCustomer,
    /// ISO 4217 currency of every amount.
    pub currency: String,
    /// Whether the prices include tax.
    pub prices_include_tax: bool,
    /// The lines.
    pub lines: Vec<PricedLine>,
    /// The shipping methods offered.
    pub shipping_methods: Vec<PricedShipping>,
    /// The payment methods offered.
    pub payment_methods: Vec<PaymentMethod>,
    /// The shop's own strings, carried on the checkout, its order and every order event.
    pub metadata: Map<String, Value>,
}

/// The tax class of a rate the shop gave (a class per distinct rate).
fn class_of(bps: BasisPoints) -> String {
    format!("rate-{bps}")
}

impl PricedCart {
    /// The body in `value`, checked whole; `VALIDATION_FAILED` listing every problem
    /// (at most [`crate::catalog::MAX_ERRORS`]) otherwise.
    pub fn parse(value: &Value) -> Result<PricedCart, Rejection> {
        let mut p = Problems(Vec::new());
        match check(&mut p, value) {
            Some(cart) if p.0.is_empty() => Ok(cart),
            _ => Err(p.refusal("The cart", "no checkout was made")),
        }
    }

    /// What the checkout is priced from: the lines at the shop's prices, a tax class per
    /// rate (applying in every country), the shop's methods as the checkout's own offer.
    pub fn pricing_input(&self) -> PricingInput {
        let rate = |bps: i64| BasisPoints::try_from(bps).unwrap_or(BasisPoints::MAX);
        let mut rates = BTreeSet::new();
        let lines = self
            .lines
            .iter()
            .map(|l| {
                rates.insert(rate(l.tax_rate_bps));
                CartLine {
                    sku: l.sku.clone(),
                    name: l.name.clone(),
                    quantity: u32::try_from(l.quantity).unwrap_or(0),
                    unit_price: l.unit_price,
                    tax_class: class_of(rate(l.tax_rate_bps)),
                }
            })
            .collect();
        let shipping_methods = self
            .shipping_methods
            .iter()
            .map(|m| {
                rates.insert(rate(m.tax_rate_bps));
                ShippingMethod {
                    id: m.id.clone(),
                    name: m.name.clone(),
                    price: m.price,
                    free_from: m.free_from,
                    tax_class: Some(class_of(rate(m.tax_rate_bps))),
                    countries: m.countries.clone(),
                }
            })
            .collect();
        PricingInput {
            currency: self.currency.clone(),
            lines,
            tax_rates: rates
                .into_iter()
                .map(|rate_bps| TaxRate {
                    class: class_of(rate_bps),
                    country: None,
                    rate_bps,
                })
                .collect(),
            prices_include_tax: self.prices_include_tax,
            own_offer: Some(OwnOffer {
                shipping_methods,
                payment_methods: self.payment_methods.clone(),
            }),
            ..PricingInput::default()
        }
    }
}

fn check(p: &mut Problems, value: &Value) -> Option<PricedCart> {
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
        for (j, country) in method.countries.iter().flatten().enumerate() {
            p.country(format!("/shipping_methods/{i}/countries/{j}"), country);
        }
    }
    unique(
        p,
        shipping
            .iter()
            .map(|(i, m)| (format!("/shipping_methods/{i}/id"), m.id.as_str())),
        "this id",
    );
    for (i, method) in &payment {
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
            .map(|(i, m)| (format!("/payment_methods/{i}/id"), m.id.as_str())),
        "this id",
    );
    let metadata = metadata(p, doc.get("metadata"));
    Some(PricedCart {
        customer: customer?,
        currency: currency?,
        prices_include_tax: include_tax?,
        lines: lines.into_iter().map(|(_, l)| l).collect(),
        shipping_methods: shipping.into_iter().map(|(_, m)| m).collect(),
        payment_methods: payment.into_iter().map(|(_, m)| m).collect(),
        metadata,
    })
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

impl Offer {
    /// The offer of a checkout made from the shop's own priced cart (CONTRACT §24), or
    /// `None` for a checkout of the catalog: its lines as the products (each at most as
    /// many as the shop sent), its rates, and the methods the shop sent. Nothing else is
    /// on offer: no voucher, no promotion.
    pub fn own(input: &PricingInput) -> Option<Offer> {
        let own = input.own_offer.as_ref()?;
        let products = input
            .lines
            .iter()
            .map(|l| OfferedProduct {
                sku: l.sku.clone(),
                name: l.name.clone(),
                unit_price: l.unit_price,
                tax_class: l.tax_class.clone(),
                max_quantity: l.quantity,
            })
            .collect();
        Some(
            Offer {
                currency: input.currency.clone(),
                prices_include_tax: input.prices_include_tax,
                origin_country: input.origin_country.clone(),
                products,
                tax_rates: input.tax_rates.clone(),
                shipping_methods: own.shipping_methods.clone(),
                payment_methods: own.payment_methods.clone(),
                ..Offer::default()
            }
            .indexed(),
        )
    }
}

/// `VALIDATION_FAILED` for a customer id the server cannot give a checkout to.
pub fn unknown_customer(id: &str) -> Rejection {
    Rejection::invalid_fields(
        "The cart names a customer this shop has no account for.",
        vec![crate::error::FieldError::new(
            "/customer/id",
            format!("no account is named {}", crate::detail::Quoted(id)),
        )],
    )
}

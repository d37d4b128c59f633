//! Checking a catalog document before it is stored: every problem, each at its JSON
//! Pointer, in one `VALIDATION_FAILED` — unknown fields, wrong types, duplicate SKUs,
//! codes and ids, a tax class, SKU or country that nothing defines, money out of range,
//! an unknown currency or country, a class without a rate in a country the catalog
//! taxes or ships to. Nothing here stores anything; a refused document changes nothing.

use std::collections::{BTreeSet, HashSet};

use serde_json::Value;

use super::{
    iso,
    problems::{
        countries, discount_fields, list, no_nested, payment_methods, rule_fields, unique, Problems,
    },
    CatalogDocument, Product,
};
use crate::{
    error::{ErrorCode, Rejection},
    snapshot::{
        PaymentMethod, Promotion, PromotionRule, ShippingMethod, TaxRate, Voucher, VoucherDiscount,
        MAX_QUANTITY,
    },
};

/// Most products a catalog may hold.
pub const MAX_PRODUCTS: usize = 100_000;
/// Most entries of every other list (tax rates, promotions, vouchers, methods).
pub const MAX_LIST: usize = 1_000;
/// Most problems listed in one refusal (the message says how many there were).
pub const MAX_ERRORS: usize = 100;

const TOP: &[&str] = &[
    "currency",
    "prices_include_tax",
    "origin_country",
    "products",
    "tax_rates",
    "promotions",
    "vouchers",
    "shipping_methods",
    "payment_methods",
];
const PRODUCT: &[&str] = &[
    "sku",
    "name",
    "description",
    "category",
    "unit_price",
    "tax_class",
    "max_quantity",
    "active",
];
const TAX_RATE: &[&str] = &["class", "country", "rate_bps"];
const PROMOTION: &[&str] = &["id", "description", "rule"];
const VOUCHER: &[&str] = &["code", "description", "discount", "min_subtotal"];
const SHIPPING: &[&str] = &["id", "name", "price", "free_from", "tax_class", "countries"];
const PAYMENT: &[&str] = &["id", "name"];

impl CatalogDocument {
    /// The document in `value`, checked whole; `VALIDATION_FAILED` listing every problem
    /// (at most [`MAX_ERRORS`], the message says how many) otherwise.
    pub fn parse(value: &Value) -> Result<CatalogDocument, Rejection> {
        let mut p = Problems(Vec::new());
        let doc = check(&mut p, value);
        match doc {
            Some(doc) if p.0.is_empty() => Ok(doc),
            _ => Err(p.refusal("The catalog", "nothing was stored")),
        }
    }

    /// The document in `bytes` (JSON), checked whole: `MALFORMED_REQUEST` when it is not
    /// JSON, else as [`CatalogDocument::parse`].
    pub fn from_json(bytes: &[u8]) -> Result<CatalogDocument, Rejection> {
        let value: Value = crate::strict_json::parse(bytes).map_err(|e| {
            Rejection::with_message(
                ErrorCode::MalformedRequest,
                format!("The catalog is not JSON: {e}."),
            )
        })?;
        CatalogDocument::parse(&value)
    }
}

fn check(p: &mut Problems, value: &Value) -> Option<CatalogDocument> {
    let Some(doc) = value.as_object() else {
        p.add("", "must be a JSON object");
        return None;
    };
    p.unknown_fields("", doc, TOP);
    let currency = p.currency(doc);
    let origin = match doc.get("origin_country").and_then(Value::as_str) {
        Some(c) if iso::is_country(c) => Some(c.to_owned()),
        _ => {
            p.add(
                "/origin_country",
                "must be an ISO 3166-1 alpha-2 country code such as DE",
            );
            None
        }
    };
    let include_tax = p.include_tax(doc, Some(false)).unwrap_or(false);
    let products: Vec<(usize, Product)> =
        list(p, doc, "products", PRODUCT, MAX_PRODUCTS, no_nested);
    let rates: Vec<(usize, TaxRate)> = list(p, doc, "tax_rates", TAX_RATE, MAX_LIST, no_nested);
    let promotions: Vec<(usize, Promotion)> =
        list(p, doc, "promotions", PROMOTION, MAX_LIST, rule_fields);
    let vouchers: Vec<(usize, Voucher)> =
        list(p, doc, "vouchers", VOUCHER, MAX_LIST, discount_fields);
    let shipping: Vec<(usize, ShippingMethod)> =
        list(p, doc, "shipping_methods", SHIPPING, MAX_LIST, no_nested);
    let payment: Vec<(usize, PaymentMethod)> =
        list(p, doc, "payment_methods", PAYMENT, MAX_LIST, no_nested);

    // Tax rates: a known country each, one rate per class and country.
    let mut classes = BTreeSet::new();
    let mut taxed_in = BTreeSet::new();
    for (i, r) in &rates {
        p.id(format!("/tax_rates/{i}/class"), &r.class, 64);
        p.bps(format!("/tax_rates/{i}/rate_bps"), r.rate_bps);
        match &r.country {
            Some(c) => {
                p.country(format!("/tax_rates/{i}/country"), c);
                taxed_in.insert(c.clone());
            }
            None => p.add(format!("/tax_rates/{i}/country"), "is required"),
        }
        classes.insert(r.class.clone());
    }
    let mut pairs = HashSet::new();
    for (i, r) in &rates {
        if !pairs.insert((r.class.as_str(), r.country.as_deref())) {
            p.add(
                format!("/tax_rates/{i}"),
                "a rate for this class and country appears more than once",
            );
        }
    }
    let defined = |class: &str| classes.contains(class);

    // Products.
    for (i, product) in &products {
        let at = |f: &str| format!("/products/{i}/{f}");
        p.id(at("sku"), &product.sku, 64);
        p.text(at("name"), &product.name, true, 200);
        p.text(at("description"), &product.description, false, 2_000);
        p.text(at("category"), &product.category, false, 100);
        p.money(at("unit_price"), product.unit_price);
        if !(1..=MAX_QUANTITY).contains(&product.max_quantity) {
            p.add(at("max_quantity"), format!("must be 1 to {MAX_QUANTITY}"));
        }
        if !defined(&product.tax_class) {
            p.add(at("tax_class"), "no tax rate defines this class");
        }
    }
    unique(
        p,
        products
            .iter()
            .map(|(i, x)| (format!("/products/{i}/sku"), x.sku.as_str())),
        "this SKU",
    );
    let skus: HashSet<&str> = products.iter().map(|(_, x)| x.sku.as_str()).collect();

    // Promotions.
    for (i, promotion) in &promotions {
        p.id(format!("/promotions/{i}/id"), &promotion.id, 64);
        p.text(
            format!("/promotions/{i}/description"),
            &promotion.description,
            true,
            200,
        );
        match &promotion.rule {
            PromotionRule::PercentOffSku { sku, bps } => {
                if !skus.contains(sku.as_str()) {
                    p.add(
                        format!("/promotions/{i}/rule/sku"),
                        "no product has this SKU",
                    );
                }
                p.bps(format!("/promotions/{i}/rule/bps"), *bps);
            }
            PromotionRule::PercentOffOrder { min_subtotal, bps } => {
                p.money(format!("/promotions/{i}/rule/min_subtotal"), *min_subtotal);
                p.bps(format!("/promotions/{i}/rule/bps"), *bps);
            }
        }
    }
    unique(
        p,
        promotions
            .iter()
            .map(|(i, x)| (format!("/promotions/{i}/id"), x.id.as_str())),
        "this promotion id",
    );

    // Vouchers: codes as shoppers type them, compared upper case.
    for (i, voucher) in &vouchers {
        let code = &voucher.code;
        let ok = (1..=32).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b"_-".contains(&b));
        if !ok {
            p.add(
                format!("/vouchers/{i}/code"),
                "must be 1 to 32 of A-Z 0-9 _ - (upper case)",
            );
        }
        p.text(
            format!("/vouchers/{i}/description"),
            &voucher.description,
            true,
            200,
        );
        p.money(format!("/vouchers/{i}/min_subtotal"), voucher.min_subtotal);
        match voucher.discount {
            VoucherDiscount::AmountOff { amount } => {
                p.money(format!("/vouchers/{i}/discount/amount"), amount);
            }
            VoucherDiscount::PercentOff { bps } => {
                p.bps(format!("/vouchers/{i}/discount/bps"), bps)
            }
        }
    }
    unique(
        p,
        vouchers
            .iter()
            .map(|(i, x)| (format!("/vouchers/{i}/code"), x.code.as_str())),
        "this voucher code",
    );

    // Shipping methods: priced, taxed by a defined class, to known countries.
    let mut ships_to = BTreeSet::new();
    for (i, method) in &shipping {
        let at = |f: &str| format!("/shipping_methods/{i}/{f}");
        p.id(at("id"), &method.id, 64);
        p.text(at("name"), &method.name, true, 200);
        p.money(at("price"), method.price);
        if let Some(from) = method.free_from {
            p.money(at("free_from"), from);
        }
        if let Some(class) = &method.tax_class {
            if !defined(class) {
                p.add(at("tax_class"), "no tax rate defines this class");
            }
        }
        if let Some(list) = &method.countries {
            countries(p, *i, list);
            ships_to.extend(list.iter().cloned());
        }
    }
    unique(
        p,
        shipping
            .iter()
            .map(|(i, x)| (format!("/shipping_methods/{i}/id"), x.id.as_str())),
        "this shipping method id",
    );
    payment_methods(p, &payment);

    // Every class used has a rate in every country taxed or shipped to, and at home.
    let mut used: BTreeSet<&str> = products.iter().map(|(_, x)| x.tax_class.as_str()).collect();
    used.extend(shipping.iter().filter_map(|(_, m)| m.tax_class.as_deref()));
    let mut countries = taxed_in;
    countries.extend(ships_to);
    countries.extend(origin.clone());
    for country in &countries {
        for class in &used {
            let has = rates
                .iter()
                .any(|(_, r)| r.class == *class && r.country.as_deref() == Some(country.as_str()));
            if defined(class) && iso::is_country(country) && !has {
                p.add(
                    "/tax_rates",
                    format!("no rate for class {class} in {country}"),
                );
            }
        }
    }

    Some(CatalogDocument {
        currency: currency?,
        prices_include_tax: include_tax,
        origin_country: origin?,
        products: products.into_iter().map(|(_, x)| x).collect(),
        tax_rates: rates.into_iter().map(|(_, x)| x).collect(),
        promotions: promotions.into_iter().map(|(_, x)| x).collect(),
        vouchers: vouchers.into_iter().map(|(_, x)| x).collect(),
        shipping_methods: shipping.into_iter().map(|(_, x)| x).collect(),
        payment_methods: payment.into_iter().map(|(_, x)| x).collect(),
    })
}

//! What the OpenAPI document says beyond the handlers' own annotations: the security
//! schemes (the login cookie, the admin bearer token), the RFC 9457 problem schema with
//! every code of the core, and on every operation the refusals that any layer can send
//! (CONTRACT §11: every status code a route can send is documented, so schemathesis
//! finds none undocumented).

use checkout_core::{changes::ChangeKind, requirements::Missing, ErrorCode};
use utoipa::{
    openapi::{
        schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type},
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
        ContentBuilder, OpenApi, RefOr, Response, ResponseBuilder,
    },
    Modify,
};

use crate::auth::login_cookie::LOGIN_COOKIE;

/// Adds the security schemes, the problem schema and the common refusals.
#[derive(Debug)]
pub struct Hardened;

/// Statuses every operation can answer, whatever its handler: malformed input (400),
/// no or ended login (401), another site or a wrong token (403), no such thing (404),
/// another method (405), too large (413), not JSON (415), invalid (422), throttled
/// (429), an address (414) or headers (431) over the limits, our own failure (500),
/// overloaded (503).
const ALWAYS: [u16; 13] = [
    400, 401, 403, 404, 405, 413, 414, 415, 422, 429, 431, 500, 503,
];

fn problem_schema() -> Schema {
    let codes: Vec<String> = ErrorCode::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    let text = || ObjectBuilder::new().schema_type(SchemaType::new(Type::String));
    let nullable_text =
        || ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]));
    let nullable_integer =
        || ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::Integer, Type::Null]));
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::Object))
        .description(Some(
            "RFC 9457 problem details with the product's `code` and `redirect` (see /problems).",
        ))
        .property("type", text())
        .property("title", text())
        .property(
            "status",
            ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::Integer))
                .minimum(Some(400))
                .maximum(Some(599)),
        )
        .property("detail", text())
        .property("code", text().enum_values(Some(codes)))
        .property("redirect", nullable_text())
        .property(
            "missing",
            ArrayBuilder::new()
                .items(text().enum_values(Some(Missing::ALL.iter().map(|m| m.as_str())))),
        )
        .property(
            "changes",
            ArrayBuilder::new().items(
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::Object))
                    .property(
                        "kind",
                        text().enum_values(Some(ChangeKind::ALL.iter().map(|k| k.as_str()))),
                    )
                    .property("subject", text())
                    .property(
                        "before",
                        nullable_integer().description(Some(
                            "minor units for prices, discounts, shipping and the total; units for item and quantity changes",
                        )),
                    )
                    .property("after", nullable_integer().description(Some("as `before`")))
                    .property("message", text())
                    .required("kind")
                    .required("subject")
                    .required("message"),
            ),
        )
        .required("type")
        .required("title")
        .required("status")
        .required("detail")
        .required("code")
        .into()
}

fn problem_response(description: String) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "Problem",
                ))))
                .build(),
        )
        .build()
}

fn default_description(status: u16) -> String {
    let codes: Vec<&str> = ErrorCode::ALL
        .iter()
        .filter(|c| c.http_status() == status)
        .map(|c| c.as_str())
        .collect();
    codes.join(", ")
}

impl Modify for Hardened {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "backend",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The shop backend's key (--backend-api-key; CONTRACT §24), for /backend/* only. Never the admin token.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "login",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                LOGIN_COOKIE,
                "The opaque login token set by sign-up and sign-in (HttpOnly, SameSite=Lax; `__Host-cg_login` and Secure with --secure-cookies).",
            ))),
        );
        components.add_security_scheme(
            "shopToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The shop's own sign-in (CONTRACT §19): a token of its identity provider (RS256, ES256 or EdDSA by kid from --jwt-jwks-url/--jwt-jwks-file, or HS256 with --jwt-hs256-secret), as Authorization: Bearer or in the cookie named by --jwt-cookie. Accepted wherever the login cookie is.",
                    ))
                    .build(),
            ),
        );
        components
            .schemas
            .insert("Problem".to_owned(), RefOr::T(problem_schema()));
        for (path, item) in openapi.paths.paths.iter_mut() {
            // A checkout's state refuses with 409 (superseded, inactive, completed, payment
            // in progress, summary changed, token replayed) or 410 (expired); paying can be
            // declined (402).
            let mut extra: Vec<u16> = Vec::new();
            if path.starts_with("/checkouts") {
                extra.extend([409, 410]);
            }
            if path.ends_with("/pay") {
                extra.push(402);
            }
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let responses = &mut operation.responses.responses;
                // Every refusal a handler declares is a problem document too.
                for (status, response) in responses.iter_mut() {
                    let Ok(code) = status.parse::<u16>() else {
                        continue;
                    };
                    if code >= 400 {
                        let description = match response {
                            RefOr::T(r) => r.description.clone(),
                            RefOr::Ref(_) => default_description(code),
                        };
                        *response = RefOr::T(problem_response(description));
                    }
                }
                for &status in ALWAYS.iter().chain(&extra) {
                    responses
                        .entry(status.to_string())
                        .or_insert_with(|| RefOr::T(problem_response(default_description(status))));
                }
            }
        }
    }
}

/// Schemas of the request fields, with the constraints the handlers enforce (used with
/// `#[schema(schema_with = …)]`). The enumerations come from the catalog the server
/// sells from, so a generated request names a real product, method or voucher.
pub mod fields {
    use utoipa::openapi::{
        schema::{ObjectBuilder, SchemaType, Type},
        Object,
    };

    use checkout_core::catalog::CatalogDocument;

    /// The demo bakery's catalog: its ids are the examples (a shop's own catalog has
    /// its own; the schema says only their shape).
    fn demo() -> CatalogDocument {
        serde_json::from_str(crate::catalog::seed::BAKERY).unwrap_or_else(|_| CatalogDocument {
            currency: "USD".into(),
            prices_include_tax: false,
            origin_country: "US".into(),
            products: Vec::new(),
            tax_rates: Vec::new(),
            promotions: Vec::new(),
            vouchers: Vec::new(),
            shipping_methods: Vec::new(),
            payment_methods: Vec::new(),
        })
    }

    /// An id of the catalog: 1 to 64 of `A-Z a-z 0-9 . _ -`, with examples.
    fn id(examples: Vec<String>) -> Object {
        text()
            .pattern(Some("^[A-Za-z0-9._-]{1,64}$"))
            .examples(examples.into_iter().map(serde_json::Value::from))
            .build()
    }

    fn text() -> ObjectBuilder {
        ObjectBuilder::new().schema_type(SchemaType::new(Type::String))
    }

    fn integer(min: i64, max: i64) -> Object {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Integer))
            .minimum(Some(min))
            .maximum(Some(max))
            .build()
    }

    /// A SKU of the catalog.
    pub fn sku() -> Object {
        id(demo().products.into_iter().map(|p| p.sku).collect())
    }

    /// A quantity: 1 to 999.
    pub fn quantity() -> Object {
        integer(1, i64::from(checkout_core::snapshot::MAX_QUANTITY))
    }

    /// A username: 3 to 32 of `a-z 0-9 . _ -`.
    pub fn username() -> Object {
        text()
            .pattern(Some("^[a-z0-9._-]{3,32}$"))
            .min_length(Some(3))
            .max_length(Some(32))
            .build()
    }

    /// A password: 8 to 128 characters.
    pub fn password() -> Object {
        text().min_length(Some(8)).max_length(Some(128)).build()
    }

    /// A shipping or payment method id of the catalog.
    pub fn method_id() -> Object {
        let c = demo();
        id(c.shipping_methods
            .into_iter()
            .map(|m| m.id)
            .chain(c.payment_methods.into_iter().map(|m| m.id))
            .collect())
    }

    /// A voucher code of the catalog (matched without regard to case).
    pub fn voucher_code() -> Object {
        text()
            .max_length(Some(64))
            .examples(
                demo()
                    .vouchers
                    .into_iter()
                    .map(|v| serde_json::Value::from(v.code)),
            )
            .build()
    }

    /// A snapshot digest: `sha256:` and 64 hex digits.
    pub fn digest() -> Object {
        text().pattern(Some("^sha256:[0-9a-f]{64}$")).build()
    }

    /// Seconds the test clock moves forward: 0 to a year.
    pub fn advance_seconds() -> Object {
        integer(0, 31_536_000)
    }

    /// A checkout timeout in minutes: 5 to 300.
    pub fn timeout_minutes() -> Object {
        integer(5, 300)
    }
}

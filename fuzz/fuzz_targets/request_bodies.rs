//! The server's request-body extractor (`ApiJson`) over every body type of the API,
//! with the content types a client may send: whatever the bytes, the answer is the body
//! or a coded problem document with a 4xx status that quotes no more than a few
//! characters of the input. The first byte chooses the body type and content type.
#![no_main]

use std::sync::OnceLock;

use axum::{
    body::Body,
    extract::FromRequest,
    http::{header, Request},
    response::IntoResponse,
};
use checkout_server::{
    admin::{AdvanceClock, ImpersonateRequest},
    auth::Credentials,
    checkout::cart::{AddItem, SetQuantity},
    checkout::{MethodRequest, RecoverRequest, RestoreRequest, VoucherRequest},
    http::extract::ApiJson,
    orders::approvals::{ApproveRequest, ApproverRole, RejectRequest},
    orders::OrderActionRequest,
    outbox::admin::{EndpointState, NewEndpoint, Redeliver},
    payments::provider::{PaymentProvider, WebhookError},
    payments::{HttpProvider, HttpProviderConfig},
    payments::ReconcileRequest,
};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

const CONTENT_TYPES: [&str; 4] = [
    "application/json",
    "application/merge-patch+json; charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
    })
}

/// Extracts `T` from `body`; on refusal checks the problem document.
fn extract<T: DeserializeOwned>(content_type: &str, body: &[u8]) {
    let request = Request::builder()
        .method("POST")
        .uri("/api/v1/x")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_vec()))
        .expect("a request");
    let Err(refused) = runtime().block_on(ApiJson::<T>::from_request(request, &())) else {
        return;
    };
    let response = refused.into_response();
    let status = response.status().as_u16();
    assert!((400..500).contains(&status), "{status}");
    let bytes = runtime()
        .block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
        .expect("a body");
    let problem: serde_json::Value = serde_json::from_slice(&bytes).expect("problem+json");
    let code = problem["code"].as_str().expect("a code");
    assert!(
        checkout_core::ErrorCode::ALL
            .iter()
            .any(|c| c.as_str() == code),
        "{code}"
    );
    assert_eq!(problem["status"].as_u64(), Some(u64::from(status)));
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.chars().count() <= 400, "{} characters", detail.len());
}

/// The provider's webhook over any bytes and any signature: never taken without a
/// signature made with the secret, never a panic; and a payment token is plain or refused.
fn webhook(body: &[u8]) {
    static PROVIDER: OnceLock<HttpProvider> = OnceLock::new();
    let provider = PROVIDER.get_or_init(|| {
        HttpProvider::new(HttpProviderConfig {
            base: "http://127.0.0.1:9".into(),
            public_base: "http://127.0.0.1:9".into(),
            api_key: "sk".into(),
            publishable_key: "pk".into(),
            webhook_secrets: vec!["whsec_fuzz_secret_0123456789".into()],
            timeout: std::time::Duration::from_secs(1),
            outbound: checkout_server::outbound::Outbound::default(),
        })
        .expect("a loopback provider")
    });
    let split = body.iter().position(|b| *b == b'\n').unwrap_or(body.len());
    let (signature, payload) = body.split_at(split);
    // The first line is the signature header, as the provider would send it.
    let mut headers = axum::http::HeaderMap::new();
    if let Ok(value) = axum::http::HeaderValue::from_bytes(signature) {
        headers.insert(checkout_core::signature::HEADER, value);
    }
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    match provider.webhook(&headers, payload, now) {
        Err(WebhookError::Signature(refused)) => {
            assert_eq!(refused.code, checkout_core::ErrorCode::Forbidden);
        }
        other => panic!("an unsigned webhook was taken: {other:?}"),
    }
    if let Ok(text) = std::str::from_utf8(body) {
        if let Ok(token) = checkout_core::payment::PaymentToken::parse(text) {
            let plain = token
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            assert!(plain && !token.as_str().is_empty());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(choice & 3)];
    match (choice >> 2) % 20 {
        0 => extract::<AddItem>(content_type, body),
        1 => extract::<SetQuantity>(content_type, body),
        2 => extract::<OrderActionRequest>(content_type, body),
        3 => extract::<MethodRequest>(content_type, body),
        4 => extract::<VoucherRequest>(content_type, body),
        5 => extract::<RecoverRequest>(content_type, body),
        6 => extract::<Credentials>(content_type, body),
        7 => extract::<ImpersonateRequest>(content_type, body),
        8 => extract::<AdvanceClock>(content_type, body),
        9 => extract::<RestoreRequest>(content_type, body),
        10 => extract::<checkout_core::address::Address>(content_type, body),
        11 => extract::<ApproveRequest>(content_type, body),
        12 => extract::<RejectRequest>(content_type, body),
        13 => extract::<NewEndpoint>(content_type, body),
        14 => extract::<ApproverRole>(content_type, body),
        15 => extract::<EndpointState>(content_type, body),
        16 => extract::<Redeliver>(content_type, body),
        17 => extract::<ReconcileRequest>(content_type, body),
        18 => webhook(body),
        _ => extract::<checkout_core::settings::SettingsUpdate>(content_type, body),
    }
});

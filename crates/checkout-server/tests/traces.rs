//! Traces over OTLP/HTTP (CONTRACT §22): a server process started with `--otlp-endpoint`
//! sends its spans to a local OTLP receiver (protobuf, as a collector takes them). One
//! card order made with a caller's `traceparent`: its request, database statements,
//! provider call and the later delivery of its order event all arrive in the caller's
//! trace, each linked to its parent, and the receiver of the event gets the trace too.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{body::Bytes, routing::post, Router};
use common::{receiver::receiver, test_cards, Process, Server, Shopper, ADMIN};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use reqwest::Method;
use serde_json::json;

/// A span as the receiver got it: trace id, span id, parent span id (hex), name.
#[derive(Debug, Clone)]
struct Got {
    trace: String,
    id: String,
    parent: String,
    name: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

type Received = (Arc<Mutex<Vec<Got>>>, Arc<Mutex<Vec<u8>>>);

/// An OTLP/HTTP trace receiver on a free loopback port: its URL, the spans it got and
/// every byte of every export.
async fn otlp_receiver() -> (String, Received) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let raw = Arc::new(Mutex::new(Vec::new()));
    let (kept, bytes) = (Arc::clone(&got), Arc::clone(&raw));
    let app = Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let (kept, bytes) = (Arc::clone(&kept), Arc::clone(&bytes));
            async move {
                bytes.lock().unwrap().extend_from_slice(&body);
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                let mut kept = kept.lock().unwrap();
                for resource in request.resource_spans {
                    for scope in resource.scope_spans {
                        for span in scope.spans {
                            kept.push(Got {
                                trace: hex(&span.trace_id),
                                id: hex(&span.span_id),
                                parent: hex(&span.parent_span_id),
                                name: span.name,
                            });
                        }
                    }
                }
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, (got, raw))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spans_of_one_order_arrive_linked_in_the_callers_trace() {
    let (otlp, (got, _)) = otlp_receiver().await;
    let rx = receiver(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        0,
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Process::spawn_logging(dir.path(), &["--otlp-endpoint", &otlp], "info");
    let client = Server::client();
    let r = common::read(
        client
            .post(format!("{}/api/v1/admin/webhook-endpoints", server.base))
            .bearer_auth(ADMIN)
            .json(&json!({"url": rx.url()}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let alice = Shopper::sign_up(&client, &server.base, "alice").await;
    let (id, digest) = alice.ready_to_pay().await;
    let token = alice.token_for(test_cards::APPROVE, "pay").await;
    let (trace, caller) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let traceparent = format!("00-{trace}-{caller}-01");
    let paid = alice
        .send(
            Method::POST,
            &format!("/checkouts/{id}/pay"),
            Some(json!({"snapshot_digest": digest, "payment_token": token})),
            &[("Idempotency-Key", "pay"), ("traceparent", &traceparent)],
        )
        .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    rx.wait_for(1, Duration::from_secs(30)).await;
    let hit = rx.hits().into_iter().next().unwrap();
    let sent = hit.traceparent.expect("the delivery carries traceparent");
    assert!(sent.starts_with(&format!("00-{trace}-")), "{sent}");
    // SIGTERM: the server flushes what it still batches before it exits.
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    let mut spans: Vec<Got> = Vec::new();
    for _ in 0..100 {
        spans = got.lock().unwrap().clone();
        if spans
            .iter()
            .any(|s| s.trace == trace && s.name == "delivery")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ours: Vec<&Got> = spans.iter().filter(|s| s.trace == trace).collect();
    let names: Vec<&str> = ours.iter().map(|s| s.name.as_str()).collect();
    let by_id: HashMap<&str, &Got> = ours.iter().map(|s| (s.id.as_str(), *s)).collect();
    // The request continues the caller's span.
    let requests: Vec<&&Got> = ours.iter().filter(|s| s.name == "request").collect();
    assert_eq!(requests.len(), 1, "{names:?}");
    assert_eq!(requests[0].parent, caller);
    // Every other span hangs from a span of this trace, up to that request.
    for span in &ours {
        let mut at = *span;
        let mut hops = 0;
        while at.name != "request" {
            at = by_id
                .get(at.parent.as_str())
                .unwrap_or_else(|| panic!("{} {} has no parent in the trace", at.name, at.id));
            hops += 1;
            assert!(hops < 10, "a loop");
        }
    }
    for name in ["db", "provider call", "delivery"] {
        assert!(names.contains(&name), "no {name} span: {names:?}");
    }
    // The background passes' statements (sweeps, the outbox's polls) are no trace of
    // their own: an idle server sends nothing.
    let alone: Vec<&Got> = spans
        .iter()
        .filter(|s| s.name == "db" && s.parent.is_empty())
        .collect();
    assert!(alone.is_empty(), "statements traced alone: {}", alone.len());
    let delivery = ours.iter().find(|s| s.name == "delivery").unwrap();
    assert!(
        sent.contains(&delivery.id),
        "the receiver got the delivery's span: {sent}"
    );
}

/// What a caller sends is taken only when it is a well-formed `traceparent`: a malformed
/// one starts a trace of our own, a caller's "not sampled" does not hide its requests,
/// and `tracestate` (free text, here with a card number) never reaches a span.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_well_formed_traceparent_is_continued_and_tracestate_is_dropped() {
    let (otlp, (got, raw)) = otlp_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Process::spawn(dir.path(), &["--otlp-endpoint", &otlp]);
    let client = Server::client();
    let get = |headers: Vec<(&'static str, String)>| {
        let mut request = client.get(format!("{}/api/v1/products", server.base));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let unsampled = "11111111111111111111111111111111";
    let card = "4242424242424242";
    let answers = [
        get(vec![(
            "traceparent",
            format!("00-{unsampled}-2222222222222222-00"),
        )])
        .await,
        get(vec![("traceparent", "00-abc-def-01".into())]).await,
        get(vec![(
            "traceparent",
            format!("00-{}-{}-01", "0".repeat(32), "3".repeat(16)),
        )])
        .await,
        get(vec![
            (
                "traceparent",
                format!("00-{}-4444444444444444-01", "5".repeat(32)),
            ),
            (
                "tracestate",
                format!("shop=card-{card},mail=bob@example.org"),
            ),
        ])
        .await,
    ];
    for answer in answers {
        assert_eq!(answer.unwrap().status(), 200);
    }
    assert!(server.terminate().success());
    let requests: Vec<Got> = got
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.name == "request")
        .cloned()
        .collect();
    assert_eq!(requests.len(), 4, "{requests:?}");
    let traces: Vec<&str> = requests.iter().map(|s| s.trace.as_str()).collect();
    assert!(
        traces.contains(&unsampled),
        "an unsampled caller is traced: {traces:?}"
    );
    assert!(traces.contains(&"5".repeat(32).as_str()), "{traces:?}");
    // The malformed and the all-zero ones started traces of their own, without a parent.
    let own: Vec<&Got> = requests
        .iter()
        .filter(|s| s.trace != unsampled && s.trace != "5".repeat(32))
        .collect();
    assert_eq!(own.len(), 2, "{requests:?}");
    for span in own {
        assert!(span.parent.is_empty(), "{span:?}");
        assert!(!span.trace.starts_with("0000000000000000"), "{span:?}");
    }
    let exported = String::from_utf8_lossy(&raw.lock().unwrap()).into_owned();
    assert!(!exported.contains(card) && !exported.contains("bob@example.org"));
}

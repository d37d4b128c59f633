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

/// An OTLP/HTTP trace receiver on a free loopback port: its URL and what it got.
async fn otlp_receiver() -> (String, Arc<Mutex<Vec<Got>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&got);
    let app = Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let kept = Arc::clone(&kept);
            async move {
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
    (url, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spans_of_one_order_arrive_linked_in_the_callers_trace() {
    let (otlp, got) = otlp_receiver().await;
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
    let delivery = ours.iter().find(|s| s.name == "delivery").unwrap();
    assert!(
        sent.contains(&delivery.id),
        "the receiver got the delivery's span: {sent}"
    );
}

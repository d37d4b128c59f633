//! A downstream system's receiver of order events, over real HTTP (or HTTPS with a test
//! CA): it records every request with its Standard Webhooks headers and answers as the
//! test scripts it — 500 for the first N, a queue of given answers (with `Retry-After`),
//! or never at all.

use std::{
    collections::{BTreeSet, VecDeque},
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use serde_json::Value;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Hit {
    /// `webhook-id`.
    pub event_id: String,
    /// The body's `type`.
    pub event_type: String,
    /// The order's (or refund's) checkout.
    pub checkout_id: String,
    /// The exact body.
    pub body: String,
    /// `webhook-timestamp`.
    pub timestamp: Option<String>,
    /// `webhook-signature`.
    pub signature: Option<String>,
    /// `traceparent` (the trace of the request that made the event).
    pub traceparent: Option<String>,
    /// What it answered (0: nothing, it hangs).
    pub answered: u16,
    /// When it arrived.
    pub at: Instant,
    /// When it arrived, by the wall clock.
    pub arrived: chrono::DateTime<chrono::Utc>,
}

/// A scripted answer: a status and a `Retry-After`.
pub type Reply = (u16, Option<String>);

/// A receiver and how it answers.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    pub scheme: &'static str,
    hits: Arc<Mutex<Vec<Hit>>>,
    /// How many more requests it answers 500 (the test may change it).
    pub failures: Arc<AtomicUsize>,
    /// Answers to give first, in order: status and `Retry-After`.
    pub replies: Arc<Mutex<VecDeque<Reply>>>,
    /// Never answer (hold every request open).
    pub hang: Arc<AtomicBool>,
}

impl Receiver {
    fn new(addr: SocketAddr, scheme: &'static str, fail_first: usize) -> Receiver {
        Receiver {
            addr,
            scheme,
            hits: Arc::default(),
            failures: Arc::new(AtomicUsize::new(fail_first)),
            replies: Arc::default(),
            hang: Arc::default(),
        }
    }

    fn router(&self) -> Router {
        let me = self.clone();
        Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: Bytes| {
                let me = me.clone();
                async move { me.take(&headers, &body).await }
            }),
        )
    }

    async fn take(&self, headers: &HeaderMap, body: &[u8]) -> Response {
        if self.hang.load(Ordering::SeqCst) {
            self.record(headers, body, 0);
            std::future::pending::<()>().await;
        }
        let scripted = self.replies.lock().unwrap().pop_front();
        let failing = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let (answered, retry_after) = match scripted {
            Some(reply) => reply,
            None if failing => (500, None),
            None => (204, None),
        };
        self.record(headers, body, answered);
        let status = StatusCode::from_u16(answered).unwrap();
        match retry_after {
            Some(value) => (status, [("retry-after", value)]).into_response(),
            None => status.into_response(),
        }
    }

    fn record(&self, headers: &HeaderMap, body: &[u8], answered: u16) {
        let text = String::from_utf8_lossy(body).into_owned();
        let parsed: Value = serde_json::from_str(&text).unwrap_or_default();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let data = &parsed["data"];
        let checkout = data["order"]["checkout_id"]
            .as_str()
            .or(data["refund"]["checkout_id"].as_str());
        self.hits.lock().unwrap().push(Hit {
            event_id: header("webhook-id").unwrap_or_default(),
            event_type: parsed["type"].as_str().unwrap_or_default().to_owned(),
            checkout_id: checkout.unwrap_or_default().to_owned(),
            body: text,
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            traceparent: header("traceparent"),
            answered,
            at: Instant::now(),
            arrived: chrono::Utc::now(),
        });
    }

    pub fn url(&self) -> String {
        format!("{}://{}/hook", self.scheme, self.addr)
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// The ids delivered (answered 2xx).
    pub fn delivered(&self) -> BTreeSet<String> {
        self.hits()
            .into_iter()
            .filter(|h| (200..300).contains(&h.answered))
            .map(|h| h.event_id)
            .collect()
    }

    /// The orders whose events were delivered (answered 2xx).
    pub fn delivered_orders(&self) -> BTreeSet<String> {
        self.hits()
            .iter()
            .filter(|h| (200..300).contains(&h.answered))
            .filter_map(|h| {
                let body: Value = serde_json::from_str(&h.body).ok()?;
                body["data"]["order"]["id"].as_str().map(str::to_owned)
            })
            .collect()
    }

    /// Waits until `n` distinct events were delivered.
    pub async fn wait_for(&self, n: usize, limit: Duration) {
        let start = Instant::now();
        while self.delivered().len() < n {
            assert!(
                start.elapsed() < limit,
                "{} of {n} delivered: {:?}",
                self.delivered().len(),
                self.hits()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until it got `n` requests.
    pub async fn wait_for_hits(&self, n: usize, limit: Duration) {
        let start = Instant::now();
        while self.hits().len() < n {
            assert!(
                start.elapsed() < limit,
                "{} of {n} requests: {:?}",
                self.hits().len(),
                self.hits()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// A plain-HTTP receiver on `listener` that answers 500 to its first `fail_first`
/// requests, then 204 (unless scripted otherwise).
pub fn receiver(listener: tokio::net::TcpListener, fail_first: usize) -> Receiver {
    let rx = Receiver::new(listener.local_addr().unwrap(), "http", fail_first);
    let app = rx.router();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    rx
}

/// A test certificate authority and a server certificate it issued for `localhost` and
/// 127.0.0.1.
pub struct TestPki {
    /// The CA certificate, PEM (what the server under test is told to trust).
    pub ca_pem: String,
    server_chain: Vec<tokio_rustls::rustls::pki_types::CertificateDer<'static>>,
    server_key: tokio_rustls::rustls::pki_types::PrivateKeyDer<'static>,
}

impl TestPki {
    pub fn new() -> TestPki {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "Checkout Guard test CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        leaf.subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        let cert = leaf.signed_by(&key, &ca_cert, &ca_key).unwrap();
        TestPki {
            ca_pem: ca_cert.pem(),
            server_chain: vec![cert.der().clone()],
            server_key: tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(
                key.serialize_der().into(),
            ),
        }
    }
}

/// An HTTPS receiver on `listener` serving the certificate of `pki`.
impl TestPki {
    /// A TLS acceptor serving the server certificate.
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        use tokio_rustls::rustls;
        // ring's provider, named (the one the workspace builds; its "deprecated" is
        // about post-quantum key exchange, which a test server does not need).
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(self.server_chain.clone(), self.server_key.clone_key())
            .unwrap();
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    }
}

/// HTTPS in front of the plain HTTP service at `behind` (a TLS-terminating proxy, as
/// in front of a provider's API), on `listener`, with the certificate of `pki`.
pub fn tls_proxy(listener: tokio::net::TcpListener, pki: &TestPki, behind: String) {
    let acceptor = pki.acceptor();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, behind) = (acceptor.clone(), behind.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(behind).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
}

pub fn tls_receiver(listener: tokio::net::TcpListener, pki: &TestPki) -> Receiver {
    use hyper_util::rt::TokioIo;
    let acceptor = pki.acceptor();
    let rx = Receiver::new(listener.local_addr().unwrap(), "https", 0);
    let app = rx.router();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    rx
}

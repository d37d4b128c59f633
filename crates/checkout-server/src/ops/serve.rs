//! The accept loop (CONTRACT §11): HTTP/1.1 connections with a header-read timeout that
//! also ends idle keep-alive connections, a request-body timeout, a cap on open
//! connections, and a deadline for graceful shutdown. (`axum::serve` sets no timer, so
//! a client sending one header byte every few seconds was never cut off.)

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{extract::ConnectInfo, Router};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::watch};
use tower::ServiceExt;

/// Connection limits and timeouts (server flags).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// A request's headers must arrive within this long; a keep-alive connection with no
    /// request for this long is closed.
    pub header_read: Duration,
    /// A request's body must arrive within this long (413/408-style refusal after).
    pub body_read: Duration,
    /// Open connections at most; more are closed at once.
    pub max_connections: usize,
    /// Open connections from one client address at most (an IPv6 client by its /64), so
    /// one client cannot take every slot.
    pub max_connections_per_address: usize,
    /// After a stop is asked, requests in flight get this long to finish.
    pub shutdown_grace: Duration,
}

type Counts = Arc<Mutex<HashMap<String, usize>>>;

/// One open connection of a client address; leaving gives its place back.
struct PerAddress {
    counts: Counts,
    key: String,
}

impl PerAddress {
    /// A place for a connection from `peer`, if its address has fewer than `max` open.
    fn enter(counts: &Counts, peer: &SocketAddr, max: usize) -> Option<PerAddress> {
        let key = crate::auth::throttle::address_key(Some(peer.ip()));
        let mut map = counts.lock().unwrap_or_else(|e| e.into_inner());
        let open = map.entry(key.clone()).or_insert(0);
        if *open >= max.max(1) {
            return None;
        }
        *open += 1;
        Some(PerAddress {
            counts: Arc::clone(counts),
            key,
        })
    }
}

impl Drop for PerAddress {
    fn drop(&mut self) {
        let mut map = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(open) = map.get_mut(&self.key) {
            *open -= 1;
            if *open == 0 {
                map.remove(&self.key);
            }
        }
    }
}

/// Serves `router` on `listener` until `stop` turns true, then lets open connections
/// finish for at most `shutdown_grace`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let router = router.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        limits.body_read,
    ));
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let per_address = Arc::new(Mutex::new(HashMap::new()));
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let Some(own) = PerAddress::enter(&per_address, &peer, limits.max_connections_per_address)
        else {
            crate::ops::metrics::connection_refused();
            drop(stream);
            continue;
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            crate::ops::metrics::connection_refused();
            drop(stream);
            continue;
        };
        let service = router.clone().map_request(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(peer));
                request
            },
        );
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read)
            // Above `web::MAX_HEADERS`, so that a request with a few too many headers gets
            // the coded 431 of `web::guard` rather than hyper's bare one.
            .max_headers(crate::http::web::HYPER_MAX_HEADERS)
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let watched = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = watched.await {
                tracing::debug!(%error, %peer, "connection ended");
            }
            drop(slot);
            drop(own);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace = ?limits.shutdown_grace,
            "connections still open after the shutdown deadline; closing them"
        );
    }
    Ok(())
}

//! What every route shares on the way in and out: the one error type and its RFC 9457
//! problem documents, the extractors (JSON bodies, the shopper, the admin), media types,
//! Idempotency-Key handling, the origin check and static files, health probes and the
//! OpenAPI document.

pub mod api_doc;
pub mod assets;
pub mod error;
pub mod extract;
pub mod health;
pub mod idempotency;
pub mod media;
pub mod problems;
pub mod web;

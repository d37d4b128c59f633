//! The stable error codes of the product (CONTRACT §6), their HTTP statuses, messages and
//! redirects, and the RFC 9457 problem body built from them. Both the server and the
//! browser module take every code, message and redirect from here, so the two targets can
//! never disagree about what a failure is called or where the shopper is sent.

use serde::{Deserialize, Serialize};

use crate::detail::{ChangeItem, Missing};

wire_enum! {
    /// A machine-readable failure code. JavaScript branches on these strings and the HTTP
    /// server maps each one to exactly one status; neither may change once published.
    ///
    /// On the wire a code is its [`as_str`](Self::as_str) name, written once beside its
    /// variant below; (de)serialisation goes through [`ALL`](Self::ALL) and that table.
    pub enum ErrorCode as "error code", in TypeScript "ErrorCodeName" {
        /// No signed-in shopper.
        Unauthenticated = "UNAUTHENTICATED",
        /// Signed in, but not allowed (for example an admin route without the admin token).
        Forbidden = "FORBIDDEN",
        /// No such checkout — also said for another shopper's checkout, so ids leak nothing.
        CheckoutNotFound = "CHECKOUT_NOT_FOUND",
        /// The checkout's purchase window closed (`now >= expires_at`).
        CheckoutExpired = "CHECKOUT_EXPIRED",
        /// A newer checkout of the same shopper replaced this one.
        CheckoutSuperseded = "CHECKOUT_SUPERSEDED",
        /// The checkout ended without an order (signed out, emptied, cancelled).
        CheckoutInactive = "CHECKOUT_INACTIVE",
        /// The checkout already produced its one order.
        CheckoutCompleted = "CHECKOUT_COMPLETED",
        /// A payment for the shopper's checkout is in flight; nothing may replace it.
        PaymentInProgress = "PAYMENT_IN_PROGRESS",
        /// The shopper acted on a summary that is no longer the checkout's current snapshot.
        SnapshotMismatch = "SNAPSHOT_MISMATCH",
        /// There is nothing in the cart to check out.
        CartEmpty = "CART_EMPTY",
        /// The request was well formed but a value is out of its allowed range.
        ValidationFailed = "VALIDATION_FAILED",
        /// An order action arrived without an `Idempotency-Key`.
        IdempotencyKeyRequired = "IDEMPOTENCY_KEY_REQUIRED",
        /// An `Idempotency-Key` was reused for a different request.
        IdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED",
        /// The first request with this `Idempotency-Key` is still running.
        RequestInProgress = "REQUEST_IN_PROGRESS",
        /// A recovery token is malformed, altered, or not meant for this shopper.
        TokenInvalid = "TOKEN_INVALID",
        /// A recovery token is past its expiry.
        TokenExpired = "TOKEN_EXPIRED",
        /// A recovery token was already used (tokens are single use and rotate).
        TokenReplayed = "TOKEN_REPLAYED",
        /// The payment gateway declined the charge.
        PaymentDeclined = "PAYMENT_DECLINED",
        /// The request body is larger than the server accepts.
        PayloadTooLarge = "PAYLOAD_TOO_LARGE",
        /// The request could not be parsed.
        MalformedRequest = "MALFORMED_REQUEST",
        /// Too many requests of this kind from this shopper or address; retry after
        /// `Retry-After` seconds.
        RateLimited = "RATE_LIMITED",
        /// A body was sent with a content type other than `application/json`.
        UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE",
        /// The route exists but not with this HTTP method.
        MethodNotAllowed = "METHOD_NOT_ALLOWED",
        /// The request's address (path and query) is longer than the server reads.
        UriTooLong = "URI_TOO_LONG",
        /// The request's headers are larger, or more, than the server reads.
        HeadersTooLarge = "HEADERS_TOO_LARGE",
        /// No route at this path (an unknown URL, not a checkout that is gone).
        NotFound = "NOT_FOUND",
        /// `If-Match` named a version that is no longer the current one: someone changed
        /// it meanwhile. Read it again and reapply the change.
        PreconditionFailed = "PRECONDITION_FAILED",
        /// The server cannot take the request now (overloaded, shutting down, database
        /// unreachable); retry after `Retry-After` seconds. Nothing was changed.
        ServiceUnavailable = "SERVICE_UNAVAILABLE",
        /// Something broke on the server's side. Nothing was changed; a retry is safe.
        InternalError = "INTERNAL_ERROR",
    }
}

impl ErrorCode {
    /// The HTTP status that carries this code (CONTRACT §6).
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::Unauthenticated | ErrorCode::TokenInvalid | ErrorCode::TokenExpired => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::CheckoutNotFound | ErrorCode::NotFound => 404,
            ErrorCode::CheckoutExpired => 410,
            ErrorCode::CheckoutSuperseded
            | ErrorCode::CheckoutInactive
            | ErrorCode::CheckoutCompleted
            | ErrorCode::PaymentInProgress
            | ErrorCode::SnapshotMismatch
            | ErrorCode::RequestInProgress
            | ErrorCode::TokenReplayed => 409,
            ErrorCode::CartEmpty
            | ErrorCode::ValidationFailed
            | ErrorCode::IdempotencyKeyReused => 422,
            ErrorCode::IdempotencyKeyRequired | ErrorCode::MalformedRequest => 400,
            ErrorCode::PaymentDeclined => 402,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::RateLimited => 429,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::UriTooLong => 414,
            ErrorCode::HeadersTooLarge => 431,
            ErrorCode::PreconditionFailed => 412,
            ErrorCode::ServiceUnavailable => 503,
            ErrorCode::InternalError => 500,
        }
    }

    /// A short, stable title for the problem document (RFC 9457 `title`).
    pub fn title(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "Sign-in required",
            ErrorCode::Forbidden => "Not allowed",
            ErrorCode::CheckoutNotFound => "Checkout not found",
            ErrorCode::CheckoutExpired => "Checkout expired",
            ErrorCode::CheckoutSuperseded => "Checkout replaced by a newer one",
            ErrorCode::CheckoutInactive => "Checkout no longer active",
            ErrorCode::CheckoutCompleted => "Checkout already completed",
            ErrorCode::PaymentInProgress => "Payment in progress",
            ErrorCode::SnapshotMismatch => "Order summary changed",
            ErrorCode::CartEmpty => "Cart is empty",
            ErrorCode::ValidationFailed => "Invalid value",
            ErrorCode::IdempotencyKeyRequired => "Idempotency-Key header required",
            ErrorCode::IdempotencyKeyReused => "Idempotency-Key reused",
            ErrorCode::RequestInProgress => "Request in progress",
            ErrorCode::TokenInvalid => "Recovery token invalid",
            ErrorCode::TokenExpired => "Recovery token expired",
            ErrorCode::TokenReplayed => "Recovery token already used",
            ErrorCode::PaymentDeclined => "Payment declined",
            ErrorCode::PayloadTooLarge => "Request too large",
            ErrorCode::MalformedRequest => "Malformed request",
            ErrorCode::RateLimited => "Too many requests",
            ErrorCode::UnsupportedMediaType => "Unsupported media type",
            ErrorCode::MethodNotAllowed => "Method not allowed",
            ErrorCode::UriTooLong => "Address too long",
            ErrorCode::HeadersTooLarge => "Request headers too large",
            ErrorCode::NotFound => "Not found",
            ErrorCode::PreconditionFailed => "Changed meanwhile",
            ErrorCode::ServiceUnavailable => "Service unavailable",
            ErrorCode::InternalError => "Internal error",
        }
    }

    /// The message a shopper reads. Storefronts may translate by code; this is the
    /// English default both the server and the browser module show.
    pub fn shopper_message(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "Please sign in to continue.",
            ErrorCode::Forbidden => "You are not allowed to do that.",
            ErrorCode::CheckoutNotFound => {
                "We could not find that checkout. Your cart is kept; start checkout again."
            }
            ErrorCode::CheckoutExpired => {
                "Your checkout expired. Your cart is kept; please start checkout again."
            }
            ErrorCode::CheckoutSuperseded => {
                "This checkout was replaced by a newer one (another tab or device). Your cart is kept."
            }
            ErrorCode::CheckoutInactive => {
                "This checkout is no longer active. Your cart is kept; start checkout again."
            }
            ErrorCode::CheckoutCompleted => "This checkout already has its order.",
            ErrorCode::PaymentInProgress => {
                "A payment for your checkout is in progress. Wait for it to finish before starting again."
            }
            ErrorCode::SnapshotMismatch => {
                "Your order summary changed. Review it and confirm again."
            }
            ErrorCode::CartEmpty => "Your cart is empty.",
            ErrorCode::ValidationFailed => "A value is not allowed.",
            ErrorCode::IdempotencyKeyRequired => "This action needs an Idempotency-Key header.",
            ErrorCode::IdempotencyKeyReused => {
                "This Idempotency-Key was already used for a different request."
            }
            ErrorCode::RequestInProgress => {
                "Your previous attempt is still being processed. Try again in a moment."
            }
            ErrorCode::TokenInvalid => "This recovery link is not valid.",
            ErrorCode::TokenExpired => "This recovery link has expired. Your cart is kept.",
            ErrorCode::TokenReplayed => "This recovery link was already used.",
            ErrorCode::PaymentDeclined => {
                "Your payment was declined. Choose another payment method and try again."
            }
            ErrorCode::PayloadTooLarge => "The request is too large.",
            ErrorCode::MalformedRequest => "The request could not be read.",
            ErrorCode::RateLimited => "Too many attempts. Please wait a moment and try again.",
            ErrorCode::UnsupportedMediaType => "The request must be sent as JSON (Content-Type: application/json).",
            ErrorCode::MethodNotAllowed => "This address does not accept that kind of request.",
            ErrorCode::UriTooLong => "The address is too long.",
            ErrorCode::HeadersTooLarge => "The request's headers are too large.",
            ErrorCode::NotFound => "There is nothing at this address.",
            ErrorCode::PreconditionFailed => {
                "Someone changed this meanwhile. Load it again and repeat your change."
            }
            ErrorCode::ServiceUnavailable => {
                "The shop is briefly unavailable. Nothing was changed; please try again in a moment."
            }
            ErrorCode::InternalError => {
                "Something went wrong on our side. Nothing was changed; please try again."
            }
        }
    }

    /// Where the shopper should go after this failure: the cart for every code that ends
    /// the checkout (the cart is always kept), sign-in for a missing session, nowhere for
    /// failures the current page can fix itself.
    pub fn redirect(self) -> Option<&'static str> {
        match self {
            ErrorCode::Unauthenticated => Some("/login"),
            ErrorCode::CheckoutNotFound
            | ErrorCode::CheckoutExpired
            | ErrorCode::CheckoutSuperseded
            | ErrorCode::CheckoutInactive
            | ErrorCode::CartEmpty
            | ErrorCode::TokenInvalid
            | ErrorCode::TokenExpired
            | ErrorCode::TokenReplayed => Some("/cart"),
            _ => None,
        }
    }

    /// Whether this code says "not known yet, nothing decided": the server was
    /// overloaded, throttled or broke before deciding. A client keeps its state (and
    /// any pending order action with its key) and retries later; it never moves the
    /// shopper on such an answer.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorCode::RateLimited | ErrorCode::ServiceUnavailable | ErrorCode::InternalError
        )
    }

    /// Whether an answer with this code leaves an order action undecided: still running
    /// (`REQUEST_IN_PROGRESS`), its payment still being confirmed (`PAYMENT_IN_PROGRESS`),
    /// or nothing decided at all ([`is_transient`](Self::is_transient)) — except
    /// `RATE_LIMITED`, which refused the action before anything happened: the shopper
    /// retries when they choose, the page never by itself (see
    /// `answer::read_order_action`). The browser keeps the pending action and its key,
    /// and retries; any other code settles it.
    pub fn is_undecided(self) -> bool {
        matches!(
            self,
            ErrorCode::RequestInProgress | ErrorCode::PaymentInProgress
        ) || (self.is_transient() && self != ErrorCode::RateLimited)
    }

    /// The RFC 9457 `type` URI of this problem: a relative reference to the server's
    /// page that lists every code (`/problems`), with the code as the fragment.
    pub fn problem_type(self) -> String {
        format!(
            "/problems#{}",
            self.as_str().to_ascii_lowercase().replace('_', "-")
        )
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused action: the stable code, the message for the shopper and where to send them.
/// This is what a failed check produces on both targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The machine-readable code.
    pub code: ErrorCode,
    /// A human-readable explanation; defaults to the code's shopper message.
    pub message: String,
    /// Where the shopper should go, when anywhere.
    pub redirect: Option<String>,
    /// For `VALIDATION_FAILED` on an order action: what the shopper still has to choose
    /// ([`crate::requirements`]); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<Missing>,
    /// For `SNAPSHOT_MISMATCH`: what differs between the summary the shopper confirmed
    /// and the current one ([`crate::changes`]); empty otherwise. (Boxed, as `errors`.)
    #[serde(default, skip_serializing_if = "no_changes")]
    pub changes: Box<[ChangeItem]>,
    /// For `VALIDATION_FAILED` of a document or form: every problem with where it is
    /// (RFC 9457 §3's `errors` with a JSON Pointer); empty otherwise. (Boxed: every
    /// `Result` of the core carries a `Rejection`, and this keeps it small.)
    #[serde(default, skip_serializing_if = "no_errors")]
    pub errors: Box<[FieldError]>,
}

fn no_errors(errors: &[FieldError]) -> bool {
    errors.is_empty()
}

fn no_changes(changes: &[ChangeItem]) -> bool {
    changes.is_empty()
}

/// One problem of a refused document, at a place in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(missing_as_null))]
pub struct FieldError {
    /// RFC 6901 JSON Pointer to the value (`/products/3/unit_price`); `""` for the whole.
    pub pointer: String,
    /// What is wrong with it.
    pub detail: String,
}

impl FieldError {
    /// A problem at `pointer`.
    pub fn new(pointer: impl Into<String>, detail: impl Into<String>) -> FieldError {
        FieldError {
            pointer: pointer.into(),
            detail: detail.into(),
        }
    }
}

impl Rejection {
    /// The rejection for a code with its default message and redirect.
    pub fn new(code: ErrorCode) -> Self {
        Rejection {
            code,
            message: code.shopper_message().to_owned(),
            redirect: code.redirect().map(str::to_owned),
            missing: Vec::new(),
            changes: Box::default(),
            errors: Box::default(),
        }
    }

    /// `VALIDATION_FAILED` with `message` and each problem at its place.
    pub fn invalid_fields(message: impl Into<String>, errors: Vec<FieldError>) -> Self {
        Rejection {
            errors: errors.into_boxed_slice(),
            ..Rejection::with_message(ErrorCode::ValidationFailed, message)
        }
    }

    /// The same rejection with a more specific message (the code and redirect stay).
    pub fn with_message(code: ErrorCode, message: impl Into<String>) -> Self {
        Rejection {
            message: message.into(),
            ..Rejection::new(code)
        }
    }

    /// The RFC 9457 problem document for this rejection.
    pub fn to_problem(&self) -> Problem {
        Problem {
            problem_type: self.code.problem_type(),
            title: self.code.title().to_owned(),
            status: self.code.http_status(),
            // A card number sent anywhere (a voucher code, a method id, a value in a
            // refused body) is never echoed back.
            detail: crate::card::mask_card_numbers(&self.message),
            code: self.code,
            redirect: self.redirect.clone(),
            missing: self.missing.clone(),
            changes: self.changes.to_vec(),
            errors: self
                .errors
                .iter()
                .map(|e| {
                    FieldError::new(e.pointer.clone(), crate::card::mask_card_numbers(&e.detail))
                })
                .collect(),
        }
    }
}

impl From<ErrorCode> for Rejection {
    fn from(code: ErrorCode) -> Self {
        Rejection::new(code)
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Rejection {}

/// An RFC 9457 problem details document with the two extension members of CONTRACT §6.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(missing_as_null))]
pub struct Problem {
    /// A URI reference identifying the problem type.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// Explanation specific to this occurrence.
    pub detail: String,
    /// Extension: the stable machine-readable code.
    #[cfg_attr(feature = "typescript", tsify(type = "ErrorCodeName"))]
    pub code: ErrorCode,
    /// Extension: where the shopper should go (`null` when nowhere).
    pub redirect: Option<String>,
    /// Extension: what an order action still needs (absent when nothing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "typescript", tsify(optional))]
    pub missing: Vec<Missing>,
    /// Extension: with `SNAPSHOT_MISMATCH`, what changed since the summary the shopper
    /// confirmed (absent when nothing is known).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "typescript", tsify(optional))]
    pub changes: Vec<ChangeItem>,
    /// Extension: with `VALIDATION_FAILED` of a document or form, every problem and where
    /// it is (absent when none is listed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "typescript", tsify(optional))]
    pub errors: Vec<FieldError>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_serde_names() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).expect("serialize");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: ErrorCode = serde_json::from_str(&json).expect("parse");
            assert_eq!(back, code);
        }
    }

    #[test]
    fn statuses_follow_the_contract() {
        let expected = [
            ("UNAUTHENTICATED", 401),
            ("FORBIDDEN", 403),
            ("CHECKOUT_NOT_FOUND", 404),
            ("CHECKOUT_EXPIRED", 410),
            ("CHECKOUT_SUPERSEDED", 409),
            ("CHECKOUT_INACTIVE", 409),
            ("CHECKOUT_COMPLETED", 409),
            ("PAYMENT_IN_PROGRESS", 409),
            ("SNAPSHOT_MISMATCH", 409),
            ("CART_EMPTY", 422),
            ("VALIDATION_FAILED", 422),
            ("IDEMPOTENCY_KEY_REQUIRED", 400),
            ("IDEMPOTENCY_KEY_REUSED", 422),
            ("REQUEST_IN_PROGRESS", 409),
            ("TOKEN_INVALID", 401),
            ("TOKEN_EXPIRED", 401),
            ("TOKEN_REPLAYED", 409),
            ("PAYMENT_DECLINED", 402),
            ("PAYLOAD_TOO_LARGE", 413),
            ("MALFORMED_REQUEST", 400),
            ("RATE_LIMITED", 429),
            ("UNSUPPORTED_MEDIA_TYPE", 415),
            ("METHOD_NOT_ALLOWED", 405),
            ("URI_TOO_LONG", 414),
            ("HEADERS_TOO_LARGE", 431),
            ("NOT_FOUND", 404),
            ("PRECONDITION_FAILED", 412),
            ("SERVICE_UNAVAILABLE", 503),
            ("INTERNAL_ERROR", 500),
        ];
        assert_eq!(expected.len(), ErrorCode::ALL.len());
        for (code, (name, status)) in ErrorCode::ALL.iter().zip(expected) {
            assert_eq!(code.as_str(), name);
            assert_eq!(code.http_status(), status, "{name}");
        }
    }

    #[test]
    fn checkout_ending_codes_send_the_shopper_to_the_cart() {
        for code in [
            ErrorCode::CheckoutExpired,
            ErrorCode::CheckoutSuperseded,
            ErrorCode::CheckoutInactive,
            ErrorCode::CheckoutNotFound,
        ] {
            let problem = Rejection::new(code).to_problem();
            assert_eq!(problem.redirect.as_deref(), Some("/cart"));
            assert_eq!(problem.status, code.http_status());
        }
        assert_eq!(Rejection::new(ErrorCode::SnapshotMismatch).redirect, None);
    }
}

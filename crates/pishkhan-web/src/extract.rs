//! Extractors that turn every malformed request into a problem response, never a 500. JSON
//! and form bodies are also held to `text_guard`'s rule on control characters.

use std::net::SocketAddr;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, FormRejection, JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use pishkhan_store::AuditContext;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;
use crate::middleware::REQUEST_ID;
use crate::text_guard;
use pishkhan_app::AppError;

/// JSON body; syntax, type, size and content-type errors become problems with clear codes.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (req, body) = buffered(req, state)
            .await
            .map_err(|e| json_rejection(e.into()))?;
        let parsed = match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => v,
            Err(e @ JsonRejection::JsonDataError(_)) => {
                whole_numbers_as_integers(&body).ok_or_else(|| json_rejection(e))?
            }
            Err(e) => return Err(json_rejection(e)),
        };
        text_guard::check_json(&body)?;
        Ok(ApiJson(parsed))
    }
}

/// JSON has one number type, and JSON Schema counts `65.0` as an integer, so a client that
/// writes a whole number with a fraction part is read as if it had not. Tried only once the
/// body failed to deserialize, so the common path parses once; a body that still fails keeps
/// its first error.
fn whole_numbers_as_integers<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    fn normalize(v: &mut serde_json::Value) -> bool {
        match v {
            serde_json::Value::Number(n) if !n.is_i64() && !n.is_u64() => {
                let Some(f) = n.as_f64() else { return false };
                // Within ±2^53 an f64 is exact, so the integer is the number the client meant.
                if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 {
                    *v = serde_json::Value::from(f as i64);
                    true
                } else {
                    false
                }
            }
            serde_json::Value::Array(items) => {
                items.iter_mut().fold(false, |c, i| normalize(i) | c)
            }
            serde_json::Value::Object(map) => map.values_mut().fold(false, |c, i| normalize(i) | c),
            _ => false,
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if !normalize(&mut value) {
        return None;
    }
    serde_json::from_value(value).ok()
}

/// Reads the body once, so that axum's extractor and the text check see the same bytes.
/// The body limit applies as it would to the extractor alone.
async fn buffered(req: Request, state: &AppState) -> Result<(Request, Bytes), BytesRejection> {
    let (parts, body) = req.into_parts();
    let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state).await?;
    Ok((Request::from_parts(parts, Body::from(bytes.clone())), bytes))
}

fn json_rejection(e: JsonRejection) -> ApiError {
    match e {
        JsonRejection::JsonDataError(e) => ApiError::App(AppError::Invalid {
            code: "invalid_body",
            field: None,
            message: e.body_text(),
        }),
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request("malformed_json", e.body_text()),
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::PayloadTooLarge
        }
        other => ApiError::bad_request("bad_body", other.body_text()),
    }
}

/// Query string; a wrong type (`page=abc`) is a 400 problem.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                Err(ApiError::bad_request("invalid_query", e.body_text()))
            }
            Err(e) => Err(ApiError::bad_request("invalid_query", e.body_text())),
        }
    }
}

/// Path segments. axum's own rejection is `text/plain`; a segment that does not decode or does
/// not parse (`/exchange/proof/abc`) is a 400 problem instead, like a malformed query.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            // A route whose template and handler disagree is our bug, not the client's.
            Err(e) if e.status().is_server_error() => Err(ApiError::App(AppError::Internal(
                anyhow::anyhow!("path extraction: {}", e.body_text()),
            ))),
            Err(e) => Err(ApiError::bad_request("invalid_path", e.body_text())),
        }
    }
}

/// URL-encoded form body for the web UI.
pub struct ApiForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (req, body) = buffered(req, state)
            .await
            .map_err(|e| form_rejection(e.into()))?;
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => {
                // A GET form reads the query string, which the URI check has already seen.
                text_guard::check_urlencoded(&body)?;
                Ok(ApiForm(v))
            }
            Err(e) => Err(form_rejection(e)),
        }
    }
}

fn form_rejection(e: FormRejection) -> ApiError {
    match e {
        FormRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::PayloadTooLarge
        }
        e => ApiError::bad_request("invalid_form", e.body_text()),
    }
}

/// Who, when and from where, for the audit log.
pub struct Ctx(pub AuditContext);

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| {
            crate::client_ip::client_ip(c.0.ip(), &parts.headers, &state.config().trusted_proxies)
                .to_string()
        });
        let request_id = parts
            .headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok(Ctx(AuditContext {
            now_ms: state.now_ms(),
            ip,
            request_id,
        }))
    }
}

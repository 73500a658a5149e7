//! The agency services over HTTP: JSON in, JSON out, one POST route per service.
//!
//! | route | request | answer |
//! |---|---|---|
//! | `POST /v1/civil-registry/person` | `{national_code}` | `{found, national_code, first_name, last_name, father_name, birth_date, birth_place, gender, card_serial, card_status, alive}` |
//! | `POST /v1/mobile/ownership` | `{national_code, mobile}` | `{match}` (Shahkar-style yes/no) |
//! | `POST /v1/postal/address` | `{postal_code}` | `{found, postal_code, address_fa, address_en, province, province_en, city, city_en}` |
//! | `POST /v1/postal/address-match` | `{postal_code, national_code}` | `{match}` |
//! | `POST /v1/traffic/fines` | `{national_code}` | `{found, national_code, balance_rials, plates}` |
//! | `GET /healthz` | | `{status, source, seed, size}` |
//!
//! An unknown person or postal code is a normal answer (`200` with `found: false` or
//! `match: false`), not a 404: "no such person" is what the inquiry asked. Bad input is a 4xx
//! `application/problem+json` with a stable `code`: `malformed_json` (400), `invalid_national_code`,
//! `invalid_mobile`, `invalid_postal_code` (422), `payload_too_large` (413, over 16 KiB),
//! `not_found` (404), `method_not_allowed` (405). A snapshot read failure is `storage_unavailable`
//! (503). Identifiers are accepted in any form the domain parsers accept (Persian digits,
//! separators, `+98`), and answers carry the canonical form.
//!
//! # Signing seam
//!
//! Every service request passes through an [`Envelope`]: [`Envelope::verify_request`] sees the
//! raw headers and body before anything is parsed and may reject the request;
//! [`Envelope::sign_response`] sees the final status and body bytes of every answer, problems
//! included, and may add headers (a detached signature, a key id, a timestamp). The exchange's
//! ed25519 envelopes plug in here; until then [`Unsigned`] accepts everything and adds nothing.
//!
//! # Cost per request
//!
//! A lookup is arithmetic plus at most one record: generated in ~a microsecond for a
//! [`Population`], or one 64-byte `pread` for a
//! [`Snapshot`]. Snapshot reads run on the async worker directly: a page-cache
//! hit costs about as much as a syscall, far less than handing it to a blocking pool. Answers
//! are serialized from borrowed strings; no layers beyond routing run per request.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use pishkhan_domain::model::FieldError;
use pishkhan_domain::{Mobile, NationalCode, PostalCode};
use serde::{Deserialize, Serialize};

pub use pishkhan_protocol::{Envelope, MAX_BODY_BYTES, Rejection, Service, Unsigned};

use crate::error::AgencyError;
use crate::population::Population;
use crate::registry::Registry;
use crate::snapshot::Snapshot;

const JSON: &str = "application/json";
const PROBLEM_JSON: &str = "application/problem+json";

/// What the handlers share: the data and the envelope.
#[derive(Clone)]
pub struct AgencyState {
    registry: Arc<dyn Registry>,
    envelope: Arc<dyn Envelope>,
}

impl AgencyState {
    pub fn new(registry: Arc<dyn Registry>) -> Self {
        Self {
            registry,
            envelope: Arc::new(Unsigned),
        }
    }

    /// Replaces the envelope (the default is [`Unsigned`]).
    pub fn with_envelope(mut self, envelope: Arc<dyn Envelope>) -> Self {
        self.envelope = envelope;
        self
    }

    pub fn registry(&self) -> &dyn Registry {
        self.registry.as_ref()
    }
}

impl From<Population> for AgencyState {
    fn from(p: Population) -> Self {
        Self::new(Arc::new(p))
    }
}

impl From<Snapshot> for AgencyState {
    fn from(s: Snapshot) -> Self {
        Self::new(Arc::new(s))
    }
}

impl From<Arc<dyn Registry>> for AgencyState {
    fn from(r: Arc<dyn Registry>) -> Self {
        Self::new(r)
    }
}

/// The agency's routes.
pub fn router(state: AgencyState) -> Router {
    let mut router = Router::new().route("/healthz", get(healthz));
    for service in Service::ALL {
        router = router.route(
            service.path(),
            post(move |State(state): State<AgencyState>, req: Request| handle(state, service, req)),
        );
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Serves the agency on an already bound listener until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: impl Into<AgencyState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state.into());
    let listener = listener.tap_io(|tcp| {
        // Small request/response pairs: do not let Nagle hold back the answer.
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// A problem: status, stable code, human detail and the offending field.
#[derive(Debug)]
struct Problem {
    status: StatusCode,
    code: &'static str,
    detail: String,
    field: Option<&'static str>,
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    code: &'a str,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl Problem {
    fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            field: None,
        }
    }

    fn body(&self) -> Vec<u8> {
        let body = ProblemBody {
            kind: format!("https://pishkhan.example/problems/{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error"),
            status: self.status.as_u16(),
            code: self.code,
            detail: &self.detail,
            field: self.field,
        };
        serde_json::to_vec(&body).expect("a problem serializes")
    }
}

impl From<FieldError> for Problem {
    fn from(e: FieldError) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: e.code,
            detail: e.message,
            field: Some(e.field),
        }
    }
}

impl From<AgencyError> for Problem {
    fn from(e: AgencyError) -> Self {
        tracing::error!(error = %e, "agency data read failed");
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "the agency could not read its records; try again later",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        respond(self.status, PROBLEM_JSON, self.body(), HeaderMap::new())
    }
}

fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
    mut headers: HeaderMap,
) -> Response {
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    *resp.headers_mut() = headers;
    resp
}

async fn handle(state: AgencyState, service: Service, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match read_body(&parts.headers, body).await {
        Ok(b) => b,
        Err(problem) => return finish(&state, service, &[], Err(problem)),
    };
    let answer = match state
        .envelope
        .verify_request(service, &parts.headers, &bytes)
    {
        Ok(()) => answer(state.registry(), service, &bytes),
        Err(r) => Err(Problem::new(r.status, r.code, r.detail)),
    };
    finish(&state, service, &bytes, answer)
}

/// Reads the whole body, refusing more than [`MAX_BODY_BYTES`] (by `Content-Length` before
/// reading, and by counting while reading a chunked body).
async fn read_body(headers: &HeaderMap, mut body: Body) -> Result<Bytes, Problem> {
    let too_large = || {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let mut first: Option<Bytes> = None;
    let mut rest: Vec<u8> = Vec::new();
    loop {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        let data = match frame {
            None => break,
            Some(Err(_)) => {
                return Err(Problem::new(
                    StatusCode::BAD_REQUEST,
                    "body_read_failed",
                    "the request body could not be read",
                ));
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue, // trailers
            },
        };
        let so_far = first.as_ref().map_or(0, Bytes::len) + rest.len();
        if so_far + data.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        match &first {
            None => first = Some(data),
            Some(_) => rest.extend_from_slice(&data),
        }
    }
    Ok(match first {
        None => Bytes::new(),
        Some(b) if rest.is_empty() => b,
        Some(b) => {
            let mut all = b.to_vec();
            all.extend_from_slice(&rest);
            Bytes::from(all)
        }
    })
}

fn finish(
    state: &AgencyState,
    service: Service,
    request: &[u8],
    answer: Result<Vec<u8>, Problem>,
) -> Response {
    let (status, content_type, body) = match answer {
        Ok(body) => (StatusCode::OK, JSON, body),
        Err(p) => (p.status, PROBLEM_JSON, p.body()),
    };
    let mut headers = HeaderMap::new();
    state
        .envelope
        .sign_response(service, request, status, &body, &mut headers);
    respond(status, content_type, body, headers)
}

/// Request fields. All optional, so that a missing field is reported by its parser as
/// "required" with the field's own code, like an empty one.
#[derive(Deserialize)]
struct Fields<'a> {
    #[serde(borrow, default)]
    national_code: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    mobile: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    postal_code: Option<Cow<'a, str>>,
}

fn parse_fields(body: &[u8]) -> Result<Fields<'_>, Problem> {
    serde_json::from_slice(body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body must be a JSON object with string fields: {e}"),
        )
    })
}

fn field<'a>(v: &'a Option<Cow<'_, str>>) -> &'a str {
    v.as_deref().unwrap_or("")
}

fn to_json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("answers serialize")
}

fn ascii(b: &[u8]) -> &str {
    std::str::from_utf8(b).expect("ASCII digits")
}

#[derive(Serialize)]
struct PersonAnswer<'a> {
    found: bool,
    national_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    father_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    birth_date: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    birth_place: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gender: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    card_serial: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    card_status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alive: Option<bool>,
}

#[derive(Serialize)]
struct MatchAnswer {
    #[serde(rename = "match")]
    matches: bool,
}

#[derive(Serialize)]
struct AddressAnswer<'a> {
    found: bool,
    postal_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_fa: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_en: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    province: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    province_en: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    city: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    city_en: Option<&'a str>,
}

#[derive(Serialize)]
struct FinesAnswer<'a> {
    found: bool,
    national_code: &'a str,
    balance_rials: i64,
    plates: u8,
}

/// Parses the request of `service` and answers it from `registry`.
fn answer(registry: &dyn Registry, service: Service, body: &[u8]) -> Result<Vec<u8>, Problem> {
    let f = parse_fields(body)?;
    match service {
        Service::CivilRegistryPerson => {
            let code = NationalCode::parse(field(&f.national_code))?;
            let Some(r) = registry.record_by_national_code(&code)? else {
                return Ok(to_json(&PersonAnswer {
                    found: false,
                    national_code: code.as_str(),
                    first_name: None,
                    last_name: None,
                    father_name: None,
                    birth_date: None,
                    birth_place: None,
                    gender: None,
                    card_serial: None,
                    card_status: None,
                    alive: None,
                }));
            };
            let birth = r.birth_date_digits();
            let serial = r.card_serial();
            Ok(to_json(&PersonAnswer {
                found: true,
                national_code: code.as_str(),
                first_name: Some(r.first_name()),
                last_name: Some(r.last_name()),
                father_name: Some(r.father_name()),
                birth_date: Some(ascii(&birth)),
                birth_place: Some(r.birth_place()),
                gender: Some(r.gender().as_str()),
                card_serial: Some(serial.as_str()),
                card_status: Some(r.card_status().as_str()),
                alive: Some(r.alive()),
            }))
        }
        Service::MobileOwnership => {
            let code = NationalCode::parse(field(&f.national_code))?;
            let mobile = Mobile::parse(field(&f.mobile))?;
            let matches = registry.mobile_matches(&code, &mobile)?;
            Ok(to_json(&MatchAnswer { matches }))
        }
        Service::PostalAddress => {
            let postal = PostalCode::parse(field(&f.postal_code))?;
            let Some(r) = registry.record_by_postal_code(&postal)? else {
                return Ok(to_json(&AddressAnswer {
                    found: false,
                    postal_code: postal.as_str(),
                    address_fa: None,
                    address_en: None,
                    province: None,
                    province_en: None,
                    city: None,
                    city_en: None,
                }));
            };
            let a = r.address();
            Ok(to_json(&AddressAnswer {
                found: true,
                postal_code: postal.as_str(),
                address_fa: Some(&a.text_fa),
                address_en: Some(&a.text_en),
                province: Some(a.province_fa),
                province_en: Some(a.province_en),
                city: Some(a.city_fa),
                city_en: Some(a.city_en),
            }))
        }
        Service::PostalAddressMatch => {
            let postal = PostalCode::parse(field(&f.postal_code))?;
            let code = NationalCode::parse(field(&f.national_code))?;
            let matches = registry.postal_code_matches(&postal, &code)?;
            Ok(to_json(&MatchAnswer { matches }))
        }
        Service::TrafficFines => {
            let code = NationalCode::parse(field(&f.national_code))?;
            let r = registry.record_by_national_code(&code)?;
            Ok(to_json(&FinesAnswer {
                found: r.is_some(),
                national_code: code.as_str(),
                balance_rials: r.map_or(0, |r| r.traffic_fines_rials()),
                plates: r.map_or(0, |r| r.vehicle_plates()),
            }))
        }
    }
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    source: &'static str,
    seed: u64,
    size: u64,
}

async fn healthz(State(state): State<AgencyState>) -> Response {
    let r = state.registry();
    let body = to_json(&Health {
        status: "ok",
        source: r.source(),
        seed: r.seed(),
        size: r.size(),
    });
    respond(StatusCode::OK, JSON, body, HeaderMap::new())
}

async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "the services take POST with a JSON body; /healthz takes GET",
    )
}

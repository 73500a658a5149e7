//! The OpenAPI 3 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::api::{
    audit, auth, bookings, citizen, counters, figures, identity, inquiries, queue, registry,
    search, staff, types,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Pishkhan API", description = "Government service counters: registry, catalogue, staff, audit and appointments."),
    paths(
        auth::login, auth::logout, auth::me, auth::change_password,
        citizen::request_code, citizen::login, citizen::my_bookings,
        queue::show, queue::stream, queue::check_in, queue::walk_in, queue::call_next, queue::complete, queue::no_show,
        queue::recall, queue::transfer, queue::pause, queue::resume,
        registry::provinces, registry::agencies, registry::offices, registry::office,
        registry::create_office, registry::office_staff, registry::services, registry::service,
        staff::create, staff::invitation, staff::accept, staff::deactivate,
        audit::list,
        bookings::availability, bookings::create, bookings::get, bookings::cancel, bookings::reschedule,
        bookings::get_schedule, bookings::put_schedule, bookings::put_holiday, bookings::put_closure,
        figures::office, figures::daily,
        crate::api::releases::create, crate::api::releases::get, crate::api::releases::submit,
        crate::api::releases::close, crate::api::releases::bundle, crate::api::releases::mine,
        registry::put_status, search::slots, counters::get, counters::put,
        identity::create, identity::get, identity::send_code, identity::confirm_code, identity::keys, identity::operators,
        inquiries::create, inquiries::proof, inquiries::checkpoint, inquiries::keys, inquiries::my_data_access,
        crate::api::fees::fee, crate::api::fees::tariffs, crate::api::fees::publish,
        crate::api::indexation::import_cpi, crate::api::indexation::create_run, crate::api::indexation::get_run,
        crate::api::indexation::edit_row, crate::api::indexation::publish,
        crate::api::payments::create, crate::api::payments::list, crate::api::payments::get, crate::api::payments::events, crate::api::payments::receipt, crate::api::payments::refund, crate::api::payments::callback,
        crate::api::payments::set_payee, crate::api::payments::settle, crate::api::payments::settlements, crate::api::payments::settlement_file,
        crate::api::payments::reconcile, crate::api::payments::reconciliations, crate::api::payments::reconciliation, crate::api::payments::balances, crate::api::payments::findings, crate::api::payments::check,
        crate::api::compliance::get_rules, crate::api::compliance::put_rules, crate::api::compliance::run,
        crate::api::compliance::findings, crate::api::compliance::sanction, crate::api::compliance::sanctions,
        crate::api::compliance::create_request, crate::api::compliance::office_requests,
        crate::api::compliance::open_requests, crate::api::compliance::decide,
        crate::api::compliance::dismiss,
        crate::api::bookings::delete_closure,
        crate::api::reports::create, crate::api::reports::list, crate::api::reports::mine, crate::api::reports::get,
        crate::api::reports::triage, crate::api::reports::answer, crate::api::reports::more,
        crate::api::stats::online_service_index, crate::api::stats::once_only,
    ),
    components(schemas(
        types::ProvinceOut, types::AgencyOut, types::OfficeOut, types::OfficeList, types::HoursOut,
        types::ServiceOut, types::ServiceList, types::TextOut, types::LoginIn, types::LoginOut,
        types::UserOut, types::StaffOut, types::StaffCreated, types::AuditOut, types::AuditList,
        types::AcceptInvitationIn, auth::ChangePasswordIn, types::InvitationOut, types::ProblemOut, crate::input::NewStaffIn,
        bookings::SlotOut, bookings::DayOut, bookings::AvailabilityOut, bookings::BookingIn,
        bookings::BookingOut, bookings::ScheduleIo, bookings::NamedDayIn, bookings::RescheduleIn,
        citizen::CitizenCodeIn, citizen::CodeOut, citizen::CitizenLoginIn, citizen::CitizenLoginOut,
        queue::QueueOut, queue::LineEntryOut, queue::NowServingOut, queue::RecentCallOut, queue::ServiceWaitingOut, queue::TicketOut, queue::CheckInIn, queue::WalkInIn, queue::CallIn, queue::TransferIn,
        figures::FiguresOut, figures::FiguresRowOut, figures::FiguresList,
        crate::api::releases::ReleaseIn, crate::api::releases::ReleaseOfficeIn,
        crate::api::releases::ReleaseOut, crate::api::releases::ReleaseOfficeOut,
        crate::api::releases::PlannedSlotOut, crate::api::releases::ReleaseRequestIn,
        crate::api::releases::ReleaseRequestOut, crate::api::releases::CloseOut,
        crate::api::releases::BundleOut, crate::api::releases::MyReleaseOut,
        crate::api::releases::ReleaseOfferOut,
        registry::OfficeStatusIn, search::SlotMatchOut, search::SearchOut, counters::CounterIo, counters::CountersIo, inquiries::PurposeIn,
        identity::VerifyIn, identity::VerifyPurposeIn, identity::VerifyOut, identity::SignalOut,
        identity::AttributeDetailOut, identity::SecondFactorCodeIn, identity::OperatorFailuresOut, inquiries::InquiryIn, inquiries::InquiryOut, inquiries::CheckpointOut,
        inquiries::ProofOut, inquiries::DataAccessOut, inquiries::DataAccessList,
        crate::api::fees::FeeOut, crate::api::fees::FeeComponentOut, crate::api::fees::TariffOut,
        crate::api::fees::TariffComponentOut, crate::api::fees::TariffIn, crate::api::fees::TariffComponentIn,
        crate::api::indexation::CpiImportIn, crate::api::indexation::CpiImportOut, crate::api::indexation::RunIn,
        crate::api::indexation::RunOut, crate::api::indexation::RunRowOut, crate::api::indexation::FactorOut,
        crate::api::indexation::RowEditIn, crate::api::indexation::PublishRunIn,
        crate::api::payments::PaymentIn, crate::api::payments::PaymentOut, crate::api::payments::PaymentComponentOut, crate::api::payments::PaymentEventOut,
        crate::api::payments::RefundOut, crate::api::payments::PaymentHistoryOut, crate::api::payments::ReceiptOut, crate::api::payments::RefundIn, crate::api::payments::CallbackIn,
        crate::api::payments::CallbackOut, crate::api::payments::PayeeAccountIn, crate::api::payments::SettlementOut, crate::api::payments::DayIn, crate::api::payments::MismatchOut,
        crate::api::payments::ReconciliationOut, crate::api::payments::BalanceOut, crate::api::payments::FindingOut,
        crate::api::compliance::RulesOut, crate::api::compliance::RulesIn, crate::api::compliance::RunOut,
        crate::api::compliance::ComplianceFindingOut, crate::api::compliance::FindingsOut,
        crate::api::compliance::SanctionIn, crate::api::compliance::SanctionOut,
        crate::api::compliance::ComplianceRequestIn, crate::api::compliance::ComplianceRequestOut,
        crate::api::compliance::DecisionIn,
        crate::api::compliance::DismissalIn,
        crate::api::reports::ReportIn, crate::api::reports::ReportCreatedOut, crate::api::reports::ReportOut,
        crate::api::reports::ReportEntryOut, crate::api::reports::ReportList, crate::api::reports::TriageIn, crate::api::reports::ReportTextIn,
        crate::api::stats::OnlineServiceIndexOut, crate::api::stats::AgencyIndexOut,
        crate::api::stats::OnceOnlyOut, crate::api::stats::OnceOnlyItemOut,
    )),
    modifiers(&Security, &TextRefusals, &MalformedInput, &AccessProblems, &PlainText),
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every operation can answer 422 `control_character`: the text check covers the path, the
/// query and the body of every request, so operations without a 422 of their own get one.
struct TextRefusals;

impl utoipa::Modify for TextRefusals {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let refusal = ResponseBuilder::new()
            .description("Invalid input, such as a control character in any text")
            .content(
                crate::error::PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ProblemOut")))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                op.responses
                    .responses
                    .entry("422".to_string())
                    .or_insert_with(|| refusal.clone().into());
            }
        }
    }
}

/// The extractors (`crate::extract`) answer malformed input before any handler runs: a body
/// that is not JSON or not of the handler's shape, a query or path segment that does not
/// parse are 400, and a body without a JSON content type is 415, each a problem. Added here for
/// every operation that takes such input, so that no annotation can forget them.
struct MalformedInput;

impl utoipa::Modify for MalformedInput {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{RefOr, Response};
        const BAD_INPUT: &str = "malformed_json, bad_body, invalid_query or invalid_path: a body, \
            query or path segment that does not parse";
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                let has_body = op.request_body.is_some();
                let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                if !has_body && !has_params {
                    continue;
                }
                let responses = &mut op.responses.responses;
                match responses.get_mut("400") {
                    // An operation's own 400 keeps its codes and learns the extractors' ones.
                    Some(RefOr::T(own)) => {
                        own.description = format!("{}; or {BAD_INPUT}", own.description);
                    }
                    Some(RefOr::Ref(_)) => {}
                    None => {
                        responses.insert("400".to_string(), problem(BAD_INPUT).into());
                    }
                }
                if has_body {
                    responses.entry("415".to_string()).or_insert_with(|| {
                        problem("unsupported_media_type: the body is not sent as application/json")
                            .into()
                    });
                }
            }
        }
        fn problem(description: &str) -> Response {
            use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
            ResponseBuilder::new()
                .description(description)
                .content(
                    crate::error::PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ProblemOut")))
                        .build(),
                )
                .build()
        }
    }
}

/// Problems every operation of a kind can answer whatever its handler does: a secured operation
/// answers 401 without a live session and 403 to a role or office it does not serve (the
/// extractors decide both before the handler runs), and an operation with a path parameter
/// answers 404 when the thing it names does not exist. Added here, like the 400 and 415 of
/// `MalformedInput`, so that no annotation can forget them.
struct AccessProblems;

impl utoipa::Modify for AccessProblems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::path::ParameterIn;
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                // A path segment, or a filter by office or service, names something that may
                // not exist.
                let names_a_thing = op.parameters.iter().flatten().any(|p| {
                    matches!(p, RefOr::T(p) if matches!(p.parameter_in, ParameterIn::Path)
                        || matches!(p.name.as_str(), "office" | "service"))
                });
                let responses = &mut op.responses.responses;
                if secured {
                    responses.entry("401".to_string()).or_insert_with(|| {
                        problem("unauthenticated: no live session or token").into()
                    });
                    responses.entry("403".to_string()).or_insert_with(|| {
                        problem("forbidden: the caller's role or office may not do this").into()
                    });
                }
                if names_a_thing {
                    responses
                        .entry("404".to_string())
                        .or_insert_with(|| problem("not_found: no such resource").into());
                }
            }
        }
    }
}

fn problem(description: &str) -> utoipa::openapi::Response {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            crate::error::PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ProblemOut")))
                .build(),
        )
        .build()
}

/// Every text the server reads refuses control characters (422 `control_character`, see
/// `TextRefusals`), so a string parameter or request-body field with no shape of its own says
/// so with a pattern: a client, or a fuzzer, that keeps to the document is then not refused for
/// it. Response schemas are left alone: a problem's detail may quote what was refused.
struct PlainText;

/// No C0 or C1 control character and no DEL, in the ECMA-262 syntax of JSON Schema patterns.
const PLAIN_TEXT: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";

/// [`PLAIN_TEXT`] with at least one character that is not white space.
const SAYS_SOMETHING: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$";

impl utoipa::Modify for PlainText {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::path::ParameterIn;
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                for param in op.parameters.iter_mut().flatten() {
                    if let RefOr::T(param) = param
                        && let Some(RefOr::T(schema)) = param.schema.as_mut()
                    {
                        plain(schema);
                        // The filters read an empty value as a left-out one (a form's empty
                        // field), so an optional query parameter's shape allows it too.
                        let optional = !matches!(param.required, utoipa::openapi::Required::True);
                        if optional && matches!(param.parameter_in, ParameterIn::Query) {
                            allow_empty(schema);
                        }
                    }
                }
            }
        }
        let mut bodies = std::collections::BTreeSet::new();
        for item in openapi.paths.paths.values() {
            let operations = [&item.get, &item.put, &item.post, &item.delete, &item.patch];
            for op in operations.into_iter().flatten() {
                let body = match &op.request_body {
                    Some(RefOr::T(body)) => body,
                    _ => continue,
                };
                for content in body.content.values() {
                    if let RefOr::T(utoipa::openapi::Content {
                        schema: Some(RefOr::Ref(r)),
                        ..
                    }) = content
                    {
                        bodies.insert(schema_name(r));
                    }
                }
            }
        }
        if let Some(components) = openapi.components.as_mut() {
            // A body's parts are bodies too: `InquiryIn.purpose` is a `PurposeIn`.
            let mut todo: Vec<String> = bodies.iter().cloned().collect();
            while let Some(name) = todo.pop() {
                if let Some(RefOr::T(schema)) = components.schemas.get(&name) {
                    let mut found = Vec::new();
                    refs_in(schema, &mut found);
                    for r in found {
                        if bodies.insert(r.clone()) {
                            todo.push(r);
                        }
                    }
                }
            }
            for (name, schema) in components.schemas.iter_mut() {
                if let (true, RefOr::T(schema)) = (bodies.contains(name), schema) {
                    plain(schema);
                    closed(schema);
                }
            }
        }

        /// Every body type denies unknown fields (`serde(deny_unknown_fields)`); the document
        /// says so, or a key the server refuses would look like one it ignores.
        fn closed(schema: &mut utoipa::openapi::Schema) {
            use utoipa::openapi::schema::{AdditionalProperties, Schema};
            if let Schema::Object(obj) = schema
                && !obj.properties.is_empty()
                && obj.additional_properties.is_none()
            {
                obj.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
        }

        fn allow_empty(schema: &mut utoipa::openapi::Schema) {
            use utoipa::openapi::schema::Schema;
            if let Schema::Object(obj) = schema {
                if let Some(values) = obj.enum_values.as_mut() {
                    values.push(serde_json::Value::from(""));
                } else if let Some(p) = obj.pattern.as_mut()
                    && let Some(inner) = p.strip_prefix('^').and_then(|p| p.strip_suffix('$'))
                {
                    *p = format!("^({inner})?$");
                }
            }
        }

        fn schema_name(r: &utoipa::openapi::Ref) -> String {
            r.ref_location.rsplit('/').next().unwrap_or("").to_string()
        }

        fn refs_in(schema: &utoipa::openapi::Schema, found: &mut Vec<String>) {
            use utoipa::openapi::schema::{ArrayItems, Schema};
            let mut each = |item: &RefOr<Schema>| match item {
                RefOr::Ref(r) => found.push(schema_name(r)),
                RefOr::T(s) => refs_in(s, found),
            };
            match schema {
                Schema::Object(obj) => obj.properties.values().for_each(&mut each),
                Schema::Array(arr) => {
                    if let ArrayItems::RefOrSchema(items) = &arr.items {
                        each(items);
                    }
                }
                Schema::OneOf(one) => one.items.iter().for_each(&mut each),
                Schema::AllOf(all) => all.items.iter().for_each(&mut each),
                Schema::AnyOf(any) => any.items.iter().for_each(&mut each),
                _ => {}
            }
        }

        fn plain(schema: &mut utoipa::openapi::Schema) {
            use utoipa::openapi::schema::{ArrayItems, Schema, SchemaType, Type};
            match schema {
                Schema::Object(obj) => {
                    let is_string = match &obj.schema_type {
                        SchemaType::Type(t) => *t == Type::String,
                        SchemaType::Array(ts) => ts.contains(&Type::String),
                        SchemaType::AnyValue => false,
                    };
                    if is_string && let Some(set) = obj.pattern.as_deref().and_then(closed_set) {
                        // A closed set is an enum, which a client can read and a fuzzer
                        // draws from; an optional one also takes null.
                        let mut values: Vec<serde_json::Value> =
                            set.into_iter().map(serde_json::Value::from).collect();
                        if matches!(&obj.schema_type, SchemaType::Array(ts) if ts.contains(&Type::Null))
                        {
                            values.push(serde_json::Value::Null);
                        }
                        obj.enum_values = Some(values);
                        obj.pattern = None;
                    }
                    if is_string
                        && obj.pattern.is_none()
                        && obj.format.is_none()
                        && obj.enum_values.is_none()
                    {
                        // Text that must say something (`min_length`) is trimmed and refused
                        // when blank, so it needs one character that is no space.
                        let pattern = match obj.min_length {
                            Some(n) if n > 0 => SAYS_SOMETHING,
                            _ => PLAIN_TEXT,
                        };
                        obj.pattern = Some(pattern.to_string());
                    }
                    for prop in obj.properties.values_mut() {
                        if let RefOr::T(prop) = prop {
                            plain(prop);
                        }
                    }
                }
                Schema::Array(arr) => {
                    if let ArrayItems::RefOrSchema(items) = &mut arr.items
                        && let RefOr::T(items) = items.as_mut()
                    {
                        plain(items);
                    }
                }
                Schema::OneOf(one) => one.items.iter_mut().for_each(|i| {
                    if let RefOr::T(i) = i {
                        plain(i)
                    }
                }),
                Schema::AllOf(all) => all.items.iter_mut().for_each(|i| {
                    if let RefOr::T(i) = i {
                        plain(i)
                    }
                }),
                Schema::AnyOf(any) => any.items.iter_mut().for_each(|i| {
                    if let RefOr::T(i) = i {
                        plain(i)
                    }
                }),
                _ => {}
            }
        }
    }
}

/// The words of a closed-set pattern, `^(active|warned|suspended)$`: annotations can give a
/// pattern to any field or parameter, and `PlainText` turns these into enums.
fn closed_set(pattern: &str) -> Option<Vec<String>> {
    let inner = pattern.strip_prefix("^(")?.strip_suffix(")$")?;
    let words: Vec<String> = inner.split('|').map(str::to_string).collect();
    let word = |w: &String| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    words.iter().all(word).then_some(words)
}

/// The document as JSON, for tests and tooling.
pub fn openapi_json() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap_or_default()
}

pub async fn serve() -> Json<serde_json::Value> {
    Json(openapi_json())
}

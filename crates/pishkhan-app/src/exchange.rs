//! The inquiry exchange inside the Pishkhan server: offices' staff run purpose-bound inquiries
//! against the agencies over signed HTTP, every exchange is appended to the Merkle message log
//! (in the server's own database, through [`StoreLog`]), and citizens see who looked them up.
//!
//! **Invariant:** an inquiry's answer reaches the caller only after its log entry is committed;
//! refused and failed inquiries are logged too.

use crate::verification_writer::VerificationWriter;
use std::sync::Arc;

use async_trait::async_trait;
use pishkhan_domain::access::Action;
use pishkhan_domain::model::{OfficeCode, ServiceCode};
use pishkhan_exchange::{
    Batch, DirectoryHandle, Exchange, IndexFields, Inquiry, InquiryError, InquiryOutcome,
    LogAppender, LogColumn, LogEntry, LogHead, LogOutcome, LogStore, LogStoreError, MemberId,
    Purpose, ServiceId, SignedCheckpoint, StoredEntry, Strays,
};
use pishkhan_merkle::{Hash, NodeId};
use pishkhan_sign::{KeyPair, KeyStatus, Keyring};
use pishkhan_store::{
    ExchangeCheckpoint, ExchangeLogBatch, ExchangeLogEntry, PageRequest, Store, StoreError,
};
use serde_json::Value;

use crate::{App, AppError, Caller, Citizen, StaffSession};

/// The exchange log kept in the server's [`Store`] (SQLite or PostgreSQL).
pub struct StoreLog(pub Arc<dyn Store>);

fn backend(e: StoreError) -> LogStoreError {
    LogStoreError::backend(e)
}

fn checkpoint_out(c: ExchangeCheckpoint) -> SignedCheckpoint {
    SignedCheckpoint {
        size: c.size,
        root: c.root,
        note_body: c.note_body,
        signature: c.signature,
    }
}

#[async_trait]
impl LogStore for StoreLog {
    async fn load_head(&self) -> Result<Option<LogHead>, LogStoreError> {
        Ok(self
            .0
            .exchange_log_head()
            .await
            .map_err(backend)?
            .map(|(frontier, size)| LogHead { frontier, size }))
    }

    async fn append_batch(&self, batch: &Batch) -> Result<(), LogStoreError> {
        let entries = batch
            .entries
            .iter()
            .map(|e| ExchangeLogEntry {
                index: 0,
                bytes: e.bytes.clone(),
                leaf_hash: e.leaf_hash,
                at_ms: e.fields.at_ms,
                subject: e.fields.subject.clone(),
                office: e.fields.office.clone(),
            })
            .collect();
        let c = &batch.checkpoint;
        let row = ExchangeLogBatch {
            first_index: batch.first_index,
            entries,
            nodes: batch
                .nodes
                .iter()
                .map(|(id, h)| (id.level, id.index, *h))
                .collect(),
            frontier: batch.frontier.clone(),
            checkpoint: ExchangeCheckpoint {
                size: c.size,
                root: c.root,
                note_body: c.note_body.clone(),
                signature: c.signature.clone(),
            },
        };
        match self.0.append_exchange_log(&row).await {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict { .. }) => {
                let size = self
                    .0
                    .exchange_log_head()
                    .await
                    .map_err(backend)?
                    .map_or(0, |(_, s)| s);
                Err(LogStoreError::Conflict {
                    first_index: batch.first_index,
                    size,
                })
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn node(&self, id: NodeId) -> Result<Option<Hash>, LogStoreError> {
        Ok(self
            .0
            .exchange_log_nodes(&[(id.level, id.index)])
            .await
            .map_err(backend)?
            .pop()
            .flatten())
    }

    async fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Option<Hash>>, LogStoreError> {
        let ids: Vec<(u8, u64)> = ids.iter().map(|i| (i.level, i.index)).collect();
        self.0.exchange_log_nodes(&ids).await.map_err(backend)
    }

    async fn entries(&self, from: u64, to: u64) -> Result<Vec<StoredEntry>, LogStoreError> {
        Ok(self
            .0
            .exchange_log_entries(from, to)
            .await
            .map_err(backend)?
            .into_iter()
            .map(|e| StoredEntry {
                index: e.index,
                bytes: e.bytes,
                leaf_hash: e.leaf_hash,
                fields: IndexFields {
                    at_ms: e.at_ms,
                    subject: e.subject,
                    office: e.office,
                },
            })
            .collect())
    }

    async fn checkpoints(
        &self,
        from_size: u64,
        limit: usize,
    ) -> Result<Vec<SignedCheckpoint>, LogStoreError> {
        Ok(self
            .0
            .exchange_checkpoints(from_size, limit as u64)
            .await
            .map_err(backend)?
            .into_iter()
            .map(checkpoint_out)
            .collect())
    }

    async fn checkpoint_at_or_after(
        &self,
        size: u64,
    ) -> Result<Option<SignedCheckpoint>, LogStoreError> {
        Ok(self
            .0
            .exchange_checkpoints(size, 1)
            .await
            .map_err(backend)?
            .into_iter()
            .next()
            .map(checkpoint_out))
    }

    async fn strays(&self, size: u64, limit: usize) -> Result<Strays, LogStoreError> {
        let found = self
            .0
            .exchange_log_strays(size, limit as u64)
            .await
            .map_err(backend)?;
        Ok(Strays {
            entries: found.entries,
            nodes: found.nodes,
        })
    }

    fn column_name(&self, column: LogColumn) -> &'static str {
        column_name(column)
    }
}

/// The store's column for each field of the log (migration 0007's tables), so an audit
/// failure says which column of which table to look at.
fn column_name(column: LogColumn) -> &'static str {
    match column {
        LogColumn::EntryIndex => "exchange_log_entries.idx",
        LogColumn::EntryBytes => "exchange_log_entries.entry",
        LogColumn::EntryLeafHash => "exchange_log_entries.leaf_hash",
        LogColumn::EntryAt => "exchange_log_entries.at_ms",
        LogColumn::EntrySubject => "exchange_log_entries.subject",
        LogColumn::EntryOffice => "exchange_log_entries.office_code",
        LogColumn::NodeLevel => "exchange_log_nodes.level",
        LogColumn::NodeIndex => "exchange_log_nodes.idx",
        LogColumn::NodeHash => "exchange_log_nodes.hash",
        // The head row is found by its fixed id: without it there is no head.
        LogColumn::Head => "exchange_log_head.id",
        LogColumn::HeadSize => "exchange_log_head.size",
        LogColumn::HeadFrontier => "exchange_log_head.frontier",
        LogColumn::CheckpointSize => "exchange_log_checkpoints.size",
        LogColumn::CheckpointRoot => "exchange_log_checkpoints.root",
        LogColumn::CheckpointNoteBody => "exchange_log_checkpoints.note_body",
        LogColumn::CheckpointSignature => "exchange_log_checkpoints.signature",
    }
}

/// What the server needs to run the exchange.
pub struct ExchangeSetup {
    pub directory: DirectoryHandle,
    /// This server's member id (kind `exchange`) and signing key.
    pub member: MemberId,
    pub key: KeyPair,
    /// Signs the log's checkpoints.
    pub log_key: KeyPair,
    /// Signs identity-verification receipts (published at `/api/v1/identity/keys`).
    pub receipt_key: KeyPair,
    /// Names the log in its checkpoints, such as `pishkhan.example/inquiry-log`.
    pub origin: String,
}

/// The running exchange: the signed client, the log appender and the log's keys.
pub struct ExchangeRuntime {
    exchange: Exchange,
    appender: LogAppender,
    log: Arc<StoreLog>,
    log_keyring: Keyring,
    log_jwk: pishkhan_sign::Jwk,
    directory: DirectoryHandle,
    receipt_key: KeyPair,
    verifications: VerificationWriter,
}

impl ExchangeRuntime {
    pub async fn start(
        store: Arc<dyn Store>,
        setup: ExchangeSetup,
    ) -> Result<Arc<ExchangeRuntime>, anyhow::Error> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(64)
            .build()?;
        let verifications = VerificationWriter::start(store.clone());
        let log = Arc::new(StoreLog(store));
        let mut log_keyring = Keyring::new();
        log_keyring.add(setup.log_key.public(), KeyStatus::Active, None)?;
        let log_jwk = setup.log_key.public().to_jwk();
        let appender = LogAppender::start(log.clone(), setup.log_key, setup.origin).await?;
        let exchange = Exchange::new(setup.directory.clone(), setup.member, setup.key, http)?;
        Ok(Arc::new(ExchangeRuntime {
            exchange,
            appender,
            log,
            log_keyring,
            log_jwk,
            directory: setup.directory,
            receipt_key: setup.receipt_key,
            verifications,
        }))
    }

    pub fn log(&self) -> &StoreLog {
        &self.log
    }

    pub fn log_keyring(&self) -> &Keyring {
        &self.log_keyring
    }

    pub fn log_jwk(&self) -> &pishkhan_sign::Jwk {
        &self.log_jwk
    }

    pub fn directory(&self) -> &DirectoryHandle {
        &self.directory
    }

    pub fn receipt_key(&self) -> &KeyPair {
        &self.receipt_key
    }

    /// Where identity verifications are recorded (group commit).
    pub(crate) fn verifications(&self) -> &VerificationWriter {
        &self.verifications
    }
}

/// An inquiry an office's staff asks for.
pub struct InquiryRequest {
    pub office: OfficeCode,
    pub service: String,
    /// The catalogue service being performed.
    pub catalogue_service: String,
    pub legal_basis: String,
    pub case_id: String,
    pub body: Value,
    /// Ask the agency even if the service allows a cached answer.
    pub fresh: bool,
}

/// An answered inquiry and where its record sits in the log.
pub struct InquiryDone {
    pub log_index: u64,
    pub outcome: InquiryOutcome,
}

pub fn runtime(state: &App) -> Result<&Arc<ExchangeRuntime>, AppError> {
    state.exchange().ok_or(AppError::ExchangeNotConfigured)
}

fn refused(e: &InquiryError) -> AppError {
    let code = e.code();
    let message = e.to_string();
    match code {
        "office_suspended" => AppError::Forbidden(pishkhan_domain::access::Denied::OfficeSuspended),
        "inquiry_not_allowed" => AppError::Forbidden(pishkhan_domain::access::Denied::Role),
        "invalid_purpose" | "invalid_request" | "request_too_large" | "unknown_service"
        | "agency_refused" => AppError::Invalid {
            code,
            field: None,
            message,
        },
        // Down, slow, overloaded or failing: one clear, fast answer so the counter can carry
        // on with other work; the detail names the cause.
        "agency_unavailable" | "agency_busy" | "agency_timeout" | "agency_unreachable"
        | "agency_failed" | "directory_expired" => AppError::Upstream {
            code: "agency_unavailable",
            message: format!("the agency cannot answer now ({code}): {message}"),
            timeout: false,
        },
        _ => AppError::Upstream {
            code,
            message,
            timeout: true,
        },
    }
}

/// The problem for a refused inquiry; a new block is reported to the regulator in the audit
/// log (`inquiry.blocked`).
async fn limit_refused(
    state: &App,
    staff: &StaffSession,
    office: OfficeCode,
    refusal: crate::inquiry_limits::Refusal,
) -> AppError {
    use crate::inquiry_limits::Refusal;
    match refusal {
        Refusal::OperatorRate { retry_after_s } | Refusal::OfficeRate { retry_after_s } => {
            AppError::TooManyRequests {
                code: "rate_limited",
                message: "too many requests".into(),
                retry_after_s,
            }
        }
        Refusal::Blocked {
            newly,
            distinct,
            until_ms,
        } => {
            if newly {
                let event = pishkhan_store::AuditEvent {
                    actor: staff.actor.username.to_string(),
                    actor_staff_id: Some(staff.actor.id),
                    action: "inquiry.blocked",
                    target: format!("office:{office}"),
                    detail: serde_json::json!({
                        "distinct_citizens": distinct,
                        "blocked_until_ms": until_ms,
                        "threshold_per_hour": state.config().inquiry_limits.distinct_subjects_per_hour,
                    }),
                };
                let ctx = pishkhan_store::AuditContext {
                    now_ms: state.now_ms(),
                    ip: None,
                    request_id: None,
                };
                if let Err(e) = state.store().record_event(&event, &ctx).await {
                    tracing::error!(error = %e, "could not report a blocked operator");
                }
                tracing::warn!(operator = %staff.actor.username, distinct, "operator blocked from inquiries");
            }
            AppError::Forbidden(pishkhan_domain::access::Denied::InquiriesBlocked)
        }
    }
}

/// Runs one inquiry for `staff` at their office: authorization, the catalogue rule (the
/// service being performed must need this inquiry), the purpose, the signed call, and the log.
pub async fn run_inquiry(
    state: &App,
    staff: &StaffSession,
    request: InquiryRequest,
) -> Result<InquiryDone, AppError> {
    let started = std::time::Instant::now();
    let service = request.service.clone();
    let result = run_inquiry_unmetered(state, staff, request).await;
    state
        .metrics()
        .inquired(&service, &result, started.elapsed());
    result
}

async fn run_inquiry_unmetered(
    state: &App,
    staff: &StaffSession,
    request: InquiryRequest,
) -> Result<InquiryDone, AppError> {
    let rt = runtime(state)?;
    staff.permit(Action::RunInquiry {
        office: request.office,
    })?;
    let subject = request
        .body
        .get("national_code")
        .and_then(Value::as_str)
        .map(|s| pishkhan_domain::digits::to_ascii_digits(s.trim()));
    let admitted = crate::inquiry_limits::admit(
        state,
        staff.actor.username.as_str(),
        request.office,
        subject.as_deref(),
    )
    .await?;
    if let Err(refusal) = admitted {
        return Err(limit_refused(state, staff, request.office, refusal).await);
    }
    // Cached reads: the inquiry path is hot, and a status change drops the office's entry.
    let office = crate::appointments::office_of(state, request.office).await?;
    let catalogue = ServiceCode::parse(request.catalogue_service.trim())
        .map_err(|e| AppError::invalid(e.code, "purpose.service_code", e.message))?;
    let service_id = ServiceId::parse(request.service.trim())
        .map_err(|e| AppError::invalid("unknown_service", "service", e.to_string()))?;
    let service = crate::appointments::service_of(state, &catalogue)
        .await
        .map_err(|_| {
            AppError::invalid(
                "unknown_service",
                "purpose.service_code",
                "no catalogue service has this code",
            )
        })?;
    if !service
        .required_inquiries
        .iter()
        .any(|i| i == service_id.as_str())
    {
        return Err(AppError::invalid(
            "inquiry_not_required",
            "service",
            format!(
                "catalogue service {} does not need the inquiry {}",
                catalogue.as_str(),
                service_id.as_str()
            ),
        ));
    }
    let purpose = Purpose::new(
        &request.legal_basis,
        catalogue.as_str(),
        &request.case_id,
        staff.actor.username.as_str(),
    )
    .map_err(|e| AppError::invalid(e.code(), "purpose", e.to_string()))?;
    let office_member = MemberId::parse(&format!("office:{}", office.code))
        .map_err(|e| AppError::Internal(anyhow::anyhow!("office member id: {e}")))?;
    let inquiry = Inquiry {
        office: office_member,
        office_active: office.status.may_use_network(),
        service: service_id,
        catalogue_service: catalogue.as_str().to_string(),
        purpose,
        body: request.body,
        fresh: request.fresh,
    };
    let result = rt.exchange.inquire(&inquiry).await;
    let entry = rt.exchange.log_entry(&inquiry, &result, state.now_ms());
    let log_index = rt
        .appender
        .append(&entry)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("exchange log: {e}")))?;
    match result {
        Ok(outcome) => Ok(InquiryDone { log_index, outcome }),
        Err(e) => Err(refused(&e)),
    }
}

/// The public key that signs the log's checkpoints, as a JWK.
pub fn log_jwk(state: &App) -> Result<&pishkhan_sign::Jwk, AppError> {
    Ok(runtime(state)?.log_jwk())
}

/// The latest signed checkpoint of the message log; `NotFound("checkpoint")` before the first.
pub async fn latest_checkpoint(state: &App) -> Result<ExchangeCheckpoint, AppError> {
    runtime(state)?;
    state
        .store()
        .latest_exchange_checkpoint()
        .await?
        .ok_or(AppError::NotFound("checkpoint"))
}

/// The inclusion proof of one inquiry's log entry against a signed checkpoint.
#[derive(Debug, Clone)]
pub struct InclusionProof {
    pub leaf_index: u64,
    pub tree_size: u64,
    /// SHA-256(0x00 ‖ entry).
    pub leaf_hash: Hash,
    /// RFC 6962 audit path, leaf to root.
    pub audit_path: Vec<Hash>,
    /// The canonical entry bytes (the leaf).
    pub entry: Vec<u8>,
    /// The signed checkpoint at `tree_size` (its root is the proof's root).
    pub checkpoint: ExchangeCheckpoint,
}

/// The inclusion proof of inquiry `message_id`, against the checkpoint of `tree_size` (the
/// latest by default). For the office that made it, the regulator, or the citizen it was
/// about; `NotFound("inquiry")` for anyone else.
pub async fn inclusion_proof(
    state: &App,
    caller: &Caller,
    message_id: u64,
    tree_size: Option<u64>,
) -> Result<InclusionProof, AppError> {
    let id = message_id;
    let rt = runtime(state)?;
    let stored = state
        .store()
        .exchange_log_entries(id, id.saturating_add(1))
        .await?
        .pop()
        .ok_or(AppError::NotFound("inquiry"))?;
    let entry = LogEntry::from_canonical_bytes(&stored.bytes)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("log entry {id}: {e}")))?;
    let allowed = match caller {
        Caller::Staff(s) => match s.actor.office {
            None => s.actor.role == pishkhan_domain::model::Role::Regulator,
            Some(o) => entry.office.to_string() == format!("office:{o}"),
        },
        Caller::Citizen(c) => entry.subject.as_deref() == Some(c.national_code.as_str()),
    };
    if !allowed {
        // Whether an inquiry exists is itself private.
        return Err(AppError::NotFound("inquiry"));
    }
    let checkpoint = match tree_size {
        Some(size) => state
            .store()
            .exchange_checkpoints(size, 1)
            .await?
            .into_iter()
            .next()
            .filter(|c| c.size == size)
            .ok_or_else(|| {
                AppError::invalid(
                    "no_checkpoint",
                    "tree_size",
                    "no signed checkpoint has this size",
                )
            })?,
        None => state
            .store()
            .latest_exchange_checkpoint()
            .await?
            .ok_or(AppError::NotFound("checkpoint"))?,
    };
    if checkpoint.size <= id {
        return Err(AppError::invalid(
            "not_yet_checkpointed",
            "tree_size",
            "the tree at this size does not hold the inquiry yet",
        ));
    }
    let audit_path = pishkhan_exchange::inclusion_proof(rt.log(), id, checkpoint.size)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("inclusion proof: {e}")))?;
    Ok(InclusionProof {
        leaf_index: id,
        tree_size: checkpoint.size,
        leaf_hash: stored.leaf_hash,
        audit_path,
        entry: stored.bytes,
        checkpoint,
    })
}

/// One inquiry about a citizen, as their data-access view shows it.
#[derive(Debug, Clone)]
pub struct DataAccessRow {
    /// The inquiry's record in the message log.
    pub message_id: u64,
    /// When the inquiry ended, Unix milliseconds.
    pub at_ms: i64,
    /// The office's member id, such as `office:11000001`.
    pub office: String,
    /// The office's Persian name, if it is one of ours.
    pub office_name: Option<String>,
    pub operator: String,
    pub service: String,
    pub agency: Option<String>,
    pub legal_basis: String,
    /// The catalogue service performed.
    pub case_service: String,
    pub case_id: String,
    pub outcome: LogOutcome,
    /// Set when the answer was the signed answer of an earlier lookup, reused under the
    /// service's cache policy: when that lookup was, Unix milliseconds.
    pub cached_at_ms: Option<i64>,
    /// The log entry itself.
    pub entry: LogEntry,
}

impl DataAccessRow {
    /// The outcome's stable code: ok, refused or failed.
    pub fn outcome_code(&self) -> &'static str {
        match self.outcome {
            LogOutcome::Ok => "ok",
            LogOutcome::Refused => "refused",
            LogOutcome::Failed => "failed",
        }
    }

    /// When, as a Jalali date and Tehran time to the minute ([`tehran_minute`]).
    pub fn at_local(&self) -> String {
        tehran_minute(self.at_ms)
    }

    /// When the reused answer was given, the same way.
    pub fn cached_at_local(&self) -> Option<String> {
        self.cached_at_ms.map(tehran_minute)
    }
}

/// One page of a citizen's data-access view, newest first.
#[derive(Debug, Clone)]
pub struct DataAccess {
    pub rows: Vec<DataAccessRow>,
    /// Inquiries about the citizen in all.
    pub total: u64,
}

/// A Jalali date and Tehran time to the minute, for people: `1405-09-10 14:05`.
pub fn tehran_minute(ms: i64) -> String {
    let at = crate::appointments::instant(ms);
    let local = pishkhan_domain::tehran::to_tehran(at);
    format!(
        "{} {:02}:{:02}",
        pishkhan_domain::tehran::jalali_today(at),
        local.hour(),
        local.minute()
    )
}

/// Every inquiry made about the citizen: which office and operator, which agency service,
/// when, and for what purpose and case. Newest first, one page.
pub async fn data_access(
    state: &App,
    citizen: &Citizen,
    page: PageRequest,
) -> Result<DataAccess, AppError> {
    let national_code = &citizen.national_code;
    pishkhan_domain::access::authorize(
        &pishkhan_domain::access::Principal::Citizen(national_code.clone()),
        Action::ViewDataAccess {
            national_code: national_code.clone(),
        },
    )?;
    let found = state
        .store()
        .exchange_log_subject(national_code, page)
        .await?;
    let mut rows = Vec::with_capacity(found.items.len());
    for stored in found.items {
        let e = LogEntry::from_canonical_bytes(&stored.bytes)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("log entry: {e}")))?;
        let office = e.office.to_string();
        let office_name = match office
            .strip_prefix("office:")
            .and_then(|c| OfficeCode::parse(c).ok())
        {
            Some(code) => state.store().office(code).await.ok().map(|o| o.name.fa),
            None => None,
        };
        rows.push(DataAccessRow {
            message_id: stored.index,
            at_ms: e.at_ms,
            office,
            office_name,
            operator: e.operator.clone(),
            service: e.service.to_string(),
            agency: e.agency.as_ref().map(|a| a.to_string()),
            legal_basis: e.purpose.legal_basis.clone(),
            case_service: e.purpose.service_code.clone(),
            case_id: e.purpose.case_id.clone(),
            outcome: e.outcome,
            cached_at_ms: e.cached_at_ms,
            entry: e,
        });
    }
    Ok(DataAccess {
        rows,
        total: found.total,
    })
}

pub use pishkhan_exchange::EXCHANGE_MEMBER;

/// Every catalogue service, read page by page.
pub async fn whole_catalogue(
    store: &dyn Store,
) -> Result<Vec<pishkhan_domain::model::Service>, StoreError> {
    let mut out = Vec::new();
    for page in 1.. {
        // Past the last page a request can name, there is nothing left to read.
        let Ok(request) = pishkhan_store::PageRequest::new(page, pishkhan_store::MAX_PER_PAGE)
        else {
            break;
        };
        let found = store
            .services(&pishkhan_store::ServiceFilter::default(), request)
            .await?;
        let n = found.items.len();
        out.extend(found.items);
        if n < pishkhan_store::MAX_PER_PAGE as usize || out.len() as u64 >= found.total {
            break;
        }
    }
    Ok(out)
}

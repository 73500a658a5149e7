//! The long-running commands: demo, serve, migrate, and the CLI invitation.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use pishkhan_app::{App, AppConfig, SystemClock};
use pishkhan_domain::access::{Action, Principal, authorize};
use pishkhan_domain::model::{OfficeCode, Role, Staff, Username};
use pishkhan_domain::{Mobile, NationalCode};
use pishkhan_store::{AuditContext, DatabaseUrl, NewInvitation, Store, token_hash};
use pishkhan_web::{
    AppState, MAX_TRUSTED_PROXIES, MetricsToken, NodeName, TrustedProxy, WebConfig,
};

use crate::{Global, ServeArgs};

pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn system_ctx() -> AuditContext {
    AuditContext {
        now_ms: now_ms(),
        ip: None,
        request_id: None,
    }
}

pub async fn open_store(global: &Global) -> anyhow::Result<Arc<dyn Store>> {
    let url = match &global.database_url {
        Some(u) => DatabaseUrl::parse(u)?,
        None => DatabaseUrl::sqlite_in(&global.data_dir),
    };
    tracing::info!(database = %url, "opening store");
    pishkhan_store::open(&url)
        .await
        .with_context(|| format!("cannot open the database {url}"))
}

/// Loads the fixed reference data (provinces, agencies) where it is missing.
async fn seed_reference(store: &dyn Store) -> anyhow::Result<u64> {
    let permit = authorize(
        &Principal::System { reason: "migrate" },
        Action::SeedReferenceData,
    )?;
    Ok(store
        .seed_reference_data(
            &permit,
            &pishkhan_nation::provinces(),
            &pishkhan_nation::agencies(),
            &system_ctx(),
        )
        .await?)
}

pub async fn migrate(global: &Global) -> anyhow::Result<()> {
    let store = open_store(global).await?;
    let added = seed_reference(store.as_ref()).await?;
    println!(
        "schema is up to date on {}; {added} reference rows added",
        store.backend().name()
    );
    Ok(())
}

pub async fn demo(
    global: &Global,
    args: &ServeArgs,
    seed: u64,
    load_only: bool,
    history_days: u16,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let checked = Checked::from_args(args)?;
    let store = open_store(global).await?;
    if store.is_empty().await? {
        pishkhan_demo::load_demo(store.as_ref(), seed, pishkhan_app::secrets::hash_password)
            .await?;
        if history_days > 0 {
            // The same seed gives the same offices load_demo stored.
            let nation = pishkhan_nation::generate(seed);
            let began = Instant::now();
            let today = pishkhan_domain::tehran::jalali_today(time::OffsetDateTime::now_utc());
            let history = pishkhan_demo::load_history(
                store.as_ref(),
                seed,
                &nation.offices,
                today,
                history_days,
            )
            .await
            .context("cannot load the demo's history")?;
            println!(
                "loaded {} days of history: {} office-days, {} visits in {:.1}s",
                history_days,
                history.office_days,
                history.visits,
                began.elapsed().as_secs_f64()
            );
            let filed = crate::demo_reports::generate(store.clone(), seed)
                .await
                .context("cannot file the demo's citizens' reports")?;
            println!(
                "filed {} citizens' reports of the last 30 days, {} accepted by the regulator",
                filed.reports, filed.accepted
            );
            let found = crate::demo_offender::prepare(store.clone())
                .await
                .context("cannot run the demo's first compliance run")?;
            match found.office {
                Some(office) => println!(
                    "the rules found {} open findings; office {office}, the busiest not serving by \
                     appointment, has the demo logins manager2 and operator2",
                    found.open_findings
                ),
                None => println!("the rules found {} open findings", found.open_findings),
            }
        }
    } else {
        println!("reusing the existing database");
    }
    if load_only {
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let base = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let demo_manager = store
        .staff_by_username(&Username::parse("manager")?)
        .await
        .ok();
    let first_office = demo_manager.as_ref().and_then(|r| r.staff.office);
    println!();
    println!(
        "Pishkhan demo is ready in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    println!("  web UI:   {base}/");
    println!("  API:      {base}/api/v1/  (OpenAPI: {base}/api/v1/openapi.json)");
    println!("  health:   {base}/healthz  {base}/readyz");
    if args.metrics_token.is_some() {
        println!("  metrics:  {base}/metrics  (bearer: the --metrics-token)");
    }
    println!(
        "  citizens: {base}/citizen/login  (one-time codes are written to {})",
        global.data_dir.join("notifications.log").display()
    );
    if let Some(office) = first_office {
        println!("  TV board: {base}/offices/{office}/display");
    }
    if demo_manager.is_none() {
        println!("  this database was not loaded by the demo, so it has no demo accounts");
    } else {
        println!(
            "  sign in as (password {}):",
            pishkhan_nation::DEMO_PASSWORD
        );
        for login in pishkhan_nation::demo_logins() {
            let office = match (login.role, first_office) {
                (Role::Regulator, _) => "national".to_string(),
                (_, Some(o)) => format!("office {o}"),
                (_, None) => "office".to_string(),
            };
            println!(
                "    {:<10} {:<9} {office}",
                login.username,
                login.role.code()
            );
        }
        for (name, role) in crate::demo_offender::LOGINS {
            if let Ok(found) = store.staff_by_username(&Username::parse(name)?).await
                && let Some(office) = found.staff.office
            {
                println!(
                    "    {name:<10} {:<9} office {office} (found by the compliance rules)",
                    role.code()
                );
            }
        }
    }
    let (exchange, agencies) = crate::exchange::demo(global, store.clone(), &base)
        .await
        .context("cannot start the inquiry exchange")?;
    println!(
        "  exchange: {} reference agencies, each its own process:",
        agencies.urls.len()
    );
    for (agency, url) in &agencies.urls {
        println!("    {:<14} {url}", agency.member_id());
    }
    // The reference card processor, its own process like the agencies; its control routes
    // (the demo's month of history moves its clock) take a token only this process knows.
    let control_token = pishkhan_app::secrets::new_token()?;
    let psp = pishkhan_demo::spawn_psp(
        &global.data_dir.join("psp"),
        &pishkhan_demo::PspOptions {
            control_token: Some(control_token.clone()),
            ..pishkhan_demo::PspOptions::default()
        },
    )
    .await
    .context("cannot start the reference card processor")?;
    let history = crate::demo_payments::generate(store.clone(), &psp.url, &control_token, seed)
        .await
        .context("cannot make the demo's month of payments")?;
    let payments = payments_from_flags(args, Some(&psp.url))?;
    println!(
        "  payments: card processor {} (pishkhan psp serve)",
        psp.url
    );
    if history.payments > 0 {
        println!(
            "            {} payments over the last 30 days, {} days settled, {} reconciliation mismatches",
            history.payments, history.days_settled, history.mismatches
        );
    }
    println!(
        "  audit:    pishkhan audit verify --data-dir {}",
        global.data_dir.display()
    );
    println!();
    let served = run_server(
        store,
        global,
        args,
        checked,
        base,
        listener,
        Some(exchange),
        payments,
    )
    .await;
    drop(agencies);
    drop(psp);
    served
}

pub async fn serve(global: &Global, args: &ServeArgs) -> anyhow::Result<()> {
    let checked = Checked::from_args(args)?;
    let store = open_store(global).await?;
    seed_reference(store.as_ref()).await?;
    if store.is_empty().await? {
        tracing::warn!(
            "the database holds no offices or staff; import them, and invite the first regulator with `pishkhan invite`"
        );
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let base = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let exchange = crate::exchange::from_flags(store.clone(), args, &base).await?;
    if exchange.is_some() {
        println!("inquiry exchange on");
    }
    let payments = payments_from_flags(args, None)?;
    if payments.is_some() {
        println!("payments on");
    }
    println!("pishkhan serving on {base}/");
    run_server(
        store, global, args, checked, base, listener, exchange, payments,
    )
    .await
}

/// The card processor named by `--psp-url` (or `demo_url`, the demo's own), if any.
fn payments_from_flags(
    args: &ServeArgs,
    demo_url: Option<&str>,
) -> anyhow::Result<Option<Arc<pishkhan_app::payments::PaymentsRuntime>>> {
    let Some(url) = args.psp_url.as_deref().or(demo_url) else {
        return Ok(None);
    };
    let client = pishkhan_app::psp_client::PspClient::new(
        url,
        &args.psp_merchant,
        std::time::Duration::from_secs(10),
    )
    .map_err(|e| anyhow::anyhow!("bad --psp-url: {e}"))?;
    let window_s = i64::try_from(args.payment_verify_window_s.clamp(10, 86_400))?;
    Ok(Some(Arc::new(pishkhan_app::payments::PaymentsRuntime {
        client,
        verify_window_ms: window_s * 1000,
    })))
}

/// Serves HTTP and delivers notifications until a shutdown signal; then the server drains
/// and the dispatcher settles what it is sending.
#[allow(clippy::too_many_arguments)]
async fn run_server(
    store: Arc<dyn Store>,
    global: &Global,
    args: &ServeArgs,
    checked: Checked,
    public_url: String,
    listener: tokio::net::TcpListener,
    exchange: Option<Arc<pishkhan_app::exchange::ExchangeRuntime>>,
    payments: Option<Arc<pishkhan_app::payments::PaymentsRuntime>>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&global.data_dir)
        .with_context(|| format!("cannot create {}", global.data_dir.display()))?;
    let sender = pishkhan_notify::sender_from_spec(&args.notify, &global.data_dir)
        .context("bad --notify")?;
    let config = WebConfig {
        app: AppConfig {
            public_url,
            booking_rules: checked.rules,
            ..AppConfig::default()
        },
        cookie_secure: args.cookie_secure,
        metrics_token: checked.metrics_token,
        trusted_proxies: checked.trusted_proxies,
        node_name: checked.node_name,
        ..WebConfig::default()
    };
    let app = App::new(store.clone(), config.app.clone(), Arc::new(SystemClock));
    let dispatcher = pishkhan_notify::Dispatcher::new(
        store,
        sender,
        pishkhan_notify::DispatchConfig::default(),
        pishkhan_notify::system_clock(),
    )?;
    let metrics = app.metrics().clone();
    dispatcher.observe_rounds(Box::new(move |s| {
        metrics.outbox_round(s.claimed, s.sent, s.retried, s.failed, s.skipped);
    }));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let notifications = tokio::spawn(dispatcher.run(async move {
        let mut rx = stop_rx;
        let _ = rx.wait_for(|stop| *stop).await;
    }));
    if let Some(exchange) = exchange {
        app.set_exchange(exchange);
    }
    if let Some(payments) = payments {
        app.set_payments(payments);
    }
    let mut sweep_stop = stop_tx.subscribe();
    let sweeper = tokio::spawn(pishkhan_app::sweep::run_sweeper(app.clone(), async move {
        let _ = sweep_stop.wait_for(|stop| *stop).await;
    }));
    let served =
        pishkhan_web::serve(listener, AppState::with_app(app, config), shutdown_signal()).await;
    let _ = stop_tx.send(true);
    let _ = sweeper.await;
    let stats = notifications.await.unwrap_or_default();
    tracing::info!(
        sent = stats.sent,
        retried = stats.retried,
        failed = stats.failed,
        "stopped"
    );
    served?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

#[derive(Args)]
pub struct InviteArgs {
    #[arg(long)]
    pub national_code: String,
    #[arg(long)]
    pub first_name: String,
    #[arg(long)]
    pub last_name: String,
    #[arg(long)]
    pub mobile: String,
    /// regulator, manager or operator.
    #[arg(long, default_value = "regulator")]
    pub role: String,
    /// 8-digit office code (not for regulators).
    #[arg(long)]
    pub office: Option<String>,
    /// Defaults to `u` followed by the national code.
    #[arg(long)]
    pub username: Option<String>,
    /// Base URL of the server, for the printed link.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub public_url: String,
}

pub async fn invite(global: &Global, args: &InviteArgs) -> anyhow::Result<()> {
    let national_code = NationalCode::parse(&args.national_code)?;
    let role = Role::parse(&args.role).context("role is one of regulator, manager, operator")?;
    let office = args.office.as_deref().map(OfficeCode::parse).transpose()?;
    let username = match &args.username {
        Some(u) => Username::parse(u)?,
        None => Username::parse(&format!("u{}", national_code.as_str()))?,
    };
    let staff = Staff {
        username,
        national_code,
        first_name: args.first_name.trim().to_string(),
        last_name: args.last_name.trim().to_string(),
        mobile: Mobile::parse(&args.mobile)?,
        office,
        role,
    };
    staff.validate()?;
    let store = open_store(global).await?;
    let permit = authorize(
        &Principal::System { reason: "invite" },
        Action::CreateStaff { office, role },
    )?;
    let mut token = [0u8; 32];
    getrandom::fill(&mut token).map_err(|e| anyhow::anyhow!("cannot read randomness: {e}"))?;
    let token: String = token.iter().map(|b| format!("{b:02x}")).collect();
    let ctx = system_ctx();
    let expires_at_ms = ctx.now_ms + 7 * 24 * 3600 * 1000;
    let record = store
        .create_staff(
            &permit,
            &staff,
            &NewInvitation {
                token_hash: token_hash(&token),
                expires_at_ms,
            },
            &ctx,
        )
        .await?;
    println!(
        "invited {} ({}); activation link, valid 7 days:\n{}/invite/{token}",
        record.staff.username,
        record.staff.role.code(),
        args.public_url.trim_end_matches('/')
    );
    Ok(())
}

/// The settings of `serve` and `demo` that are checked before anything opens or listens.
struct Checked {
    rules: pishkhan_domain::schedule::BookingRules,
    metrics_token: Option<MetricsToken>,
    trusted_proxies: Vec<TrustedProxy>,
    node_name: NodeName,
}

impl Checked {
    fn from_args(args: &ServeArgs) -> anyhow::Result<Self> {
        // Clap holds a flag to this, but not a value from the config file (a default to it).
        let exchange = [
            args.exchange_directory.is_some(),
            args.exchange_key.is_some(),
            args.log_key.is_some(),
            args.receipt_key.is_some(),
            args.regulator_key.is_some(),
        ];
        if exchange.contains(&true) && exchange.contains(&false) {
            anyhow::bail!(
                "the inquiry exchange needs --exchange-directory, --exchange-key, --log-key, \
                 --receipt-key and --regulator-key together"
            );
        }
        Ok(Self {
            rules: booking_rules(args.booking_rules.as_deref())?,
            metrics_token: args
                .metrics_token
                .as_deref()
                .map(MetricsToken::new)
                .transpose()
                .map_err(|e| anyhow::anyhow!("bad --metrics-token: {e}"))?,
            trusted_proxies: trusted_proxies(&args.trusted_proxies)?,
            node_name: match args.node_name.as_deref() {
                Some(name) => {
                    NodeName::new(name).map_err(|e| anyhow::anyhow!("bad --node-name: {e}"))?
                }
                None => NodeName::of_host(),
            },
        })
    }
}

/// The networks of `--trusted-proxy`, each parsed, at most [`MAX_TRUSTED_PROXIES`].
fn trusted_proxies(given: &[String]) -> anyhow::Result<Vec<TrustedProxy>> {
    if given.len() > MAX_TRUSTED_PROXIES {
        anyhow::bail!(
            "bad --trusted-proxy: {} networks, at most {MAX_TRUSTED_PROXIES}",
            given.len()
        );
    }
    given
        .iter()
        .map(|s| TrustedProxy::parse(s).map_err(|e| anyhow::anyhow!("bad --trusted-proxy: {e}")))
        .collect()
}

/// The booking rules of `--booking-rules FILE`: the defaults, overridden field by field.
fn booking_rules(
    path: Option<&std::path::Path>,
) -> anyhow::Result<pishkhan_domain::schedule::BookingRules> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RulesFile {
        first_day_offset: Option<u16>,
        last_day_offset: Option<u16>,
        per_service: Option<u16>,
        max_visits_in_window: Option<u16>,
        visit_window_days: Option<u16>,
    }
    let mut rules = pishkhan_domain::schedule::BookingRules::default();
    let Some(path) = path else {
        return Ok(rules);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the booking rules {}", path.display()))?;
    let file: RulesFile = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a booking rules file", path.display()))?;
    rules.first_day_offset = file.first_day_offset.unwrap_or(rules.first_day_offset);
    rules.last_day_offset = file.last_day_offset.unwrap_or(rules.last_day_offset);
    rules.per_service = file.per_service.unwrap_or(rules.per_service);
    rules.max_visits_in_window = file
        .max_visits_in_window
        .unwrap_or(rules.max_visits_in_window);
    rules.visit_window_days = file.visit_window_days.unwrap_or(rules.visit_window_days);
    pishkhan_app::appointments::check_booking_rules(&rules)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(rules)
}

//! Payments per second end to end through the reference card processor running as its own
//! `pishkhan psp serve` process: part of `pishkhan bench ledger`.
//!
//! Each measured payment takes the whole path: the use case quotes today's fee and stores
//! the payment, asks the processor for a token over HTTP, the payer pays on the processor's
//! page (HTTP), the processor calls Pishkhan back over HTTP (a real server on loopback), the
//! callback reserves the shares in the ledger and verifies with the processor (HTTP), and the
//! verification posts them. A payment counts once it reads back verified.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use pishkhan_app::payments::{self, PaymentRequest, PaymentsRuntime};
use pishkhan_app::psp_client::PspClient;
use pishkhan_app::{App, AppConfig, SystemClock};
use pishkhan_domain::model::{Channel, OfficeStatus};
use pishkhan_domain::payment::PaymentStatus;
use pishkhan_store::{OfficeFilter, PageRequest, ServiceFilter, Store};

/// A test card the reference processor accepts.
const CARD: &str = "6037990000000006";

/// What the end-to-end run measured.
#[derive(Debug, Clone)]
pub struct PaymentFigures {
    pub payments: u64,
    pub failed: u64,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The processor alone, in the same run: token, payment page and verify straight from
    /// the payers, with no Pishkhan in between (its ceiling on this machine).
    pub baseline_per_second: f64,
}

/// Runs `concurrency` payers for `seconds` against a fresh processor process, on `store`
/// (which must hold the demo nation and its tariffs).
pub async fn through_psp(
    store: Arc<dyn Store>,
    data_dir: &std::path::Path,
    seconds: f64,
    concurrency: usize,
) -> anyhow::Result<PaymentFigures> {
    let psp = pishkhan_demo::spawn_psp(data_dir, &pishkhan_demo::PspOptions::default())
        .await
        .context("cannot start the card processor")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = App::new(
        store.clone(),
        AppConfig {
            public_url: base.clone(),
            ..AppConfig::default()
        },
        Arc::new(SystemClock),
    );
    let client = PspClient::new(&psp.url, "pishkhan", Duration::from_secs(10))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    app.set_payments(Arc::new(PaymentsRuntime {
        client,
        verify_window_ms: 25 * 60_000,
    }));
    let state = pishkhan_web::AppState::with_app(app.clone(), pishkhan_web::WebConfig::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(pishkhan_web::serve(listener, state, async move {
        let _ = stopped.await;
    }));

    let offices: Vec<_> = store
        .offices(
            &OfficeFilter {
                status: Some(OfficeStatus::Active),
                ..OfficeFilter::default()
            },
            PageRequest::new(1, 100)?,
        )
        .await?
        .items
        .into_iter()
        .map(|o| o.code)
        .collect();
    let services: Vec<_> = store
        .services(&ServiceFilter::default(), PageRequest::new(1, 100)?)
        .await?
        .items
        .into_iter()
        .filter(|s| s.channel != Channel::Online)
        .map(|s| s.code)
        .collect();
    anyhow::ensure!(
        !offices.is_empty() && !services.is_empty(),
        "the store holds no offices or counter services"
    );

    let baseline_per_second = processor_alone(&psp.url, seconds / 2.0, concurrency).await?;
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds);
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let app = app.clone();
        let store = store.clone();
        let payer = PspClient::new(&psp.url, "pishkhan", Duration::from_secs(10))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let offices = offices.clone();
        let services = services.clone();
        let done = done.clone();
        let failed = failed.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0usize;
            while Instant::now() < until {
                n += 1;
                let t = Instant::now();
                let office = offices[(w + n) % offices.len()];
                let req = PaymentRequest {
                    service: services[(w * 7 + n) % services.len()].clone(),
                    national_code: pishkhan_domain::NationalCode::parse("0012345679")
                        .expect("a valid code"),
                    case_id: format!("bench-{w}-{n}"),
                };
                let ctx = crate::system_ctx();
                let ok = async {
                    let view = payments::start_as_system(
                        &app,
                        office,
                        &format!("bench-{w}-{n}"),
                        &req,
                        &ctx,
                    )
                    .await
                    .ok()?;
                    let token = view.payment.token.clone()?;
                    payer.pay_as_payer(&token, CARD).await.ok()?;
                    // The callback usually lands before the payer's redirect; if not, ask.
                    for _ in 0..100 {
                        let p = store.payment(view.payment.id).await.ok()?;
                        match p.status {
                            PaymentStatus::Verified => return Some(()),
                            PaymentStatus::Failed | PaymentStatus::Reversed => return None,
                            _ => tokio::time::sleep(Duration::from_millis(5)).await,
                        }
                    }
                    let p = payments::check_as_system(&app, view.payment.id)
                        .await
                        .ok()?;
                    (p.status == PaymentStatus::Verified).then_some(())
                }
                .await;
                match ok {
                    Some(()) => {
                        done.fetch_add(1, Ordering::Relaxed);
                        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    None => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let _ = stop.send(());
    let _ = server.await;
    drop(psp);
    latencies.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let payments = done.load(Ordering::Relaxed);
    Ok(PaymentFigures {
        payments,
        failed: failed.load(Ordering::Relaxed),
        seconds: elapsed,
        per_second: payments as f64 / elapsed,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        baseline_per_second,
    })
}

/// Payments per second against the processor alone: each payer asks for a token, pays on
/// the page and verifies, with order numbers Pishkhan never uses.
async fn processor_alone(url: &str, seconds: f64, concurrency: usize) -> anyhow::Result<f64> {
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds);
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let client = PspClient::new(url, "pishkhan", Duration::from_secs(10))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let done = done.clone();
        workers.push(tokio::spawn(async move {
            let mut n = 0i64;
            while Instant::now() < until {
                n += 1;
                let order = 1_000_000_000 + (w as i64) * 10_000_000 + n;
                let ok = async {
                    let token = client
                        .token(
                            order,
                            100_000,
                            "http://127.0.0.1:9/cb",
                            "http://127.0.0.1:9/back",
                        )
                        .await
                        .ok()?;
                    client.pay_as_payer(&token, CARD).await.ok()?;
                    client.verify(&token).await.ok()
                }
                .await;
                if ok.is_some() {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for w in workers {
        w.await?;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

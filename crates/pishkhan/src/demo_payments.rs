//! The demo's last 30 days of money, made through the same use cases an office uses: counter
//! payments at a few offices paid on the reference card processor's page and verified, some
//! cancelled, a few refunds, each day settled to the payees' Sheba accounts and reconciled
//! with the processor's report — one day with a stray processor order, so the
//! reconciliation list has something to show.
//!
//! A clock of its own walks the days (the application's and the processor's, through its
//! control endpoint); callbacks go nowhere (no server listens yet), so each payment is
//! confirmed the way a lost callback is: by asking the processor.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use pishkhan_app::payments::{self, PaymentRequest, PaymentsRuntime};
use pishkhan_app::psp_client::{PspClient, PspControl};
use pishkhan_app::{App, AppConfig, FixedClock, StaffSession};
use pishkhan_domain::access::{Action, Principal, StaffActor, authorize};
use pishkhan_domain::ledger::Account;
use pishkhan_domain::model::{Channel, Office, OfficeStatus, Username};
use pishkhan_domain::schedule::{tehran_instant, unix_ms};
use pishkhan_domain::tehran::jalali_today;
use pishkhan_domain::{NationalCode, Sheba};
use pishkhan_store::{
    AuditContext, OfficeFilter, PageRequest, PaymentFilter, ServiceFilter, Store,
};

/// Offices that took payments in the demo month.
const OFFICES: u32 = 6;
/// Days of history.
const DAYS: i64 = 30;
/// A test card the reference processor accepts.
const CARD: &str = "6037990000000006";

/// What the month holds.
#[derive(Debug, Default)]
pub struct History {
    pub payments: usize,
    pub days_settled: usize,
    pub mismatches: usize,
}

/// A small deterministic sequence for the month's shape (how many payments, which service).
struct Dice(u64);

impl Dice {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

fn ctx(clock: &FixedClock) -> AuditContext {
    use pishkhan_app::Clock;
    AuditContext {
        now_ms: (clock.now().unix_timestamp_nanos() / 1_000_000) as i64,
        ip: None,
        request_id: None,
    }
}

/// A valid, made-up Sheba account for payee number `n`.
fn demo_sheba(n: u64) -> anyhow::Result<Sheba> {
    Ok(Sheba::with_check_digits(&format!("0170000000{n:012}"))?)
}

/// Makes the month unless the database already holds payments.
pub async fn generate(
    store: Arc<dyn Store>,
    psp_url: &str,
    control_token: &str,
    seed: u64,
) -> anyhow::Result<History> {
    let mut history = History::default();
    let any = PaymentFilter {
        limit: 1,
        ..PaymentFilter::default()
    };
    if !store.payments(&any).await?.is_empty() {
        return Ok(history);
    }
    let real_now = time::OffsetDateTime::now_utc();
    let today = jalali_today(real_now);
    let first_day = today.add_days(-DAYS);
    let clock = Arc::new(FixedClock::new(tehran_instant(first_day, 8 * 60)));
    let app = App::new(
        store.clone(),
        AppConfig {
            // Nothing listens there: callbacks fail at once and payments are confirmed by asking.
            public_url: "http://127.0.0.1:9".into(),
            ..AppConfig::default()
        },
        clock.clone(),
    );
    let timeout = Duration::from_secs(10);
    let client =
        PspClient::new(psp_url, "pishkhan", timeout).map_err(|e| anyhow::anyhow!("{e}"))?;
    let payer = PspClient::new(psp_url, "pishkhan", timeout).map_err(|e| anyhow::anyhow!("{e}"))?;
    let control =
        PspControl::new(psp_url, control_token, timeout).map_err(|e| anyhow::anyhow!("{e}"))?;
    app.set_payments(Arc::new(PaymentsRuntime {
        client,
        verify_window_ms: 25 * 60_000,
    }));

    let offices: Vec<Office> = store
        .offices(
            &OfficeFilter {
                status: Some(OfficeStatus::Active),
                ..OfficeFilter::default()
            },
            PageRequest::new(1, OFFICES)?,
        )
        .await?
        .items;
    let services: Vec<_> = store
        .services(&ServiceFilter::default(), PageRequest::new(1, 100)?)
        .await?
        .items
        .into_iter()
        .filter(|s| s.channel != Channel::Online)
        .take(12)
        .collect();
    anyhow::ensure!(
        !services.is_empty(),
        "the demo catalogue has no counter services"
    );

    // Every payee that will be settled gets an account.
    let system = |reason| Principal::System { reason };
    let permit = authorize(
        &system("demo payees"),
        Action::SetPayeeAccount { office: None },
    )?;
    let mut n = 1;
    let mut payees: Vec<(Account, String)> = offices
        .iter()
        .map(|o| (Account::OfficeCommission(o.code), o.name.fa.clone()))
        .collect();
    let mut agencies: Vec<_> = services.iter().map(|s| s.agency.clone()).collect();
    agencies.sort();
    agencies.dedup();
    for a in agencies {
        let name = store
            .agencies()
            .await?
            .into_iter()
            .find(|x| x.code == a)
            .map(|x| x.name.fa)
            .unwrap_or_else(|| a.to_string());
        payees.push((Account::AgencyPayable(a), name));
    }
    payees.push((Account::VatPayable, "خزانه‌داری کل کشور".into()));
    for (account, holder) in &payees {
        store
            .set_payee_account(&permit, account, &demo_sheba(n)?, holder, &ctx(&clock))
            .await?;
        n += 1;
    }

    let manager = store
        .staff_by_username(&Username::parse("manager")?)
        .await
        .ok();
    let mut dice = Dice(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut citizen = 1_000_000u64;
    for back in (1..=DAYS).rev() {
        let day = today.add_days(-back);
        for (oi, office) in offices.iter().enumerate() {
            let count = 2 + dice.next(5);
            for k in 0..count {
                let minute = 8 * 60 + 30 + (k as u16) * 25 + oi as u16 * 3;
                let at = tehran_instant(day, minute);
                set_time(&clock, &control, at).await?;
                let service = &services[dice.next(services.len() as u64) as usize];
                citizen += 1;
                let national_code = national_code_from(citizen)?;
                let req = PaymentRequest {
                    service: service.code.clone(),
                    national_code,
                    case_id: format!("DEMO-{}-{}-{k}", day, office.code),
                };
                let key = format!("demo-{day}-{}-{k}", office.code);
                let view =
                    payments::start_as_system(&app, office.code, &key, &req, &ctx(&clock)).await?;
                let token = view
                    .payment
                    .token
                    .clone()
                    .context("the processor gave no token")?;
                if dice.next(12) == 0 {
                    // The citizen walked away from the terminal.
                    payer
                        .cancel_as_payer(&token)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    clock.advance(time::Duration::minutes(1));
                    // The processor's callback, delivered by hand: no server listens yet.
                    payments::callback(
                        &app,
                        &payments::CallbackInput {
                            token,
                            order_id: view.payment.id,
                            paid: false,
                            ref_num: None,
                            amount_rials: view.payment.amount.get(),
                            card_mask: None,
                        },
                    )
                    .await?;
                    continue;
                }
                payer
                    .pay_as_payer(&token, CARD)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                clock.advance(time::Duration::minutes(1));
                let paid = payments::check_as_system(&app, view.payment.id).await?;
                history.payments += 1;
                // Now and then the manager refunds part of a fee.
                if let (Some(m), true) = (&manager, dice.next(40) == 0)
                    && m.staff.office == Some(office.code)
                    && paid.status.counts_as_paid()
                {
                    let session = manager_session(m);
                    let half = paid.amount.get() / 2;
                    payments::refund(
                        &app,
                        &session,
                        paid.id,
                        half,
                        "خدمت به‌طور کامل انجام نشد",
                        &ctx(&clock),
                    )
                    .await?;
                }
            }
        }
        if back == 3 {
            // A stray order at the processor, unknown to us: reconciliation parks it.
            let stray = payer
                .token(
                    900_000_000 + back,
                    150_000,
                    "http://127.0.0.1:9/cb",
                    "http://127.0.0.1:9/back",
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            payer
                .pay_as_payer(&stray, CARD)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            payer
                .verify(&stray)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        // The next morning the sweeper settles and reconciles the day.
        set_time(&clock, &control, tehran_instant(day.add_days(1), 60)).await?;
        payments::settle_day(&app, None, day, &ctx(&clock)).await?;
        history.days_settled += 1;
        let rec = payments::reconcile_day(&app, None, day, &ctx(&clock)).await?;
        history.mismatches += rec.mismatches.len();
    }
    // Give the processor its real clock back.
    control
        .set_offset(0)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(history)
}

async fn set_time(
    clock: &FixedClock,
    control: &PspControl,
    at: time::OffsetDateTime,
) -> anyhow::Result<()> {
    use pishkhan_app::Clock;
    clock.advance(at - clock.now());
    control
        .set_now(unix_ms(at))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// A valid national code from a counter (nine digits and their check digit).
pub(crate) fn national_code_from(n: u64) -> anyhow::Result<NationalCode> {
    let body = format!("{:09}", 100_000_000 + n % 800_000_000);
    let sum: u32 = body
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * (10 - i as u32))
        .sum();
    let r = sum % 11;
    let check = if r < 2 { r } else { 11 - r };
    Ok(NationalCode::parse(&format!("{body}{check}"))?)
}

pub(crate) fn manager_session(m: &pishkhan_store::StaffRecord) -> StaffSession {
    StaffSession {
        actor: StaffActor {
            id: m.id,
            username: m.staff.username.clone(),
            role: m.staff.role,
            office: m.staff.office,
            office_status: Some(OfficeStatus::Active),
        },
        token_hash: String::new(),
    }
}

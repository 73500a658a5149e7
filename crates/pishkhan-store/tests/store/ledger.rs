//! The ledger on both stores: random payments, posts, voids, refunds, settlements, retries and
//! deliberately bad transfers in random batches keep a model kept here, conserve money and
//! satisfy `verify_ledger`; and a tamperer who goes around the store (triggers dropped) changes
//! no column, row, pending or balance unseen.

use std::collections::{BTreeMap, HashMap};

use pishkhan_domain::ledger::IdSpace;
use pishkhan_domain::model::{AgencyCode, OfficeCode};
use pishkhan_store::{
    Account, Balance, LedgerFault, MAX_BATCH, Outcome, Phase, Transfer, TransferCode,
    TransferError, TransferId,
};

use super::*;

/// The test's own deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn agency(i: u64) -> Account {
    let codes = ["civil-registry", "post", "traffic-police"];
    Account::AgencyPayable(AgencyCode::parse(codes[i as usize % codes.len()]).unwrap())
}

fn office(i: u64) -> Account {
    Account::OfficeCommission(OfficeCode::from_u32(11_000_001 + (i % 7) as u32).unwrap())
}

fn transfer(
    id: TransferId,
    debit: Account,
    credit: Account,
    amount: i64,
    phase: Phase,
) -> Transfer {
    Transfer {
        id,
        debit,
        credit,
        amount,
        phase,
        linked: false,
        code: TransferCode::Payment,
        reference: 0,
    }
}

/// Links every transfer of `chain` to the next.
fn linked(mut chain: Vec<Transfer>) -> Vec<Transfer> {
    let n = chain.len();
    for (i, t) in chain.iter_mut().enumerate() {
        t.linked = i + 1 < n;
    }
    chain
}

/// The ledger as this test understands it, written without the domain's `Book`.
#[derive(Default, Clone)]
struct Model {
    balances: HashMap<Account, Balance>,
    /// Pending id → (its transfer, resolved?).
    pendings: HashMap<TransferId, (Transfer, bool)>,
    applied: HashMap<TransferId, Transfer>,
    /// Every chain applied, for whole retries.
    chains: Vec<Vec<Transfer>>,
    count: u64,
}

impl Model {
    fn bal(&mut self, a: &Account) -> &mut Balance {
        self.balances.entry(a.clone()).or_default()
    }

    fn apply(&mut self, t: &Transfer) {
        let amount = t.amount;
        match t.phase {
            Phase::Single => {
                self.bal(&t.debit).debits_posted += amount;
                self.bal(&t.credit).credits_posted += amount;
            }
            Phase::Pending => {
                self.bal(&t.debit).debits_pending += amount;
                self.bal(&t.credit).credits_pending += amount;
                self.pendings.insert(t.id, (t.clone(), false));
            }
            Phase::Post(p) | Phase::Void(p) => {
                self.bal(&t.debit).debits_pending -= amount;
                self.bal(&t.credit).credits_pending -= amount;
                if let Phase::Post(_) = t.phase {
                    self.bal(&t.debit).debits_posted += amount;
                    self.bal(&t.credit).credits_posted += amount;
                }
                self.pendings.get_mut(&p).unwrap().1 = true;
            }
        }
        self.applied.insert(t.id, t.clone());
        self.count += 1;
    }

    /// What a payable may still pay out: posted credits less every debit.
    fn available(&self, a: &Account) -> i64 {
        self.balances
            .get(a)
            .map(|b| b.credits_posted - b.debits_posted - b.debits_pending)
            .unwrap_or(0)
    }

    fn open_pendings(&self) -> Vec<TransferId> {
        let mut v: Vec<_> = self
            .pendings
            .iter()
            .filter(|(_, (_, done))| !done)
            .map(|(id, _)| *id)
            .collect();
        v.sort();
        v
    }
}

/// A chain the generator made, with what it must become.
struct Planned {
    chain: Vec<Transfer>,
    expect: Expect,
}

enum Expect {
    Applied,
    Exists,
    /// Refused whole, with this error at this member (the others `LinkedEventFailed`).
    Refused(usize, TransferError),
}

/// Makes the next chain against `scratch` (the model as the chains before it in the batch
/// leave it), and applies it there when it must apply.
fn next_chain(rng: &mut Rng, scratch: &mut Model, serial: &mut i64) -> Planned {
    *serial += 1;
    let n = *serial;
    let id = |step: u8, leg: u8| TransferId::derived(IdSpace::Bench, n, step, leg);
    let roll = rng.below(100);
    let open = scratch.open_pendings();
    let planned = if roll < 35 || open.is_empty() {
        // A payment at its callback: 3 or 4 pending legs from the card processor's clearing.
        let legs = 3 + rng.below(2) as u8;
        let mut chain = vec![
            transfer(
                id(1, 0),
                Account::PspClearing,
                agency(rng.next()),
                1 + rng.below(900_000) as i64,
                Phase::Pending,
            ),
            transfer(
                id(1, 1),
                Account::PspClearing,
                office(rng.next()),
                1 + rng.below(200_000) as i64,
                Phase::Pending,
            ),
            transfer(
                id(1, 2),
                Account::PspClearing,
                Account::VatPayable,
                1 + rng.below(90_000) as i64,
                Phase::Pending,
            ),
        ];
        if legs == 4 {
            chain.push(transfer(
                id(1, 3),
                Account::PspClearing,
                agency(rng.next() + 1),
                1 + rng.below(50_000) as i64,
                Phase::Pending,
            ));
        }
        for t in &mut chain {
            t.reference = n;
        }
        Planned {
            chain: linked(chain),
            expect: Expect::Applied,
        }
    } else if roll < 60 {
        // Verified or reversed: post or void up to three open pendings together.
        let take = 1 + rng.below(3) as usize;
        let void = rng.chance(20);
        let chain: Vec<Transfer> = open
            .iter()
            .take(take)
            .enumerate()
            .map(|(i, p)| {
                let (pending, _) = &scratch.pendings[p];
                let phase = if void {
                    Phase::Void(*p)
                } else {
                    Phase::Post(*p)
                };
                transfer(
                    id(2, i as u8),
                    pending.debit.clone(),
                    pending.credit.clone(),
                    pending.amount,
                    phase,
                )
            })
            .collect();
        Planned {
            chain: linked(chain),
            expect: Expect::Applied,
        }
    } else if roll < 70 {
        // A refund: the payee gives back part of what it holds, and the card is credited.
        let payee = if rng.chance(50) {
            agency(rng.next())
        } else {
            office(rng.next())
        };
        let available = scratch.available(&payee);
        if available <= 0 {
            return next_chain(rng, scratch, serial);
        }
        let amount = 1 + rng.below(available as u64) as i64;
        let mut chain = linked(vec![
            transfer(id(3, 0), payee, Account::Refunds, amount, Phase::Single),
            transfer(
                id(3, 1),
                Account::Refunds,
                Account::PspClearing,
                amount,
                Phase::Single,
            ),
        ]);
        for t in &mut chain {
            t.code = TransferCode::Refund;
        }
        Planned {
            chain,
            expect: Expect::Applied,
        }
    } else if roll < 80 {
        // A settlement of everything a payee may be paid.
        let payee = match rng.below(3) {
            0 => agency(rng.next()),
            1 => office(rng.next()),
            _ => Account::VatPayable,
        };
        let available = scratch.available(&payee);
        if available <= 0 {
            return next_chain(rng, scratch, serial);
        }
        let mut t = transfer(
            id(4, 0),
            payee,
            Account::PspClearing,
            available,
            Phase::Single,
        );
        t.code = TransferCode::Settlement;
        Planned {
            chain: vec![t],
            expect: Expect::Applied,
        }
    } else if roll < 84 && !scratch.chains.is_empty() {
        // A whole chain again, as a client retrying a timed-out call: all `Exists`.
        let chain = scratch.chains[rng.below(scratch.chains.len() as u64) as usize].clone();
        return Planned {
            chain,
            expect: Expect::Exists,
        };
    } else if roll < 88 && !scratch.applied.is_empty() {
        // A retry of something applied: the same transfer again is `Exists`.
        let mut ids: Vec<_> = scratch.applied.keys().copied().collect();
        ids.sort();
        let t = scratch.applied[&ids[rng.below(ids.len() as u64) as usize]].clone();
        let t = Transfer { linked: false, ..t };
        // A member of a chain retried alone differs in its linked flag: only unlinked ones.
        if scratch.applied[&t.id].linked {
            return next_chain(rng, scratch, serial);
        }
        return Planned {
            chain: vec![t],
            expect: Expect::Exists,
        };
    } else {
        // Deliberately bad, each inside a chain that must then fail whole.
        let good = transfer(
            id(5, 0),
            Account::PspClearing,
            Account::Suspense,
            10,
            Phase::Single,
        );
        let (bad, err) = match rng.below(6) {
            0 => (
                transfer(
                    id(5, 1),
                    Account::PspClearing,
                    Account::Suspense,
                    0,
                    Phase::Single,
                ),
                TransferError::AmountMustBePositive,
            ),
            1 => (
                transfer(
                    id(5, 1),
                    Account::Suspense,
                    Account::Suspense,
                    5,
                    Phase::Single,
                ),
                TransferError::AccountsMustBeDifferent,
            ),
            2 => {
                let payee = office(rng.next());
                let over = scratch.available(&payee).max(0) + 1;
                (
                    transfer(id(5, 1), payee, Account::PspClearing, over, Phase::Single),
                    TransferError::ExceedsCredits,
                )
            }
            3 => (
                transfer(
                    id(5, 1),
                    Account::PspClearing,
                    Account::VatPayable,
                    5,
                    Phase::Post(TransferId(u128::MAX)),
                ),
                TransferError::PendingNotFound,
            ),
            4 => match scratch
                .pendings
                .iter()
                .filter(|(_, (_, done))| *done)
                .map(|(id, _)| *id)
                .min()
            {
                Some(p) => {
                    let (pt, _) = &scratch.pendings[&p];
                    (
                        transfer(
                            id(5, 1),
                            pt.debit.clone(),
                            pt.credit.clone(),
                            pt.amount,
                            Phase::Post(p),
                        ),
                        TransferError::PendingAlreadyPosted,
                    )
                }
                None => (
                    transfer(
                        id(5, 1),
                        Account::PspClearing,
                        Account::Suspense,
                        -3,
                        Phase::Single,
                    ),
                    TransferError::AmountMustBePositive,
                ),
            },
            _ => match scratch.applied.keys().min().copied() {
                Some(old) => (
                    transfer(
                        old,
                        Account::PspClearing,
                        Account::Suspense,
                        77,
                        Phase::Single,
                    ),
                    TransferError::ExistsWithDifferentFields,
                ),
                None => (
                    transfer(
                        id(5, 1),
                        Account::PspClearing,
                        Account::Suspense,
                        0,
                        Phase::Single,
                    ),
                    TransferError::AmountMustBePositive,
                ),
            },
        };
        // A post of a voided pending is `PendingAlreadyVoided`, not `…Posted`.
        let err = match (&bad.phase, err) {
            (Phase::Post(p), TransferError::PendingAlreadyPosted) => {
                let posted = scratch.applied.values().any(|t| t.phase == Phase::Post(*p));
                if posted {
                    TransferError::PendingAlreadyPosted
                } else {
                    TransferError::PendingAlreadyVoided
                }
            }
            (_, e) => e,
        };
        return Planned {
            chain: linked(vec![good, bad]),
            expect: Expect::Refused(1, err),
        };
    };
    for t in &planned.chain {
        scratch.apply(t);
    }
    scratch.chains.push(planned.chain.clone());
    planned
}

fn check_outcomes(be: &str, p: &Planned, got: &[Outcome]) {
    match p.expect {
        Expect::Applied => assert!(
            got.iter().all(|o| *o == Outcome::Applied),
            "{be}: {got:?} for {:?}",
            p.chain
        ),
        Expect::Exists => assert!(got.iter().all(|o| *o == Outcome::Exists), "{be}: {got:?}"),
        Expect::Refused(at, err) => {
            for (i, o) in got.iter().enumerate() {
                let want = if i == at {
                    err
                } else {
                    TransferError::LinkedEventFailed
                };
                assert_eq!(
                    *o,
                    Outcome::Refused(want),
                    "{be}: member {i} of {:?}",
                    p.chain
                );
            }
        }
    }
}

/// Stored balances against the model, and the ledger's own sums.
async fn check_store(be: &str, store: &dyn Store, model: &Model) {
    let stored = store.all_balances().await.unwrap();
    let zero = Balance::default();
    for (a, b) in &model.balances {
        assert_eq!(stored.get(a).unwrap_or(&zero), b, "{be}: account {a}");
    }
    for (a, b) in &stored {
        assert_eq!(
            model.balances.get(a).unwrap_or(&zero),
            b,
            "{be}: account {a}"
        );
        if a.debits_must_not_exceed_credits() {
            assert!(
                b.debits_posted + b.debits_pending <= b.credits_posted,
                "{be}: {a} below zero: {b:?}"
            );
        }
    }
    let sum = |f: fn(&Balance) -> i64| stored.values().map(f).sum::<i64>();
    assert_eq!(
        sum(|b| b.debits_posted),
        sum(|b| b.credits_posted),
        "{be}: posted"
    );
    assert_eq!(
        sum(|b| b.debits_pending),
        sum(|b| b.credits_pending),
        "{be}: pending"
    );
    let replay = store
        .verify_ledger()
        .await
        .unwrap()
        .expect("a sound ledger");
    assert_eq!(replay.transfers, model.count, "{be}");
    let replayed: BTreeMap<_, _> = replay
        .balances
        .into_iter()
        .filter(|(_, b)| *b != zero)
        .collect();
    let nonzero: BTreeMap<_, _> = stored.into_iter().filter(|(_, b)| *b != zero).collect();
    assert_eq!(replayed, nonzero, "{be}");
    let head = store.ledger_head().await.unwrap();
    assert_eq!(head.seq as u64, model.count, "{be}");
}

#[tokio::test]
async fn random_payments_keep_the_model_conserve_money_and_verify() {
    for db in TestDb::all().await {
        let be = db.backend().name();
        let store = db.open().await;
        let empty = store
            .verify_ledger()
            .await
            .unwrap()
            .expect("an empty ledger is sound");
        assert_eq!(empty.transfers, 0);
        for seed in [7_u64, 1405] {
            let mut rng = Rng(seed);
            // Each seed writes ids of its own, on top of what the seeds before it left.
            let mut serial = seed as i64 * 1_000_000;
            let mut kinds: BTreeMap<&str, u32> = BTreeMap::new();
            let mut model = Model {
                balances: store.all_balances().await.unwrap().into_iter().collect(),
                count: store.ledger_head().await.unwrap().seq as u64,
                ..Model::default()
            };
            for round in 0..30 {
                let mut scratch = model.clone();
                let mut planned = Vec::new();
                let size = 1 + rng.below(if round % 7 == 0 { 400 } else { 40 }) as usize;
                let mut len = 0;
                while len < size {
                    let p = next_chain(&mut rng, &mut scratch, &mut serial);
                    len += p.chain.len();
                    planned.push(p);
                }
                let batch: Vec<Transfer> = planned.iter().flat_map(|p| p.chain.clone()).collect();
                let outcomes = store.post_transfers(&batch).await.unwrap();
                assert_eq!(outcomes.len(), batch.len(), "{be}");
                let mut at = 0;
                for p in &planned {
                    check_outcomes(be, p, &outcomes[at..at + p.chain.len()]);
                    at += p.chain.len();
                    *kinds
                        .entry(match p.expect {
                            Expect::Applied => "applied",
                            Expect::Exists => "retried",
                            Expect::Refused(..) => "refused",
                        })
                        .or_insert(0) += 1;
                }
                model = scratch;
                if round % 10 == 9 {
                    check_store(be, store.as_ref(), &model).await;
                }
            }
            check_store(be, store.as_ref(), &model).await;
            // The run held every kind of step, so the checks above saw each.
            for t in model.applied.values() {
                let kind = match (t.phase, t.code) {
                    (Phase::Void(_), _) => "void",
                    (Phase::Post(_), _) => "post",
                    (_, TransferCode::Refund) => "refund",
                    (_, TransferCode::Settlement) => "settlement",
                    _ => continue,
                };
                *kinds.entry(kind).or_insert(0) += 1;
            }
            for kind in [
                "applied",
                "retried",
                "refused",
                "void",
                "post",
                "refund",
                "settlement",
            ] {
                assert!(
                    kinds.get(kind).copied().unwrap_or(0) > 0,
                    "{be} seed {seed}: no {kind} in {kinds:?}"
                );
            }
            // A payment's transfers are found by its reference, in applied order.
            let (id, t) = model
                .applied
                .iter()
                .filter(|(_, t)| t.code == TransferCode::Payment && t.reference != 0)
                .min_by_key(|(id, _)| **id)
                .unwrap();
            let of = store
                .transfers_of(TransferCode::Payment, t.reference)
                .await
                .unwrap();
            assert!(of.iter().any(|s| s.transfer.id == *id), "{be}");
            assert!(
                of.iter().all(|s| s.transfer.reference == t.reference),
                "{be}"
            );
        }
        // Pages of the applied order hold every transfer once.
        let mut after = 0;
        let mut seen = 0u64;
        loop {
            let page = store.transfers_after(after, 97).await.unwrap();
            if page.is_empty() {
                break;
            }
            for (seq, _) in &page {
                assert_eq!(*seq, after + 1, "{be}");
                after = *seq;
            }
            seen += page.len() as u64;
        }
        assert_eq!(seen, store.ledger_head().await.unwrap().seq as u64, "{be}");
    }
}

#[tokio::test]
async fn batches_are_bounded_and_an_open_chain_is_refused() {
    for db in TestDb::all().await {
        let be = db.backend().name();
        let store = db.open().await;
        let t = |n: u128| {
            transfer(
                TransferId(n),
                Account::PspClearing,
                Account::Suspense,
                5,
                Phase::Single,
            )
        };
        let too_many: Vec<Transfer> = (1..=MAX_BATCH as u128 + 1).map(t).collect();
        assert!(
            matches!(
                store.post_transfers(&too_many).await,
                Err(StoreError::LedgerBatchTooLarge { .. })
            ),
            "{be}"
        );
        assert_eq!(store.post_transfers(&[]).await.unwrap(), vec![], "{be}");
        let mut open = t(1);
        open.linked = true;
        assert_eq!(
            store.post_transfers(&[open]).await.unwrap(),
            vec![Outcome::Refused(TransferError::LinkedEventChainOpen)],
            "{be}"
        );
        assert!(
            store.all_balances().await.unwrap().is_empty(),
            "{be}: nothing written"
        );
        assert_eq!(store.ledger_head().await.unwrap().seq, 0, "{be}");
        // A full batch applies whole.
        let full: Vec<Transfer> = (1..=MAX_BATCH as u128).map(t).collect();
        let out = store.post_transfers(&full).await.unwrap();
        assert!(out.iter().all(|o| *o == Outcome::Applied), "{be}");
        let b = store
            .balances(&[Account::Suspense, Account::Refunds])
            .await
            .unwrap();
        assert_eq!(
            b[&Account::Suspense].credits_posted,
            5 * MAX_BATCH as i64,
            "{be}"
        );
        assert_eq!(b[&Account::Refunds], Balance::default(), "{be}");
        assert!(store.verify_ledger().await.unwrap().is_ok(), "{be}");
    }
}

// ---- tampering -------------------------------------------------------------------------------

/// A small ledger with every kind of row: a payment of three pending legs, two posted and
/// chained, a void, a settlement. Returns the transfers in applied order.
async fn small_ledger(store: &dyn Store) -> Vec<Transfer> {
    let id = |step: u8, leg: u8| TransferId::derived(IdSpace::Payment, 42, step, leg);
    let pay = linked(vec![
        transfer(
            id(1, 0),
            Account::PspClearing,
            agency(0),
            500_000,
            Phase::Pending,
        ),
        transfer(
            id(1, 1),
            Account::PspClearing,
            office(0),
            150_000,
            Phase::Pending,
        ),
        transfer(
            id(1, 2),
            Account::PspClearing,
            Account::VatPayable,
            65_000,
            Phase::Pending,
        ),
    ]);
    let post = linked(vec![
        transfer(
            id(2, 0),
            Account::PspClearing,
            agency(0),
            500_000,
            Phase::Post(id(1, 0)),
        ),
        transfer(
            id(2, 1),
            Account::PspClearing,
            office(0),
            150_000,
            Phase::Post(id(1, 1)),
        ),
    ]);
    let void = vec![transfer(
        id(3, 0),
        Account::PspClearing,
        Account::VatPayable,
        65_000,
        Phase::Void(id(1, 2)),
    )];
    let settle = vec![Transfer {
        code: TransferCode::Settlement,
        reference: 7,
        ..transfer(
            id(4, 0),
            agency(0),
            Account::PspClearing,
            400_000,
            Phase::Single,
        )
    }];
    let mut all = Vec::new();
    for batch in [pay, post, void, settle] {
        let out = store.post_transfers(&batch).await.unwrap();
        assert!(out.iter().all(|o| *o == Outcome::Applied), "{out:?}");
        all.extend(batch);
    }
    all
}

/// A 16-byte (or 32-byte) value as each engine's blob literal.
fn blob(be: Backend, bytes: &[u8]) -> String {
    match be {
        Backend::Sqlite => format!("X'{}'", hex::encode(bytes)),
        Backend::Postgres => format!("'\\x{}'::bytea", hex::encode(bytes)),
    }
}

async fn fault_of(store: &dyn Store, what: &str) -> LedgerFault {
    match store.verify_ledger().await.unwrap() {
        Ok(r) => panic!(
            "{what}: the ledger still verifies ({} transfers)",
            r.transfers
        ),
        Err(f) => f,
    }
}

#[tokio::test]
async fn the_ledger_refuses_edits_and_verify_names_every_tampered_column() {
    for db in TestDb::all().await {
        let be = db.backend();
        let name = be.name();
        let store = db.open().await;
        let all = small_ledger(store.as_ref()).await;
        store
            .verify_ledger()
            .await
            .unwrap()
            .expect("sound before tampering");
        let mut conn = raw_connection(&db).await;
        // The triggers refuse every change and deletion while they are there.
        let mut refused = vec![
            "UPDATE ledger_transfers SET amount = amount".to_string(),
            "UPDATE ledger_transfers SET at_ms = 1".into(),
            "DELETE FROM ledger_transfers WHERE seq = 6".into(),
            // A second post, under a new id, of the pending seq 4 already posted.
            format!(
                "INSERT INTO ledger_transfers SELECT seq + 100, {}, debit, credit, amount, phase, \
                 pending_id, linked, chain, chain_len, code, reference, at_ms, digest \
                 FROM ledger_transfers WHERE seq = 4",
                blob(be, &[0xab; 16])
            ),
            "DELETE FROM ledger_accounts".into(),
            "UPDATE ledger_head SET seq = 0".into(),
            "DELETE FROM ledger_head".into(),
        ];
        if be == Backend::Postgres {
            for t in ["ledger_transfers", "ledger_accounts", "ledger_head"] {
                refused.push(format!("TRUNCATE {t}"));
            }
        }
        for sql in refused {
            let r = sqlx::Executor::execute(&mut conn, sqlx::AssertSqlSafe(sql.clone())).await;
            assert!(r.is_err(), "{name} allowed `{sql}`");
        }
        store.verify_ledger().await.unwrap().expect("still sound");

        // Now as an attacker with the database: triggers gone, a copy kept to undo each change.
        let drops: &[&str] = match be {
            Backend::Sqlite => &[
                "DROP TRIGGER ledger_transfers_fixed",
                "DROP TRIGGER ledger_transfers_kept",
                "DROP TRIGGER ledger_head_forward",
            ],
            Backend::Postgres => &[
                "DROP TRIGGER ledger_transfers_fixed ON ledger_transfers",
                "DROP TRIGGER ledger_head_forward ON ledger_head",
            ],
        };
        for sql in drops {
            sqlx::Executor::execute(&mut conn, *sql).await.unwrap();
        }
        sqlx::Executor::execute(
            &mut conn,
            "CREATE TABLE ledger_copy AS SELECT * FROM ledger_transfers",
        )
        .await
        .unwrap();
        let undo =
            "DELETE FROM ledger_transfers; INSERT INTO ledger_transfers SELECT * FROM ledger_copy";

        // The second post (seq 5) is a chain member; seq 3 the VAT pending.
        let member = all[4].id;
        let head_of_posts = all[3].id;
        let other = TransferId(0xdead_beef);
        let cases: Vec<(&str, String, Option<TransferId>, &str)> = vec![
            (
                "seq up",
                "UPDATE ledger_transfers SET seq = 1000 WHERE seq = 5".into(),
                Some(head_of_posts),
                "seq 5 is missing",
            ),
            (
                "seq down",
                "UPDATE ledger_transfers SET seq = -5 WHERE seq = 5".into(),
                Some(member),
                "out of place",
            ),
            (
                "id",
                format!(
                    "UPDATE ledger_transfers SET id = {} WHERE seq = 5",
                    blob(be, &other.to_bytes())
                ),
                Some(other),
                "digest",
            ),
            (
                "debit",
                "UPDATE ledger_transfers SET debit = 'suspense' WHERE seq = 5".into(),
                Some(member),
                "digest",
            ),
            (
                "credit",
                "UPDATE ledger_transfers SET credit = 'suspense' WHERE seq = 5".into(),
                Some(member),
                "digest",
            ),
            (
                "amount",
                "UPDATE ledger_transfers SET amount = amount + 1 WHERE seq = 5".into(),
                Some(member),
                "digest",
            ),
            (
                "phase",
                "UPDATE ledger_transfers SET phase = 'void' WHERE seq = 5".into(),
                Some(member),
                "digest",
            ),
            (
                "pending_id",
                format!(
                    "UPDATE ledger_transfers SET pending_id = {} WHERE seq = 5",
                    blob(be, &other.to_bytes())
                ),
                Some(member),
                "digest",
            ),
            (
                "linked",
                "UPDATE ledger_transfers SET linked = 1 - linked WHERE seq = 5".into(),
                Some(member),
                "digest",
            ),
            (
                "chain",
                format!(
                    "UPDATE ledger_transfers SET chain = {} WHERE seq = 5",
                    blob(be, &other.to_bytes())
                ),
                Some(member),
                "digest",
            ),
            (
                "chain_len",
                "UPDATE ledger_transfers SET chain_len = 3 WHERE seq = 5".into(),
                Some(member),
                "digest",
            ),
            (
                "code",
                "UPDATE ledger_transfers SET code = 'refund' WHERE seq = 5".into(),
                Some(member),
                "digest",
            ),
            (
                "reference",
                "UPDATE ledger_transfers SET reference = 43 WHERE seq = 5".into(),
                Some(member),
                "digest",
            ),
            (
                "at_ms",
                "UPDATE ledger_transfers SET at_ms = at_ms + 1 WHERE seq = 5".into(),
                Some(member),
                "digest",
            ),
            (
                "digest",
                format!(
                    "UPDATE ledger_transfers SET digest = {} WHERE seq = 5",
                    blob(be, &[7u8; 32])
                ),
                Some(member),
                "digest",
            ),
            (
                "a chain member deleted",
                "DELETE FROM ledger_transfers WHERE seq = 5".into(),
                Some(head_of_posts),
                "partial",
            ),
            (
                "the last transfer deleted",
                "DELETE FROM ledger_transfers WHERE seq = 7".into(),
                None,
                "ledger_head",
            ),
        ];
        for (what, sql, transfer, reason) in cases {
            sqlx::Executor::execute(&mut conn, sqlx::AssertSqlSafe(sql))
                .await
                .unwrap();
            let f = fault_of(store.as_ref(), what).await;
            assert_eq!(f.transfer, transfer, "{name} {what}: {f}");
            assert!(f.reason.contains(reason), "{name} {what}: {f}");
            sqlx::raw_sql(undo).execute(&mut conn).await.unwrap();
            store
                .verify_ledger()
                .await
                .unwrap()
                .unwrap_or_else(|f| panic!("{name} after undoing {what}: {f}"));
        }

        // A stored balance and the head, each alone.
        let vat = Account::VatPayable;
        for (what, sql, back, account, transfer) in [
            (
                "a balance",
                "UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE code = 'vat_payable'",
                "UPDATE ledger_accounts SET credits_posted = credits_posted - 1 WHERE code = 'vat_payable'",
                Some(vat.clone()),
                None,
            ),
            (
                "the head",
                "UPDATE ledger_head SET seq = seq + 1",
                "UPDATE ledger_head SET seq = seq - 1",
                None,
                None,
            ),
        ] {
            sqlx::Executor::execute(&mut conn, sql).await.unwrap();
            let f = fault_of(store.as_ref(), what).await;
            assert_eq!(
                (f.account.clone(), f.transfer),
                (account, transfer),
                "{name} {what}: {f}"
            );
            sqlx::Executor::execute(&mut conn, back).await.unwrap();
            store
                .verify_ledger()
                .await
                .unwrap()
                .unwrap_or_else(|f| panic!("{name} after undoing {what}: {f}"));
        }
    }
}

//! The abuse limits' cells: each step is atomic, spent cells read as absent, and on
//! PostgreSQL two stores on one database (two nodes) count against the same cells.

use super::*;
use pishkhan_store::{LimitCell, MAX_LIMIT_KEYS_PER_STEP};

/// Adds one to a counter cell and returns the count it reached.
async fn bump(store: &dyn Store, key: &str, now: i64, live_for: i64) -> i64 {
    let mut reached = 0;
    store
        .limit_step(&[key], now, &mut |cells| {
            let n = cells[0]
                .as_ref()
                .map(|c| i64::from_le_bytes(c.state[..8].try_into().unwrap()))
                .unwrap_or(0)
                + 1;
            reached = n;
            cells[0] = Some(LimitCell {
                state: n.to_le_bytes().to_vec(),
                spent_at_ms: now + live_for,
            });
        })
        .await
        .unwrap();
    reached
}

#[tokio::test]
async fn a_cell_lives_until_it_is_spent_and_is_forgotten_on_request() {
    for db in TestDb::all().await {
        let store = db.open().await;
        let be = db.backend();
        assert_eq!(bump(store.as_ref(), "k", T0, 1_000).await, 1, "{be:?}");
        assert_eq!(bump(store.as_ref(), "k", T0 + 10, 1_000).await, 2, "{be:?}");
        let cells = store.limit_cells(&["k", "other"], T0 + 20).await.unwrap();
        assert_eq!(cells[0].as_ref().unwrap().spent_at_ms, T0 + 1_010, "{be:?}");
        assert!(
            cells[1].is_none(),
            "{be:?}: a key never written reads as absent"
        );
        // Once spent, the cell reads as absent and counting starts over.
        assert!(store.limit_cells(&["k"], T0 + 1_010).await.unwrap()[0].is_none());
        assert_eq!(
            bump(store.as_ref(), "k", T0 + 1_010, 1_000).await,
            1,
            "{be:?}"
        );
        // A step that leaves `None` forgets the key.
        store
            .limit_step(&["k"], T0 + 1_020, &mut |cells| cells[0] = None)
            .await
            .unwrap();
        assert!(store.limit_cells(&["k"], T0 + 1_020).await.unwrap()[0].is_none());
    }
}

#[tokio::test]
async fn a_step_changes_all_its_keys_or_none() {
    for db in TestDb::all().await {
        let store = db.open().await;
        let be = db.backend();
        bump(store.as_ref(), "a", T0, 60_000).await;
        // A step that leaves the cells as they were writes nothing.
        store
            .limit_step(&["a", "b"], T0, &mut |cells| {
                assert!(cells[0].is_some() && cells[1].is_none(), "{be:?}");
            })
            .await
            .unwrap();
        let cells = store.limit_cells(&["a", "b"], T0).await.unwrap();
        assert!(cells[0].is_some() && cells[1].is_none(), "{be:?}");
        // Cells come back in the order the keys were named, whatever order they lock in.
        store
            .limit_step(&["z", "a"], T0, &mut |cells| {
                cells[0] = Some(LimitCell {
                    state: b"zz".to_vec(),
                    spent_at_ms: T0 + 5,
                });
                assert_eq!(cells[1].as_ref().unwrap().state.len(), 8, "{be:?}");
            })
            .await
            .unwrap();
        let cells = store.limit_cells(&["a", "z"], T0).await.unwrap();
        assert_eq!(cells[1].as_ref().unwrap().state, b"zz", "{be:?}");
    }
}

#[tokio::test]
async fn misuse_of_a_step_is_refused_without_writing() {
    for db in TestDb::all().await {
        let store = db.open().await;
        let be = db.backend();
        let too_many: Vec<String> = (0..=MAX_LIMIT_KEYS_PER_STEP)
            .map(|i| format!("k{i}"))
            .collect();
        let keys: Vec<&str> = too_many.iter().map(String::as_str).collect();
        assert!(
            store.limit_step(&keys, T0, &mut |_| {}).await.is_err(),
            "{be:?}"
        );
        assert!(
            store
                .limit_step(&["d", "d"], T0, &mut |_| {})
                .await
                .is_err(),
            "{be:?}"
        );
        let long = "k".repeat(201);
        assert!(
            store.limit_cells(&[long.as_str()], T0).await.is_err(),
            "{be:?}"
        );
        // A state past the bound is refused, and the cell keeps what it held.
        bump(store.as_ref(), "big", T0, 60_000).await;
        let refused = store
            .limit_step(&["big"], T0, &mut |cells| {
                cells[0] = Some(LimitCell {
                    state: vec![0; 64 * 1024],
                    spent_at_ms: T0 + 60_000,
                });
            })
            .await;
        assert!(refused.is_err(), "{be:?}");
        assert_eq!(bump(store.as_ref(), "big", T0, 60_000).await, 2, "{be:?}");
    }
}

#[tokio::test]
async fn concurrent_steps_from_two_stores_on_one_database_lose_no_count() {
    // On PostgreSQL two stores are two nodes; SQLite has one owning process, so there the
    // steps race within it.
    for db in TestDb::all().await {
        let be = db.backend();
        let first = db.open().await;
        let second = if be == Backend::Postgres {
            db.open().await
        } else {
            first.clone()
        };
        let mut tasks = Vec::new();
        for i in 0..200 {
            let store = if i % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            tasks.push(tokio::spawn(async move {
                // Two keys named in opposite orders by alternate steps: key order must
                // keep them from deadlocking.
                let keys = if i % 4 < 2 { ["x", "y"] } else { ["y", "x"] };
                store
                    .limit_step(&keys, T0, &mut |cells| {
                        for c in cells.iter_mut() {
                            let n = c
                                .as_ref()
                                .map(|c| i64::from_le_bytes(c.state[..8].try_into().unwrap()))
                                .unwrap_or(0);
                            *c = Some(LimitCell {
                                state: (n + 1).to_le_bytes().to_vec(),
                                spent_at_ms: T0 + 3_600_000,
                            });
                        }
                    })
                    .await
                    .unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        for store in [&first, &second] {
            let cells = store.limit_cells(&["x", "y"], T0).await.unwrap();
            for c in cells {
                let n = i64::from_le_bytes(c.unwrap().state[..8].try_into().unwrap());
                assert_eq!(n, 200, "{be:?}: every step counted once");
            }
        }
    }
}

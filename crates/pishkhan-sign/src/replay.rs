//! Replay protection for signed exchange messages.

use std::collections::{BTreeSet, HashSet};
use std::sync::Mutex;

use crate::message::MessageClaims;

/// Longest nonce the guard records, in bytes.
pub const MAX_REPLAY_NONCE_LEN: usize = 64;
/// Longest sender id the guard records, in bytes.
pub const MAX_REPLAY_SENDER_LEN: usize = 256;

/// Why the guard refused a message. [`ReplayError::code`] is stable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    #[error("nonce already seen from this sender: replayed message")]
    Replayed,
    #[error("replay guard holds {max_entries} in-window nonces; refusing new messages")]
    Full { max_entries: usize },
    #[error("message iat {iat} is outside the replay window around {now}")]
    OutsideWindow { iat: i64, now: i64 },
    #[error("sender or nonce is empty or too long")]
    InvalidInput,
}

impl ReplayError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ReplayError::Replayed => "replayed",
            ReplayError::Full { .. } => "guard_full",
            ReplayError::OutsideWindow { .. } => "outside_window",
            ReplayError::InvalidInput => "invalid_input",
        }
    }
}

/// Remembers `(sender, nonce)` pairs of messages whose `iat` is within
/// `window_secs` of now, and refuses a pair seen before.
///
/// A message is accepted only if `now - window <= iat <= now + window`; an
/// entry is forgotten once its `iat` falls before `now - window`, because
/// a replay of it would then be refused by the window anyway. When
/// `max_entries` in-window entries are held, new messages are refused
/// (fail closed) instead of forgetting nonces that could still be replayed.
/// Use a window no smaller than the `max_skew_secs` given to
/// [`crate::verify_message`].
///
/// Thread-safe: share it by reference or in an `Arc`.
#[derive(Debug)]
pub struct ReplayGuard {
    max_entries: usize,
    window_secs: i64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    seen: HashSet<(String, String)>,
    by_iat: BTreeSet<(i64, String, String)>,
}

impl ReplayGuard {
    /// A guard holding at most `max_entries` nonces, each for the
    /// `window_secs` either side of its `iat`.
    pub fn new(max_entries: usize, window_secs: u32) -> ReplayGuard {
        ReplayGuard {
            max_entries,
            window_secs: i64::from(window_secs),
            state: Mutex::new(State::default()),
        }
    }

    /// Records `(sender, nonce)` for a message signed at `iat`, or refuses
    /// it as replayed, outside the window, or because the guard is full.
    pub fn check_and_record(
        &self,
        sender: &str,
        nonce: &str,
        iat: i64,
        now: i64,
    ) -> Result<(), ReplayError> {
        if sender.is_empty()
            || nonce.is_empty()
            || sender.len() > MAX_REPLAY_SENDER_LEN
            || nonce.len() > MAX_REPLAY_NONCE_LEN
        {
            return Err(ReplayError::InvalidInput);
        }
        let oldest = now.saturating_sub(self.window_secs);
        if iat < oldest || iat > now.saturating_add(self.window_secs) {
            return Err(ReplayError::OutsideWindow { iat, now });
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(first) = state.by_iat.first() {
            if first.0 >= oldest {
                break;
            }
            if let Some((_, s, n)) = state.by_iat.pop_first() {
                state.seen.remove(&(s, n));
            }
        }
        let key = (sender.to_owned(), nonce.to_owned());
        if state.seen.contains(&key) {
            return Err(ReplayError::Replayed);
        }
        if state.seen.len() >= self.max_entries {
            return Err(ReplayError::Full {
                max_entries: self.max_entries,
            });
        }
        state.by_iat.insert((iat, key.0.clone(), key.1.clone()));
        state.seen.insert(key);
        Ok(())
    }

    /// [`ReplayGuard::check_and_record`] for verified message claims.
    pub fn check_claims(&self, claims: &MessageClaims, now: i64) -> Result<(), ReplayError> {
        self.check_and_record(&claims.sender, &claims.nonce, claims.iat, now)
    }

    /// Number of nonces currently held (including any not yet evicted).
    pub fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .seen
            .len()
    }

    /// Whether no nonce is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity given to [`ReplayGuard::new`].
    pub fn max_entries(&self) -> usize {
        self.max_entries
    }
}

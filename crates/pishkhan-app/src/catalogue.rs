//! Finding a service the way people ask for it: typed in either script, however it was
//! spelled, with the services people use most first. Citizens' booking page, the public
//! catalogue and the counter's walk-in search all rank through here.
//!
//! The catalogue (550 services) and last month's bookings per service change slowly, so one
//! ranked copy is kept per process for [`RANK_TTL`]; a search is then a scan of 550 titles in
//! memory, not a query.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pishkhan_domain::model::{Channel, Service};
use pishkhan_domain::normalize::normalize_compact;
use pishkhan_store::StatsWindow;

use crate::{App, AppError};

/// How long the ranked catalogue is reused before it is read again.
pub const RANK_TTL: Duration = Duration::from_secs(300);
/// The bookings that rank services: the last 30 days.
const RANK_WINDOW_MS: i64 = 30 * 86_400_000;
/// Results of one search, at most.
pub const MAX_RESULTS: usize = 50;
/// Longest query looked at, in characters.
const MAX_QUERY_CHARS: usize = 100;

/// One service with how often it was booked in the ranking window.
#[derive(Debug, Clone)]
pub struct RankedService {
    pub service: Service,
    pub bookings: u64,
    /// Titles and code, normalized for comparison.
    haystack: String,
}

#[derive(Default)]
pub struct CatalogueCache {
    ranked: Mutex<Option<(Instant, Arc<Vec<RankedService>>)>>,
}

/// Which services a search may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Every service, online-only ones included (the public catalogue).
    All,
    /// Services given at an office's counter (booking and walk-in tickets).
    AtCounters,
}

/// The whole catalogue, most booked first, then by code.
pub async fn ranked(state: &App) -> Result<Arc<Vec<RankedService>>, AppError> {
    let cache = &state.inner_catalogue();
    if let Some((at, list)) = cache
        .ranked
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        && at.elapsed() < RANK_TTL
    {
        return Ok(list.clone());
    }
    let services = crate::exchange::whole_catalogue(state.store()).await?;
    let now = state.now_ms();
    let window = StatsWindow {
        from_ms: now - RANK_WINDOW_MS,
        // The window's end is exclusive; a booking made this millisecond counts.
        to_ms: now + 1,
        province: None,
    };
    let counts: std::collections::HashMap<String, u64> = state
        .store()
        .bookings_by_service(&window)
        .await?
        .into_iter()
        .map(|(code, n)| (code.to_string(), n))
        .collect();
    let mut list: Vec<RankedService> = services
        .into_iter()
        .map(|s| {
            let haystack = normalize_compact(&format!(
                "{} {} {}",
                s.title.fa,
                s.title.en,
                s.code.as_str()
            ));
            RankedService {
                bookings: counts.get(s.code.as_str()).copied().unwrap_or(0),
                service: s,
                haystack,
            }
        })
        .collect();
    list.sort_by(|a, b| {
        b.bookings
            .cmp(&a.bookings)
            .then_with(|| a.service.code.as_str().cmp(b.service.code.as_str()))
    });
    let list = Arc::new(list);
    *cache.ranked.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), list.clone()));
    Ok(list)
}

/// One page of a search.
pub struct Found {
    pub items: Vec<RankedService>,
    /// Matches in all.
    pub total: usize,
}

/// Services matching `q` (every word of it, after Persian normalization), most booked first;
/// with no query, the most booked. Page `page` (from 1) of `per_page` ([`MAX_RESULTS`] at
/// most).
pub async fn find(
    state: &App,
    q: Option<&str>,
    reach: Reach,
    page: usize,
    per_page: usize,
) -> Result<Found, AppError> {
    let words: Vec<String> = q
        .unwrap_or_default()
        .chars()
        .take(MAX_QUERY_CHARS)
        .collect::<String>()
        .split_whitespace()
        .map(normalize_compact)
        .filter(|w| !w.is_empty())
        .collect();
    let per_page = per_page.clamp(1, MAX_RESULTS);
    let list = ranked(state).await?;
    let matches: Vec<&RankedService> = list
        .iter()
        .filter(|r| reach == Reach::All || r.service.channel != Channel::Online)
        .filter(|r| words.iter().all(|w| r.haystack.contains(w.as_str())))
        .collect();
    Ok(Found {
        total: matches.len(),
        items: matches
            .into_iter()
            .skip(page.saturating_sub(1) * per_page)
            .take(per_page)
            .cloned()
            .collect(),
    })
}

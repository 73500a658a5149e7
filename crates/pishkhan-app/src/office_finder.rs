//! Finding an office to go to: nearest first from a position, or by city or name, a page at a
//! time. Only offices that take bookings are found; a closed office's own page points here.

use pishkhan_domain::model::OfficeCode;
use pishkhan_domain::normalize::normalize_compact;
use pishkhan_store::OfficeLocation;

use crate::search::haversine_km;
use crate::{App, AppError};

/// Offices per page of results.
pub const PER_PAGE: usize = 25;
/// Pages a search may go to: 40 × 25 = 1,000 offices, past which a person narrows it.
pub const MAX_PAGES: u32 = 40;
/// Longest place text looked at, in characters.
const MAX_PLACE_CHARS: usize = 64;

/// Where to look: a position (both or neither of latitude and longitude, in degrees) and/or
/// a place (a city or an office's name, in either script), and the page.
#[derive(Debug, Clone, Default)]
pub struct OfficeSearch {
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub place: Option<String>,
    pub page: Option<u32>,
    /// An office left out of the results (the closed one a person came from).
    pub except: Option<OfficeCode>,
}

/// One office found, with its distance from the position when one was given.
pub struct FoundOffice {
    pub location: OfficeLocation,
    /// Kilometres, great-circle.
    pub distance_km: Option<f64>,
}

pub struct FoundOffices {
    pub offices: Vec<FoundOffice>,
    pub total: usize,
    pub page: u32,
    pub pages: u32,
}

/// The offices taking bookings that match `search`, nearest first with a position, else by
/// city and code. Neither a position nor a place lists every open office by city.
pub async fn find(state: &App, search: &OfficeSearch) -> Result<FoundOffices, AppError> {
    let here = crate::search::position(search.lat, search.lon)?;
    let page = search.page.unwrap_or(1);
    if !(1..=MAX_PAGES).contains(&page) {
        return Err(AppError::invalid(
            "invalid_page",
            "page",
            "page must be 1..=40",
        ));
    }
    let typed: Option<String> = search
        .place
        .as_deref()
        .map(|p| p.trim().chars().take(MAX_PLACE_CHARS).collect())
        .filter(|p: &String| !p.is_empty());
    let place = typed.as_deref().map(normalize_compact);
    let names = match &typed {
        // A place may be an office's name or address too; those come from the store's own
        // normalized search.
        Some(p) => office_codes_named(state, p).await?,
        None => std::collections::HashSet::new(),
    };
    let mut found: Vec<FoundOffice> = state
        .store()
        .office_locations()
        .await?
        .into_iter()
        .filter(|o| o.status.may_use_network())
        .filter(|o| Some(o.code) != search.except)
        .filter(|o| {
            place.as_ref().is_none_or(|p| {
                normalize_compact(&o.city.fa).contains(p.as_str())
                    || normalize_compact(&o.city.en).contains(p.as_str())
                    || names.contains(&o.code.get())
            })
        })
        .map(|o| FoundOffice {
            distance_km: here.map(|(a, b)| haversine_km(a, b, o.lat, o.lon)),
            location: o,
        })
        .collect();
    if here.is_some() {
        found.sort_by(|a, b| {
            a.distance_km
                .unwrap_or(0.0)
                .total_cmp(&b.distance_km.unwrap_or(0.0))
                .then(a.location.code.get().cmp(&b.location.code.get()))
        });
    } else {
        found.sort_by(|a, b| {
            a.location
                .city
                .fa
                .cmp(&b.location.city.fa)
                .then(a.location.code.get().cmp(&b.location.code.get()))
        });
    }
    let total = found.len();
    let pages = u32::try_from(total.div_ceil(PER_PAGE))
        .unwrap_or(u32::MAX)
        .clamp(1, MAX_PAGES);
    let skip = (page as usize - 1) * PER_PAGE;
    let offices = found.into_iter().skip(skip).take(PER_PAGE).collect();
    Ok(FoundOffices {
        offices,
        total,
        page,
        pages,
    })
}

/// Codes of the offices whose name or address matches `place` (up to 1,000).
async fn office_codes_named(
    state: &App,
    place: &str,
) -> Result<std::collections::HashSet<u32>, AppError> {
    let mut codes = std::collections::HashSet::new();
    for page in 1..=10 {
        let filter = pishkhan_store::OfficeFilter {
            q: Some(place.to_string()),
            ..Default::default()
        };
        let got = state
            .store()
            .offices(
                &filter,
                pishkhan_store::PageRequest::new(page, pishkhan_store::MAX_PER_PAGE)?,
            )
            .await?;
        let n = got.items.len();
        codes.extend(got.items.iter().map(|o| o.code.get()));
        if n < pishkhan_store::MAX_PER_PAGE as usize {
            break;
        }
    }
    Ok(codes)
}

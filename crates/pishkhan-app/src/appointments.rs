//! Appointments: availability, booking, cancelling and rescheduling. Rules come from
//! `pishkhan_domain::schedule`; capacity is enforced by the store.

use pishkhan_domain::JalaliDate;
use pishkhan_domain::model::{
    Channel, LocalizedText, Office, OfficeCode, Service, ServiceCode, WeeklyHours,
};
use pishkhan_domain::schedule::{
    BookingRules, ClosedReason, Slot, SlotPolicy, from_unix_ms, slots_for_day, solar_holiday,
    unix_ms,
};
use pishkhan_domain::tehran::{jalali_today, to_tehran};
use pishkhan_domain::{Mobile, NationalCode};
use pishkhan_store::{Booked, NewBooking, StateRule, StoreError};

use pishkhan_domain::access::Action;
use pishkhan_domain::schedule::TrackingCode;
use pishkhan_store::AuditContext;

use crate::{App, AppError, Caller, StaffSession};

/// Longest range one availability request may cover.
pub const MAX_AVAILABILITY_DAYS: u16 = 31;
/// Days one availability request covers when it does not say.
pub const DEFAULT_AVAILABILITY_DAYS: u16 = 7;

/// The first and last day a citizen may book on, seen from today, under the deployment's
/// rules.
pub fn booking_window(state: &App) -> (JalaliDate, JalaliDate) {
    let today = jalali_today(state.now());
    let rules = state.config().booking_rules;
    (
        today.add_days(i64::from(rules.first_day_offset)),
        today.add_days(i64::from(rules.last_day_offset)),
    )
}

/// One day of an office's calendar for one service.
pub struct DayAvailability {
    pub date: JalaliDate,
    pub closed: Option<ClosedReason>,
    pub bookable: bool,
    pub slots: Vec<SlotAvailability>,
}

pub struct SlotAvailability {
    pub slot: Slot,
    pub capacity: u32,
    pub available: u32,
}

/// Which services each counter of `office` handles (empty: every counter handles every
/// service), cached like the other reference reads.
pub async fn counters_of(
    state: &App,
    office: OfficeCode,
) -> Result<Vec<(u16, Option<Vec<ServiceCode>>)>, AppError> {
    if let Some(c) = state.refs().counters(office) {
        return Ok(c);
    }
    let c = state.store().office_counters(office).await?;
    state.refs().put_counters(office, c.clone());
    Ok(c)
}

/// A slot's capacity for `service`: the policy's formula over the bookable counters that
/// handle the service (all of them unless the office said which counter handles what). For
/// display only (from cached reads): the store computes the capacity it enforces.
pub async fn capacity_for(
    state: &App,
    office: &Office,
    policy: &SlotPolicy,
    service: &Service,
) -> Result<u32, AppError> {
    let counters = counters_of(state, office.code).await?;
    Ok(policy.capacity_at_counters(&service.code, service.avg_handling_minutes, &counters))
}

pub async fn policy_of(state: &App, office: &Office) -> Result<SlotPolicy, AppError> {
    let stored = match state.refs().policy(office.code) {
        Some(p) => p,
        None => {
            let p = state.store().slot_policy(office.code).await?;
            state.refs().put_policy(office.code, p);
            p
        }
    };
    Ok(stored.unwrap_or_else(|| SlotPolicy::default_for(office)))
}

pub(crate) async fn holidays_of(
    state: &App,
    from: JalaliDate,
    to: JalaliDate,
) -> Result<Vec<(JalaliDate, LocalizedText)>, AppError> {
    if let Some(h) = state.refs().holidays(from, to) {
        return Ok(h);
    }
    let h = state.store().holidays(from, to).await?;
    state.refs().put_holidays(from, to, h.clone());
    Ok(h)
}

pub(crate) async fn closures_of(
    state: &App,
    office: OfficeCode,
    from: JalaliDate,
    to: JalaliDate,
) -> Result<Vec<(JalaliDate, LocalizedText)>, AppError> {
    if let Some(c) = state.refs().closures(office, from, to) {
        return Ok(c);
    }
    let c = state.store().closures(office, from, to).await?;
    state.refs().put_closures(office, from, to, c.clone());
    Ok(c)
}

pub async fn office_of(state: &App, code: OfficeCode) -> Result<Office, StoreError> {
    if let Some(o) = state.refs().office(code) {
        return Ok(o);
    }
    let o = state.store().office(code).await?;
    state.refs().put_office(&o);
    Ok(o)
}

pub async fn service_of(state: &App, code: &ServiceCode) -> Result<Service, StoreError> {
    if let Some(s) = state.refs().service(code) {
        return Ok(s);
    }
    let s = state.store().service(code).await?;
    state.refs().put_service(&s);
    Ok(s)
}

/// Why `day` has no slots at `office`, if it has none.
fn closed_reason(
    office: &Office,
    day: JalaliDate,
    holidays: &[(JalaliDate, LocalizedText)],
    closures: &[(JalaliDate, LocalizedText)],
) -> Option<ClosedReason> {
    if let Some(name) = solar_holiday(day) {
        return Some(ClosedReason::Holiday(name));
    }
    if let Some((_, name)) = holidays.iter().find(|(d, _)| *d == day) {
        return Some(ClosedReason::Holiday(name.clone()));
    }
    if let Some((_, reason)) = closures.iter().find(|(d, _)| *d == day) {
        return Some(ClosedReason::Closure(reason.clone()));
    }
    if office.hours.day(day.weekday()).is_none() {
        return Some(ClosedReason::Weekday);
    }
    None
}

/// The calendar of `office` for `service`: `days` days (1 to [`MAX_AVAILABILITY_DAYS`],
/// [`DEFAULT_AVAILABILITY_DAYS`] if not given) from `from`, each slot with its capacity and
/// free seats. Only days in the booking window of the deployment's rules are bookable.
pub async fn availability(
    state: &App,
    office: &Office,
    service: &Service,
    from: JalaliDate,
    days: Option<u16>,
) -> Result<Vec<DayAvailability>, AppError> {
    let days = days.unwrap_or(DEFAULT_AVAILABILITY_DAYS);
    if !(1..=MAX_AVAILABILITY_DAYS).contains(&days) {
        return Err(AppError::invalid(
            "invalid_days",
            "days",
            format!("days must be 1..={MAX_AVAILABILITY_DAYS}"),
        ));
    }
    let to = from.add_days(i64::from(days) - 1);
    let policy = policy_of(state, office).await?;
    let holidays = holidays_of(state, from, to).await?;
    let closures = closures_of(state, office.code, from, to).await?;
    let rules = state.config().booking_rules;
    let today = jalali_today(state.now());
    let now_ms = state.now_ms();
    let capacity = capacity_for(state, office, &policy, service).await?;

    let mut calendar = Vec::new();
    for i in 0..days {
        let date = from.add_days(i64::from(i));
        let closed = closed_reason(office, date, &holidays, &closures);
        let slots = if closed.is_some() {
            Vec::new()
        } else {
            slots_for_day(office, &policy, date)
        };
        calendar.push((date, closed, slots));
    }
    let first = calendar
        .iter()
        .flat_map(|(_, _, s)| s.first())
        .next()
        .map(Slot::start_ms);
    let last = calendar
        .iter()
        .rev()
        .flat_map(|(_, _, s)| s.last())
        .next()
        .map(Slot::start_ms);
    let loads = match (first, last) {
        (Some(a), Some(b)) => state.store().slot_loads(office.code, a, b + 1).await?,
        _ => Vec::new(),
    };
    let network_ok = office.status.may_use_network();
    Ok(calendar
        .into_iter()
        .map(|(date, closed, slots)| {
            let bookable =
                network_ok && closed.is_none() && rules.check_window(today, date).is_ok();
            DayAvailability {
                date,
                bookable,
                slots: slots
                    .into_iter()
                    .map(|slot| {
                        let booked = loads
                            .iter()
                            .find(|(start, _)| *start == slot.start_ms())
                            .map_or(0, |(_, n)| *n);
                        let open = bookable && slot.start_ms() > now_ms;
                        SlotAvailability {
                            slot,
                            capacity,
                            available: if open {
                                capacity.saturating_sub(booked)
                            } else {
                                0
                            },
                        }
                    })
                    .collect(),
                closed,
            }
        })
        .collect())
}

/// What a booking request carries, already parsed.
pub struct BookingRequest {
    pub office: OfficeCode,
    pub service: ServiceCode,
    pub start: time::OffsetDateTime,
    pub national_code: NationalCode,
    pub mobile: Mobile,
    pub idempotency_key: Option<String>,
}

/// Books a seat on a citizen's behalf. Every rule is checked before the store is asked; the
/// store then takes the seat atomically or refuses.
pub async fn book(
    state: &App,
    caller: &Caller,
    req: BookingRequest,
    ctx: &pishkhan_store::AuditContext,
) -> Result<Booked, AppError> {
    let result = book_unmetered(state, caller, req, ctx).await;
    state.metrics().booked(&result);
    result
}

async fn book_unmetered(
    state: &App,
    caller: &Caller,
    req: BookingRequest,
    ctx: &pishkhan_store::AuditContext,
) -> Result<Booked, AppError> {
    let permit = caller.booking_permit(req.office, &req.national_code)?;
    let office = office_of(state, req.office).await.map_err(|e| match e {
        StoreError::NotFound { .. } => {
            AppError::invalid("unknown_office", "office", "no office has this code")
        }
        other => other.into(),
    })?;
    let service = service_of(state, &req.service).await.map_err(|e| match e {
        StoreError::NotFound { .. } => {
            AppError::invalid("unknown_service", "service", "no service has this code")
        }
        other => other.into(),
    })?;
    if service.channel == Channel::Online {
        return Err(AppError::invalid(
            "service_not_at_counter",
            "service",
            "this service is offered online only",
        ));
    }
    if !office.status.may_use_network() {
        return Err(AppError::invalid(
            "office_suspended",
            "office",
            "this office is not taking bookings",
        ));
    }
    let (slot, _) = bookable_slot(state, &office, req.start).await?;
    // The store computes the slot's capacity from its own data: nothing read through the
    // cache above decides it.
    let booking = NewBooking {
        office: office.code,
        service: service.code.clone(),
        slot_start_ms: slot.start_ms(),
        slot_end_ms: unix_ms(slot.end),
        national_code: req.national_code,
        mobile: req.mobile,
        rules: state.config().booking_rules,
        idempotency_key: req
            .idempotency_key
            .map(|k| format!("{}:{k}", permit.principal().audit_name())),
    };
    match state.store().create_booking(&permit, &booking, ctx).await {
        Ok(Booked::Replayed(b)) => {
            let same = b.office == booking.office
                && b.service == booking.service
                && b.slot_start_ms == booking.slot_start_ms
                && b.national_code == booking.national_code;
            if same {
                Ok(Booked::Replayed(b))
            } else {
                Err(AppError::invalid(
                    "idempotency_key_reused",
                    "idempotency_key",
                    "this Idempotency-Key was used for a different booking",
                ))
            }
        }
        Ok(new) => Ok(new),
        Err(StoreError::SlotFull) => Err(AppError::Conflict {
            code: "slot_full",
            message: "this slot is fully booked".into(),
        }),
        Err(StoreError::LimitReached { rule }) => Err(AppError::invalid(
            "booking_limit_reached",
            "national_code",
            rule,
        )),
        Err(e) => Err(e.into()),
    }
}

/// Checks that `start` is a bookable slot of `office` and returns it with the office's policy.
async fn bookable_slot(
    state: &App,
    office: &Office,
    start: time::OffsetDateTime,
) -> Result<(Slot, SlotPolicy), AppError> {
    let day = JalaliDate::from_gregorian(to_tehran(start).date());
    state
        .config()
        .booking_rules
        .check_window(jalali_today(state.now()), day)?;
    let holidays = holidays_of(state, day, day).await?;
    let closures = closures_of(state, office.code, day, day).await?;
    if let Some(reason) = closed_reason(office, day, &holidays, &closures) {
        return Err(AppError::invalid(
            "office_closed",
            "start",
            format!("the office is closed on {day} ({})", reason.code()),
        ));
    }
    let policy = policy_of(state, office).await?;
    let start_ms = unix_ms(start);
    let slot = slots_for_day(office, &policy, day)
        .into_iter()
        .find(|s| s.start_ms() == start_ms)
        .ok_or_else(|| {
            AppError::invalid(
                "not_a_slot",
                "start",
                "start is not the start of one of the office's slots",
            )
        })?;
    Ok((slot, policy))
}

/// Moves a booking to another slot of its office; the new seat is taken before the old one is
/// released, or nothing changes.
pub async fn reschedule(
    state: &App,
    caller: &Caller,
    code: &pishkhan_domain::schedule::TrackingCode,
    start: time::OffsetDateTime,
    ctx: &pishkhan_store::AuditContext,
) -> Result<pishkhan_store::Booking, AppError> {
    let result = reschedule_unmetered(state, caller, code, start, ctx).await;
    state.metrics().rescheduled(&result);
    result
}

async fn reschedule_unmetered(
    state: &App,
    caller: &Caller,
    code: &pishkhan_domain::schedule::TrackingCode,
    start: time::OffsetDateTime,
    ctx: &pishkhan_store::AuditContext,
) -> Result<pishkhan_store::Booking, AppError> {
    let (booking, permit) = permitted_booking(state, caller, code).await?;
    let office = state.store().office(booking.office).await?;
    let (slot, _) = bookable_slot(state, &office, start).await?;
    // The store computes the new slot's capacity for the booking's service itself.
    let to = pishkhan_store::NewSlot {
        slot_start_ms: slot.start_ms(),
        slot_end_ms: unix_ms(slot.end),
        rules: state.config().booking_rules,
    };
    match state
        .store()
        .reschedule_booking(&permit, code, &to, ctx)
        .await
    {
        Ok(b) => Ok(b),
        Err(StoreError::WrongState(w))
            if matches!(
                w.rule,
                StateRule::NotBooked | StateRule::SameSlot | StateRule::SlotTooOld
            ) =>
        {
            Err(AppError::Conflict {
                code: "not_reschedulable",
                message: w.message,
            })
        }
        Err(e) => Err(e.into()),
    }
}

pub fn instant(ms: i64) -> time::OffsetDateTime {
    from_unix_ms(ms).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// One booking, for a caller who may see it: staff of offices they may book for, the citizen
/// their own. Others learn nothing, not even that the code exists.
pub async fn booking_for(
    state: &App,
    caller: &Caller,
    code: &TrackingCode,
) -> Result<pishkhan_store::Booking, AppError> {
    Ok(permitted_booking(state, caller, code).await?.0)
}

/// The booking `code` names, with the caller's permit to act on it. A caller who may not
/// learns nothing, not even that the code exists.
async fn permitted_booking(
    state: &App,
    caller: &Caller,
    code: &TrackingCode,
) -> Result<(pishkhan_store::Booking, pishkhan_domain::access::Permit), AppError> {
    let booking = state.store().booking(code).await?;
    let permit = caller
        .booking_permit(booking.office, &booking.national_code)
        .map_err(|_| AppError::NotFound("booking"))?;
    Ok((booking, permit))
}

/// Cancels a booking; its seat is free again at once.
pub async fn cancel(
    state: &App,
    caller: &Caller,
    code: &TrackingCode,
    ctx: &AuditContext,
) -> Result<pishkhan_store::Booking, AppError> {
    let result = cancel_unmetered(state, caller, code, ctx).await;
    state.metrics().cancelled(&result);
    result
}

async fn cancel_unmetered(
    state: &App,
    caller: &Caller,
    code: &TrackingCode,
    ctx: &AuditContext,
) -> Result<pishkhan_store::Booking, AppError> {
    let (_, permit) = permitted_booking(state, caller, code).await?;
    match state.store().cancel_booking(&permit, code, ctx).await {
        Ok(b) => Ok(b),
        Err(StoreError::WrongState(w)) if w.rule == StateRule::NotBooked => {
            Err(AppError::Conflict {
                code: "not_cancellable",
                message: w.message,
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// The office's slot policy: its own, or the default until the manager changes it.
pub async fn schedule(state: &App, office: OfficeCode) -> Result<SlotPolicy, AppError> {
    let office = office_of(state, office).await?;
    policy_of(state, &office).await
}

/// Changes the office's slot length, occupancy cap and bookable counters (its manager, or
/// the regulator).
pub async fn set_schedule(
    state: &App,
    staff: &StaffSession,
    office: OfficeCode,
    policy: SlotPolicy,
    ctx: &AuditContext,
) -> Result<SlotPolicy, AppError> {
    let permit = staff.permit(Action::ConfigureSchedule { office })?;
    let found = state.store().office(office).await?;
    policy.validate(&found)?;
    state
        .store()
        .set_slot_policy(&permit, office, &policy, ctx)
        .await?;
    state.refs().forget_office(office);
    Ok(policy)
}

/// Sets the office's weekly opening hours (its manager, also while the office is suspended:
/// hours are a condition of reinstatement; or the regulator). The days' hours are checked
/// when parsed (`DayHours`: opening before closing, within the day).
pub async fn set_hours(
    state: &App,
    staff: &StaffSession,
    office: OfficeCode,
    hours: WeeklyHours,
    ctx: &AuditContext,
) -> Result<WeeklyHours, AppError> {
    let permit = staff.permit(Action::ConfigureSchedule { office })?;
    state
        .store()
        .set_office_hours(&permit, office, &hours, ctx)
        .await?;
    state.refs().forget_office(office);
    Ok(hours)
}

/// Longest name of a holiday or reason for a closure, in characters, per language.
const MAX_DAY_NAME_CHARS: usize = 200;

/// A holiday's name or a closure's reason: 1 to 200 characters in each language, trimmed.
fn day_name(name: &LocalizedText) -> Result<LocalizedText, AppError> {
    let (fa, en) = (name.fa.trim(), name.en.trim());
    let fits = |s: &str| !s.is_empty() && s.chars().count() <= MAX_DAY_NAME_CHARS;
    if !fits(fa) || !fits(en) {
        return Err(AppError::invalid(
            "invalid_name",
            "name_fa",
            "name_fa and name_en are 1..=200 characters",
        ));
    }
    Ok(LocalizedText::new(fa, en))
}

/// Enters a lunar (or extra) holiday for a Jalali day (the regulator).
pub async fn set_holiday(
    state: &App,
    staff: &StaffSession,
    day: JalaliDate,
    name: &LocalizedText,
    ctx: &AuditContext,
) -> Result<(), AppError> {
    let permit = staff.permit(Action::ManageHolidays)?;
    let name = day_name(name)?;
    state.store().set_holiday(&permit, day, &name, ctx).await?;
    state.refs().forget_holidays();
    Ok(())
}

/// Closes an office for one Jalali day (its manager, or the regulator).
pub async fn set_closure(
    state: &App,
    staff: &StaffSession,
    office: OfficeCode,
    day: JalaliDate,
    reason: &LocalizedText,
    ctx: &AuditContext,
) -> Result<(), AppError> {
    let permit = staff.permit(Action::ConfigureSchedule { office })?;
    state.store().office(office).await?;
    // A day gone by cannot be closed: its bookings were kept or missed already.
    if day < jalali_today(state.now()) {
        return Err(AppError::invalid(
            "closure_in_past",
            "date",
            "a closure is for today or a day to come",
        ));
    }
    let reason = day_name(reason)?;
    state
        .store()
        .set_closure(&permit, office, day, &reason, ctx)
        .await?;
    state.refs().forget_office(office);
    Ok(())
}

/// Opens again a day the office had closed (its manager, or the regulator); `NotFound` when
/// the day was not closed. A day gone by stays as it was.
pub async fn remove_closure(
    state: &App,
    staff: &StaffSession,
    office: OfficeCode,
    day: JalaliDate,
    ctx: &AuditContext,
) -> Result<(), AppError> {
    let permit = staff.permit(Action::ConfigureSchedule { office })?;
    if day < jalali_today(state.now()) {
        return Err(AppError::invalid(
            "closure_in_past",
            "date",
            "a closure is for today or a day to come",
        ));
    }
    state
        .store()
        .remove_closure(&permit, office, day, ctx)
        .await
        .map_err(|e| match e {
            StoreError::NotFound { .. } => AppError::NotFound("closure"),
            other => other.into(),
        })?;
    state.refs().forget_office(office);
    Ok(())
}

/// Every catalogue service's code and title, cached like the other reference reads, for
/// pickers and labels.
pub async fn catalogue(state: &App) -> Result<Vec<(ServiceCode, LocalizedText)>, AppError> {
    if let Some(c) = state.refs().catalogue() {
        return Ok(c);
    }
    let out: Vec<_> = crate::exchange::whole_catalogue(state.store())
        .await?
        .into_iter()
        .map(|s| (s.code, s.title))
        .collect();
    state.refs().put_catalogue(out.clone());
    Ok(out)
}

/// Longest booking window a deployment may open, in days.
pub const MAX_WINDOW_DAYS: u16 = 90;
/// Longest period the visit limit may look over, in days.
pub const MAX_VISIT_WINDOW_DAYS: u16 = 365;

/// Checks a deployment's booking rules before it serves with them.
pub fn check_booking_rules(rules: &BookingRules) -> Result<(), AppError> {
    let bad = |field: &'static str, message: &str| {
        Err(AppError::invalid("invalid_booking_rules", field, message))
    };
    if rules.first_day_offset > rules.last_day_offset {
        return bad(
            "first_day_offset",
            "first_day_offset must not be after last_day_offset",
        );
    }
    if rules.last_day_offset > MAX_WINDOW_DAYS {
        return bad("last_day_offset", "last_day_offset is at most 90 days");
    }
    if rules.per_service == 0 {
        return bad("per_service", "per_service is at least 1");
    }
    if rules.max_visits_in_window == 0 {
        return bad("max_visits_in_window", "max_visits_in_window is at least 1");
    }
    if !(1..=MAX_VISIT_WINDOW_DAYS).contains(&rules.visit_window_days) {
        return bad("visit_window_days", "visit_window_days is 1 to 365");
    }
    Ok(())
}

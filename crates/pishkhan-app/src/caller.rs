//! Who is asking: a signed-in member of staff or a citizen. Front ends resolve the caller
//! from their own credentials (a bearer token, a cookie) through [`crate::accounts`], then
//! pass it to every use case, which asks the one authorization function for its permit.

use pishkhan_domain::NationalCode;
use pishkhan_domain::access::{Action, Denied, Permit, Principal, StaffActor, authorize};
use pishkhan_domain::model::OfficeCode;

use crate::AppError;

/// A member of staff with a live session.
#[derive(Debug, Clone)]
pub struct StaffSession {
    pub actor: StaffActor,
    /// SHA-256 of the session's token; signing out ends exactly this session.
    pub token_hash: String,
}

impl StaffSession {
    pub fn principal(&self) -> Principal {
        Principal::Staff(self.actor.clone())
    }

    /// Asks the one authorization function for a permit.
    pub fn permit(&self, action: Action) -> Result<Permit, Denied> {
        authorize(&self.principal(), action)
    }
}

/// A citizen signed in with national code, mobile and a one-time code.
#[derive(Debug, Clone)]
pub struct Citizen {
    pub national_code: NationalCode,
    /// The mobile the one-time code went to.
    pub mobile: pishkhan_domain::Mobile,
}

/// What a session token opens: a member of staff's session, with the CSRF token their
/// browser forms must echo, or a citizen's.
#[derive(Debug, Clone)]
pub enum Session {
    Staff {
        session: StaffSession,
        csrf_token: String,
    },
    Citizen(Citizen),
}

/// Whoever may act on bookings: a member of staff, or the citizen themself.
#[derive(Debug, Clone)]
pub enum Caller {
    Staff(StaffSession),
    Citizen(Citizen),
}

impl Caller {
    /// The signed-in citizen, for lists that are only a citizen's own (`not_a_citizen`
    /// otherwise).
    pub fn into_citizen(self) -> Result<Citizen, AppError> {
        match self {
            Caller::Citizen(c) => Ok(c),
            // A member of staff is signed in, just not as a citizen: a refusal, not bad input.
            Caller::Staff(_) => Err(AppError::Forbidden(
                pishkhan_domain::access::Denied::NotACitizen,
            )),
        }
    }

    /// The permit to book, move or cancel the booking of `national_code` at `office`: staff
    /// of that office (or the regulator), or that very citizen.
    pub fn booking_permit(
        &self,
        office: OfficeCode,
        national_code: &NationalCode,
    ) -> Result<Permit, Denied> {
        match self {
            Caller::Staff(s) => s.permit(Action::BookOnBehalf { office }),
            Caller::Citizen(c) => authorize(
                &Principal::Citizen(c.national_code.clone()),
                Action::BookAsCitizen {
                    national_code: national_code.clone(),
                },
            ),
        }
    }
}

//! Authorization, decided in one place.
//!
//! A handler that wants to change state asks [`authorize`] for a [`Permit`]. The storage layer's
//! mutating methods take a `&Permit`, and a `Permit` can only be made here, so a write that
//! skipped the check does not compile.

use crate::model::{OfficeCode, OfficeStatus, Role, Username};

/// A signed-in member of staff, as the session layer resolved them.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffActor {
    pub id: i64,
    pub username: Username,
    pub role: Role,
    pub office: Option<OfficeCode>,
    /// The current status of `office`, read together with the session.
    pub office_status: Option<OfficeStatus>,
}

/// Who is acting: a member of staff, or the system itself (CLI import, demo loading).
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    Staff(StaffActor),
    /// A citizen signed in with national code, mobile and a one-time code.
    Citizen(crate::NationalCode),
    /// An operator of the machine, using the CLI. `reason` names the command.
    System {
        reason: &'static str,
    },
}

impl Principal {
    /// The name written to the audit log.
    pub fn audit_name(&self) -> String {
        match self {
            Principal::Staff(s) => s.username.to_string(),
            Principal::Citizen(nc) => format!("citizen:{}", nc.as_str()),
            Principal::System { reason } => format!("system:{reason}"),
        }
    }

    pub fn staff_id(&self) -> Option<i64> {
        match self {
            Principal::Staff(s) => Some(s.id),
            Principal::System { .. } | Principal::Citizen(_) => None,
        }
    }
}

/// Everything that needs a decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Read the national registry: provinces, offices, the catalogue.
    BrowseRegistry,
    /// Read the audit log.
    ViewAuditLog,
    /// See the staff list of one office.
    ViewOfficeStaff {
        office: OfficeCode,
    },
    CreateOffice,
    ChangeOfficeStatus {
        office: OfficeCode,
    },
    /// Invite a new member of staff into `office` (None for a regulator) with `role`.
    CreateStaff {
        office: Option<OfficeCode>,
        role: Role,
    },
    /// Disable the account of member `staff` of `office` (None for a regulator), who has
    /// `role`: their sessions end and they can no longer sign in.
    DeactivateStaff {
        staff: i64,
        office: Option<OfficeCode>,
        role: Role,
    },
    /// Change the password of the account with id `staff`, giving the current one.
    ChangeOwnPassword {
        staff: i64,
    },
    ImportServices,
    ImportOffices,
    LoadDemo,
    /// Load the fixed reference tables (provinces, agencies) where they are missing.
    SeedReferenceData,
    /// Book, reschedule or cancel an appointment at `office` on a citizen's behalf (desk and
    /// phone bookings, the national call centre).
    BookOnBehalf {
        office: OfficeCode,
    },
    /// Change the appointment settings or closures of `office`.
    ConfigureSchedule {
        office: OfficeCode,
    },
    /// Enter the year's lunar holidays.
    ManageHolidays,
    /// Book, reschedule or cancel one's own appointment, as a signed-in citizen.
    BookAsCitizen {
        national_code: crate::NationalCode,
    },
    /// Run the office's queue: check-in, walk-ins, calling, completing.
    OperateQueue {
        office: OfficeCode,
    },
    /// Read one office's daily figures (bookings, check-ins, waits…).
    ViewOfficeFigures {
        office: OfficeCode,
    },
    /// Read every office's daily figures: the compliance view.
    ViewNationalFigures,
    /// Open, close and publish surge releases.
    ManageReleases,
    /// Run an inquiry through the exchange for a case at `office`.
    RunInquiry {
        office: OfficeCode,
    },
    /// See who looked up `national_code`'s data through the exchange.
    ViewDataAccess {
        national_code: crate::NationalCode,
    },
    /// Publish a service's fee tariff (its components and effective date).
    PublishTariff,
    /// Take a citizen's payment for a case at `office`'s counter.
    TakePayment {
        office: OfficeCode,
    },
    /// Pay online, as a signed-in citizen, for one's own booked service.
    PayOnline {
        national_code: crate::NationalCode,
    },
    /// Read the payments and settlements of `office` (None: of every office and agency).
    ViewPayments {
        office: Option<OfficeCode>,
    },
    /// Refund a payment made at `office`, in full or in part.
    RefundPayment {
        office: OfficeCode,
    },
    /// Run the day's settlement and the reconciliation with the card processor.
    ManageSettlement,
    /// Record the Sheba account a payee is settled to: `office`'s own, or (None) an agency's
    /// or the treasury's.
    SetPayeeAccount {
        office: Option<OfficeCode>,
    },
    /// Read compliance findings, sanctions and reports of `office` (None: of every office).
    ViewCompliance {
        office: Option<OfficeCode>,
    },
    /// Edit and run the compliance rules, triage findings, warn, suspend and reinstate
    /// offices, and decide appeals and reinstatement requests.
    ManageCompliance,
    /// Ask for `office`'s reinstatement, or appeal its sanction (its manager, even while it
    /// is suspended: that is the point).
    RequestReinstatement {
        office: OfficeCode,
    },
    /// Report an office, as the signed-in citizen `national_code`.
    ReportOffice {
        national_code: crate::NationalCode,
    },
    /// Triage citizens' reports: accept, reject, ask for more.
    TriageReports,
    /// Answer the reports about `office` (its manager; also while suspended).
    AnswerReports {
        office: OfficeCode,
    },
}

impl Action {
    /// Stable name used in the audit log.
    pub fn audit_name(&self) -> &'static str {
        match self {
            Action::BrowseRegistry => "registry.browse",
            Action::ViewAuditLog => "audit.view",
            Action::ViewOfficeStaff { .. } => "staff.view",
            Action::CreateOffice => "office.create",
            Action::ChangeOfficeStatus { .. } => "office.status",
            Action::CreateStaff { .. } => "staff.create",
            Action::DeactivateStaff { .. } => "staff.deactivate",
            Action::ChangeOwnPassword { .. } => "staff.password",
            Action::ImportServices => "import.services",
            Action::ImportOffices => "import.offices",
            Action::LoadDemo => "demo.load",
            Action::SeedReferenceData => "reference.seed",
            Action::BookOnBehalf { .. } => "booking.staff",
            Action::ConfigureSchedule { .. } => "schedule.update",
            Action::ManageHolidays => "holiday.update",
            Action::BookAsCitizen { .. } => "booking.citizen",
            Action::OperateQueue { .. } => "queue.operate",
            Action::ViewOfficeFigures { .. } => "figures.office",
            Action::ViewNationalFigures => "figures.national",
            Action::ManageReleases => "release.manage",
            Action::RunInquiry { .. } => "inquiry.run",
            Action::ViewDataAccess { .. } => "data_access.view",
            Action::PublishTariff => "tariff.publish",
            Action::TakePayment { .. } => "payment.take",
            Action::PayOnline { .. } => "payment.online",
            Action::ViewPayments { .. } => "payment.view",
            Action::RefundPayment { .. } => "payment.refund",
            Action::ManageSettlement => "settlement.manage",
            Action::SetPayeeAccount { .. } => "payee.account",
            Action::ViewCompliance { .. } => "compliance.view",
            Action::ManageCompliance => "compliance.manage",
            Action::RequestReinstatement { .. } => "compliance.request",
            Action::ReportOffice { .. } => "report.create",
            Action::TriageReports => "report.triage",
            Action::AnswerReports { .. } => "report.answer",
        }
    }
}

/// Why an action was refused. `code` is stable and reaches API clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("this action needs another role")]
    Role,
    #[error("staff may act only within their own office")]
    OtherOffice,
    #[error("the office is suspended or revoked and may not use the network")]
    OfficeSuspended,
    #[error("the system principal may not do this")]
    NotForSystem,
    #[error("citizens may act only on their own bookings")]
    NotYours,
    #[error("staff may change only their own password")]
    OtherAccount,
    #[error(
        "too many different citizens looked up; inquiries are blocked and the regulator is told"
    )]
    InquiriesBlocked,
    #[error("this is for signed-in citizens")]
    NotACitizen,
}

impl Denied {
    pub fn code(self) -> &'static str {
        match self {
            Denied::Role => "forbidden_role",
            Denied::OtherOffice => "forbidden_other_office",
            Denied::OfficeSuspended => "office_suspended",
            Denied::NotForSystem => "forbidden",
            Denied::NotYours => "forbidden_not_yours",
            Denied::OtherAccount => "forbidden_other_account",
            Denied::InquiriesBlocked => "inquiries_blocked",
            Denied::NotACitizen => "not_a_citizen",
        }
    }
}

/// Proof that `principal` may perform `action`. Only [`authorize`] makes one.
#[derive(Debug, Clone)]
pub struct Permit {
    principal: Principal,
    action: Action,
}

impl Permit {
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    pub fn action(&self) -> &Action {
        &self.action
    }
}

/// The one place where Pishkhan decides who may do what.
pub fn authorize(principal: &Principal, action: Action) -> Result<Permit, Denied> {
    decide(principal, &action)?;
    Ok(Permit {
        principal: principal.clone(),
        action,
    })
}

fn decide(principal: &Principal, action: &Action) -> Result<(), Denied> {
    let staff = match principal {
        Principal::System { .. } => {
            // The CLI runs with the machine's authority, but only for bulk loading.
            return match action {
                Action::ImportServices
                | Action::ImportOffices
                | Action::LoadDemo
                | Action::SeedReferenceData
                // The demo's and an import's tariffs.
                | Action::PublishTariff
                | Action::BrowseRegistry
                | Action::CreateOffice
                | Action::CreateStaff { .. }
                // The demo's month of payments, and the sweeper's daily settlement.
                | Action::TakePayment { .. }
                | Action::ManageSettlement
                | Action::SetPayeeAccount { .. }
                // The daily rules run.
                | Action::ManageCompliance
                // Closing a day: overdue bookings become no-shows even when no one is at
                // the desk.
                | Action::OperateQueue { .. } => Ok(()),
                _ => Err(Denied::NotForSystem),
            };
        }
        Principal::Citizen(own) => {
            // Citizens read the registry and act on their own bookings; nothing else.
            return match action {
                Action::BrowseRegistry => Ok(()),
                Action::BookAsCitizen { national_code } if national_code == own => Ok(()),
                Action::BookAsCitizen { .. } => Err(Denied::NotYours),
                Action::ViewDataAccess { national_code } if national_code == own => Ok(()),
                Action::ViewDataAccess { .. } => Err(Denied::NotYours),
                Action::PayOnline { national_code } if national_code == own => Ok(()),
                Action::PayOnline { .. } => Err(Denied::NotYours),
                Action::ReportOffice { national_code } if national_code == own => Ok(()),
                Action::ReportOffice { .. } => Err(Denied::NotYours),
                _ => Err(Denied::Role),
            };
        }
        Principal::Staff(s) => s,
    };

    let own_office = |office: &OfficeCode| -> Result<(), Denied> {
        if staff.office.as_ref() == Some(office) {
            Ok(())
        } else {
            Err(Denied::OtherOffice)
        }
    };
    let office_live = || -> Result<(), Denied> {
        match staff.office_status {
            Some(s) if !s.may_use_network() => Err(Denied::OfficeSuspended),
            _ => Ok(()),
        }
    };

    match (staff.role, action) {
        (_, Action::BrowseRegistry) => Ok(()),
        // One's own password, and only one's own, whatever the role. Allowed for a suspended
        // office's staff too: a password that may have leaked must stay changeable.
        (_, Action::ChangeOwnPassword { staff: id }) if *id == staff.id => Ok(()),
        (_, Action::ChangeOwnPassword { .. }) => Err(Denied::OtherAccount),
        // Staff book on a citizen's behalf through `BookOnBehalf`, never as the citizen.
        (_, Action::BookAsCitizen { .. })
        | (_, Action::PayOnline { .. })
        | (_, Action::ReportOffice { .. }) => Err(Denied::Role),
        // A sanction is asked to be lifted by the office itself, never from above.
        (Role::Regulator, Action::RequestReinstatement { .. } | Action::AnswerReports { .. }) => {
            Err(Denied::Role)
        }
        // Money is taken at the counter by the office's own staff, never from above.
        (Role::Regulator, Action::TakePayment { .. }) => Err(Denied::Role),
        // An inquiry is made for a case at an office by its own staff, never from above.
        (Role::Regulator, Action::RunInquiry { .. }) => Err(Denied::Role),
        (Role::Regulator, _) => Ok(()),
        (Role::Manager | Role::Operator, Action::RunInquiry { office }) => {
            own_office(office)?;
            office_live()
        }
        (Role::Manager | Role::Operator, Action::ViewDataAccess { .. }) => Err(Denied::Role),
        (Role::Manager | Role::Operator, Action::TakePayment { office }) => {
            own_office(office)?;
            office_live()
        }
        // The office's own money stays readable when it is suspended: it is its record.
        (
            Role::Manager | Role::Operator,
            Action::ViewPayments {
                office: Some(office),
            },
        ) => own_office(office),
        (Role::Manager, Action::RefundPayment { office }) => {
            own_office(office)?;
            office_live()
        }
        (
            Role::Manager,
            Action::SetPayeeAccount {
                office: Some(office),
            },
        ) => {
            own_office(office)?;
            office_live()
        }
        // The office's own record stays readable, and answerable, while it is suspended.
        (
            Role::Manager,
            Action::ViewCompliance {
                office: Some(office),
            },
        )
        | (Role::Manager, Action::RequestReinstatement { office })
        | (Role::Manager, Action::AnswerReports { office }) => own_office(office),

        (Role::Manager, Action::ViewOfficeStaff { office }) => own_office(office),
        // Past figures stay readable to a suspended office's manager: they are its record.
        (Role::Manager, Action::ViewOfficeFigures { office }) => own_office(office),
        (Role::Manager | Role::Operator, Action::OperateQueue { office }) => {
            own_office(office)?;
            office_live()
        }
        (Role::Manager | Role::Operator, Action::BookOnBehalf { office }) => {
            own_office(office)?;
            office_live()
        }
        // A suspended office's manager sets hours, counters and slots: publishing them is
        // what reinstatement asks for. A revoked office is done.
        (Role::Manager, Action::ConfigureSchedule { office }) => {
            own_office(office)?;
            match staff.office_status {
                Some(OfficeStatus::Revoked) => Err(Denied::OfficeSuspended),
                _ => Ok(()),
            }
        }
        (Role::Manager, Action::CreateStaff { office, role })
        | (Role::Manager, Action::DeactivateStaff { office, role, .. }) => {
            let office = office.as_ref().ok_or(Denied::OtherOffice)?;
            own_office(office)?;
            if *role == Role::Regulator {
                return Err(Denied::Role);
            }
            office_live()
        }

        (
            Role::Manager | Role::Operator,
            Action::ViewAuditLog
            | Action::CreateOffice
            | Action::ChangeOfficeStatus { .. }
            | Action::ImportServices
            | Action::ImportOffices
            | Action::LoadDemo
            | Action::SeedReferenceData
            | Action::ManageHolidays
            | Action::ViewNationalFigures
            | Action::ManageReleases
            | Action::PublishTariff
            | Action::ManageSettlement
            | Action::ViewPayments { office: None }
            | Action::SetPayeeAccount { office: None }
            | Action::ViewCompliance { office: None }
            | Action::ManageCompliance
            | Action::TriageReports,
        ) => Err(Denied::Role),
        (
            Role::Operator,
            Action::ViewOfficeStaff { .. }
            | Action::ViewOfficeFigures { .. }
            | Action::CreateStaff { .. }
            | Action::DeactivateStaff { .. }
            | Action::ConfigureSchedule { .. }
            | Action::RefundPayment { .. }
            | Action::SetPayeeAccount { .. }
            | Action::ViewCompliance { .. }
            | Action::RequestReinstatement { .. }
            | Action::AnswerReports { .. },
        ) => Err(Denied::Role),
    }
}

// Authorization: every role against every action, allowed and denied, in one table.

use pishkhan_domain::access::{Action, Denied, Principal, StaffActor, authorize};
use pishkhan_domain::model::{OfficeCode, OfficeStatus, Role, Username};

fn office(n: u32) -> OfficeCode {
    OfficeCode::from_u32(n).unwrap()
}

const OWN: u32 = 11_000_001;
const OTHER: u32 = 12_000_001;

fn staff(role: Role, status: OfficeStatus) -> Principal {
    Principal::Staff(StaffActor {
        id: 1,
        username: Username::parse("someone").unwrap(),
        role,
        office: (role != Role::Regulator).then(|| office(OWN)),
        office_status: (role != Role::Regulator).then_some(status),
    })
}

#[test]
fn every_role_against_every_action() {
    use Role::{Manager, Operator, Regulator};
    let own = Some(office(OWN));
    let other = Some(office(OTHER));
    // (role, action, expected)
    let table: Vec<(Role, Action, Result<(), Denied>)> = vec![
        (Regulator, Action::BrowseRegistry, Ok(())),
        (Manager, Action::BrowseRegistry, Ok(())),
        (Operator, Action::BrowseRegistry, Ok(())),
        (Regulator, Action::ViewAuditLog, Ok(())),
        (Manager, Action::ViewAuditLog, Err(Denied::Role)),
        (Operator, Action::ViewAuditLog, Err(Denied::Role)),
        (Regulator, Action::CreateOffice, Ok(())),
        (Manager, Action::CreateOffice, Err(Denied::Role)),
        (Operator, Action::CreateOffice, Err(Denied::Role)),
        (
            Regulator,
            Action::ChangeOfficeStatus {
                office: office(OTHER),
            },
            Ok(()),
        ),
        (
            Manager,
            Action::ChangeOfficeStatus {
                office: office(OWN),
            },
            Err(Denied::Role),
        ),
        (
            Regulator,
            Action::ViewOfficeStaff {
                office: office(OTHER),
            },
            Ok(()),
        ),
        (
            Manager,
            Action::ViewOfficeStaff {
                office: office(OWN),
            },
            Ok(()),
        ),
        (
            Manager,
            Action::ViewOfficeStaff {
                office: office(OTHER),
            },
            Err(Denied::OtherOffice),
        ),
        (
            Operator,
            Action::ViewOfficeStaff {
                office: office(OWN),
            },
            Err(Denied::Role),
        ),
        (
            Regulator,
            Action::CreateStaff {
                office: other,
                role: Operator,
            },
            Ok(()),
        ),
        (
            Regulator,
            Action::CreateStaff {
                office: None,
                role: Regulator,
            },
            Ok(()),
        ),
        (
            Manager,
            Action::CreateStaff {
                office: own,
                role: Operator,
            },
            Ok(()),
        ),
        (
            Manager,
            Action::CreateStaff {
                office: own,
                role: Manager,
            },
            Ok(()),
        ),
        (
            Manager,
            Action::CreateStaff {
                office: own,
                role: Regulator,
            },
            Err(Denied::Role),
        ),
        (
            Manager,
            Action::CreateStaff {
                office: other,
                role: Operator,
            },
            Err(Denied::OtherOffice),
        ),
        (
            Manager,
            Action::CreateStaff {
                office: None,
                role: Operator,
            },
            Err(Denied::OtherOffice),
        ),
        (
            Operator,
            Action::CreateStaff {
                office: own,
                role: Operator,
            },
            Err(Denied::Role),
        ),
        (
            Manager,
            Action::ViewOfficeFigures {
                office: office(OWN),
            },
            Ok(()),
        ),
        (
            Manager,
            Action::ViewOfficeFigures {
                office: office(OTHER),
            },
            Err(Denied::OtherOffice),
        ),
        (
            Operator,
            Action::ViewOfficeFigures {
                office: office(OWN),
            },
            Err(Denied::Role),
        ),
        (
            Regulator,
            Action::ViewOfficeFigures {
                office: office(OTHER),
            },
            Ok(()),
        ),
        (Regulator, Action::ViewNationalFigures, Ok(())),
        (Manager, Action::ViewNationalFigures, Err(Denied::Role)),
        (Operator, Action::ViewNationalFigures, Err(Denied::Role)),
        (Regulator, Action::ManageReleases, Ok(())),
        (Manager, Action::ManageReleases, Err(Denied::Role)),
        (Operator, Action::ManageReleases, Err(Denied::Role)),
        (
            Operator,
            Action::RunInquiry {
                office: office(OWN),
            },
            Ok(()),
        ),
        (
            Manager,
            Action::RunInquiry {
                office: office(OTHER),
            },
            Err(Denied::OtherOffice),
        ),
        (
            Regulator,
            Action::RunInquiry {
                office: office(OWN),
            },
            Err(Denied::Role),
        ),
        (Regulator, Action::ImportServices, Ok(())),
        (Manager, Action::ImportServices, Err(Denied::Role)),
        (Operator, Action::ImportOffices, Err(Denied::Role)),
        (Manager, Action::LoadDemo, Err(Denied::Role)),
        (Operator, Action::SeedReferenceData, Err(Denied::Role)),
        (
            Operator,
            Action::OperateQueue {
                office: office(OWN),
            },
            Ok(()),
        ),
        (
            Operator,
            Action::OperateQueue {
                office: office(OTHER),
            },
            Err(Denied::OtherOffice),
        ),
        (
            Manager,
            Action::OperateQueue {
                office: office(OWN),
            },
            Ok(()),
        ),
        (
            Regulator,
            Action::OperateQueue {
                office: office(OTHER),
            },
            Ok(()),
        ),
        (
            Operator,
            Action::BookOnBehalf {
                office: office(OWN),
            },
            Ok(()),
        ),
        (
            Operator,
            Action::BookOnBehalf {
                office: office(OTHER),
            },
            Err(Denied::OtherOffice),
        ),
        (
            Manager,
            Action::ConfigureSchedule {
                office: office(OWN),
            },
            Ok(()),
        ),
        (
            Operator,
            Action::ConfigureSchedule {
                office: office(OWN),
            },
            Err(Denied::Role),
        ),
        (Manager, Action::ManageHolidays, Err(Denied::Role)),
        (Regulator, Action::ManageHolidays, Ok(())),
    ];
    for (role, action, expected) in table {
        let got = authorize(&staff(role, OfficeStatus::Active), action.clone()).map(|_| ());
        assert_eq!(got, expected, "{role:?} {action:?}");
    }
}

#[test]
fn a_permit_records_who_and_what() {
    let principal = staff(Role::Manager, OfficeStatus::Active);
    let action = Action::CreateStaff {
        office: Some(office(OWN)),
        role: Role::Operator,
    };
    let permit = authorize(&principal, action.clone()).unwrap();
    assert_eq!(permit.principal(), &principal);
    assert_eq!(permit.action(), &action);
    assert_eq!(permit.principal().audit_name(), "someone");
    assert_eq!(permit.action().audit_name(), "staff.create");
}

#[test]
fn suspended_and_revoked_offices_may_not_change_anything() {
    for status in [OfficeStatus::Suspended, OfficeStatus::Revoked] {
        let manager = staff(Role::Manager, status);
        let got = authorize(
            &manager,
            Action::CreateStaff {
                office: Some(office(OWN)),
                role: Role::Operator,
            },
        )
        .map(|_| ());
        assert_eq!(got, Err(Denied::OfficeSuspended), "{status:?}");
        assert_eq!(Denied::OfficeSuspended.code(), "office_suspended");
        // Reading the registry stays possible.
        assert!(authorize(&manager, Action::BrowseRegistry).is_ok());
    }
    // A warned office still works.
    let warned = staff(Role::Manager, OfficeStatus::Warned);
    assert!(
        authorize(
            &warned,
            Action::CreateStaff {
                office: Some(office(OWN)),
                role: Role::Operator
            }
        )
        .is_ok()
    );
}

#[test]
fn the_system_principal_only_loads_imports_and_closes_days() {
    let system = Principal::System { reason: "cli" };
    assert_eq!(system.audit_name(), "system:cli");
    for action in [
        Action::ImportOffices,
        Action::ImportServices,
        Action::LoadDemo,
        Action::SeedReferenceData,
        Action::CreateOffice,
        Action::OperateQueue {
            office: office(OWN),
        },
    ] {
        assert!(authorize(&system, action.clone()).is_ok(), "{action:?}");
    }
    for action in [
        Action::ViewAuditLog,
        Action::ViewOfficeStaff {
            office: office(OWN),
        },
        Action::ViewNationalFigures,
        Action::ManageReleases,
        Action::BookOnBehalf {
            office: office(OWN),
        },
    ] {
        assert_eq!(
            authorize(&system, action.clone()).map(|_| ()),
            Err(Denied::NotForSystem),
            "{action:?}"
        );
    }
}

#[test]
fn denial_codes_are_stable() {
    let table = [
        (Denied::Role, "forbidden_role"),
        (Denied::OtherOffice, "forbidden_other_office"),
        (Denied::OfficeSuspended, "office_suspended"),
        (Denied::NotForSystem, "forbidden"),
    ];
    for (d, code) in table {
        assert_eq!(d.code(), code);
    }
}

#[test]
fn citizens_act_only_on_their_own_bookings() {
    use pishkhan_domain::NationalCode;
    let me = NationalCode::parse("0499370899").unwrap();
    let other = NationalCode::parse("0790419904").unwrap();
    let citizen = Principal::Citizen(me.clone());
    assert_eq!(citizen.audit_name(), "citizen:0499370899");
    assert_eq!(citizen.staff_id(), None);
    let table: Vec<(Action, Result<(), Denied>)> = vec![
        (
            Action::BookAsCitizen {
                national_code: me.clone(),
            },
            Ok(()),
        ),
        (
            Action::BookAsCitizen {
                national_code: other.clone(),
            },
            Err(Denied::NotYours),
        ),
        (Action::BrowseRegistry, Ok(())),
        (
            Action::BookOnBehalf {
                office: office(OWN),
            },
            Err(Denied::Role),
        ),
        (Action::CreateOffice, Err(Denied::Role)),
        (Action::ViewAuditLog, Err(Denied::Role)),
    ];
    for (action, expected) in table {
        assert_eq!(
            authorize(&citizen, action.clone()).map(|_| ()),
            expected,
            "{action:?}"
        );
    }
    // Staff book on a citizen's behalf through BookOnBehalf, never as the citizen.
    for role in [Role::Regulator, Role::Manager, Role::Operator] {
        let got = authorize(
            &staff(role, OfficeStatus::Active),
            Action::BookAsCitizen {
                national_code: me.clone(),
            },
        );
        assert_eq!(got.map(|_| ()), Err(Denied::Role), "{role:?}");
    }
    assert_eq!(Denied::NotYours.code(), "forbidden_not_yours");
}

#[test]
fn staff_change_only_their_own_password_even_when_suspended() {
    for status in [OfficeStatus::Active, OfficeStatus::Suspended] {
        for role in [Role::Regulator, Role::Manager, Role::Operator] {
            let me = staff(role, status);
            assert!(authorize(&me, Action::ChangeOwnPassword { staff: 1 }).is_ok());
            assert_eq!(
                authorize(&me, Action::ChangeOwnPassword { staff: 2 }).map(|_| ()),
                Err(Denied::OtherAccount),
                "{role:?}"
            );
        }
    }
    assert_eq!(Denied::OtherAccount.code(), "forbidden_other_account");
    let system = Principal::System { reason: "cli" };
    assert!(authorize(&system, Action::ChangeOwnPassword { staff: 1 }).is_err());
}

#[test]
fn managers_deactivate_their_own_offices_staff_and_the_regulator_anyone() {
    use Role::{Manager, Operator, Regulator};
    let deactivate = |office: u32, role: Role| Action::DeactivateStaff {
        staff: 7,
        office: (role != Regulator).then(|| self::office(office)),
        role,
    };
    let table: Vec<(Role, OfficeStatus, Action, Result<(), Denied>)> = vec![
        (
            Regulator,
            OfficeStatus::Active,
            deactivate(OTHER, Manager),
            Ok(()),
        ),
        (
            Regulator,
            OfficeStatus::Active,
            deactivate(0, Regulator),
            Ok(()),
        ),
        (
            Manager,
            OfficeStatus::Active,
            deactivate(OWN, Operator),
            Ok(()),
        ),
        (
            Manager,
            OfficeStatus::Active,
            deactivate(OWN, Manager),
            Ok(()),
        ),
        (
            Manager,
            OfficeStatus::Active,
            deactivate(OTHER, Operator),
            Err(Denied::OtherOffice),
        ),
        (
            Manager,
            OfficeStatus::Active,
            deactivate(0, Regulator),
            Err(Denied::OtherOffice),
        ),
        (
            Manager,
            OfficeStatus::Suspended,
            deactivate(OWN, Operator),
            Err(Denied::OfficeSuspended),
        ),
        (
            Operator,
            OfficeStatus::Active,
            deactivate(OWN, Operator),
            Err(Denied::Role),
        ),
    ];
    for (role, status, action, expected) in table {
        let got = authorize(&staff(role, status), action.clone()).map(|_| ());
        assert_eq!(got, expected, "{role:?} {status:?} {action:?}");
    }
    let permit = authorize(
        &staff(Manager, OfficeStatus::Active),
        deactivate(OWN, Operator),
    )
    .unwrap();
    assert_eq!(permit.action().audit_name(), "staff.deactivate");
}

#[test]
fn money_and_compliance_follow_the_office_and_survive_a_suspension_where_they_must() {
    let own = office(OWN);
    let other = office(OTHER);
    let suspended = staff(Role::Manager, OfficeStatus::Suspended);
    let operator = staff(Role::Operator, OfficeStatus::Active);
    let regulator = staff(Role::Regulator, OfficeStatus::Active);
    let ok = |p: &Principal, a: Action| authorize(p, a).map(|_| ());
    // A suspended office takes no money, but reads its own and asks to be reinstated.
    assert_eq!(
        ok(&suspended, Action::TakePayment { office: own }),
        Err(Denied::OfficeSuspended)
    );
    assert_eq!(
        ok(&suspended, Action::ViewPayments { office: Some(own) }),
        Ok(())
    );
    assert_eq!(
        ok(&suspended, Action::RequestReinstatement { office: own }),
        Ok(())
    );
    assert_eq!(
        ok(&suspended, Action::AnswerReports { office: own }),
        Ok(())
    );
    assert_eq!(
        ok(&suspended, Action::RequestReinstatement { office: other }),
        Err(Denied::OtherOffice)
    );
    // Operators take payments at their own counter and nothing of the supervision.
    assert_eq!(ok(&operator, Action::TakePayment { office: own }), Ok(()));
    assert_eq!(
        ok(&operator, Action::TakePayment { office: other }),
        Err(Denied::OtherOffice)
    );
    assert_eq!(
        ok(&operator, Action::RefundPayment { office: own }),
        Err(Denied::Role)
    );
    assert_eq!(ok(&operator, Action::ManageCompliance), Err(Denied::Role));
    // The regulator supervises and settles, but takes no money and asks no reinstatement.
    assert_eq!(ok(&regulator, Action::ManageCompliance), Ok(()));
    assert_eq!(ok(&regulator, Action::ManageSettlement), Ok(()));
    assert_eq!(
        ok(&regulator, Action::TakePayment { office: own }),
        Err(Denied::Role)
    );
    assert_eq!(
        ok(&regulator, Action::RequestReinstatement { office: own }),
        Err(Denied::Role)
    );
    // Citizens report and pay only as themselves.
    let me = pishkhan_domain::NationalCode::parse("0012345679").unwrap();
    let someone = pishkhan_domain::NationalCode::parse("0084575948").unwrap();
    let citizen = Principal::Citizen(me.clone());
    assert_eq!(
        ok(
            &citizen,
            Action::ReportOffice {
                national_code: me.clone()
            }
        ),
        Ok(())
    );
    assert_eq!(
        ok(
            &citizen,
            Action::ReportOffice {
                national_code: someone.clone()
            }
        ),
        Err(Denied::NotYours)
    );
    assert_eq!(
        ok(&citizen, Action::PayOnline { national_code: me }),
        Ok(())
    );
    assert_eq!(
        ok(
            &citizen,
            Action::PayOnline {
                national_code: someone
            }
        ),
        Err(Denied::NotYours)
    );
    assert_eq!(ok(&citizen, Action::TriageReports), Err(Denied::Role));
}

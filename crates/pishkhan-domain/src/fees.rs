//! Fee tariffs: what a service costs on a given day, as components each owed to a payee.
//!
//! A tariff belongs to a Jalali fiscal year (which begins on 1 Farvardin) and takes effect on a
//! date within it; later tariffs never replace earlier ones, so the fee of any past day can be
//! quoted again. The fee on a date is the tariff with the latest effective date on or before it.

use crate::jalali::JalaliDate;
use crate::model::{FieldError, LocalizedText, ServiceCode};
use crate::money::Rials;

/// Most components one tariff may have.
pub const MAX_COMPONENTS: usize = 8;

/// What a component pays for. The code is stable: it reaches API clients and the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FeeKind {
    /// The government's fee, owed to the agency whose service it is.
    GovernmentFee,
    /// The counter's fee, owed to the office that serves the citizen.
    CounterFee,
    /// Value-added tax on the counter's fee, owed to the treasury.
    Vat,
}

impl FeeKind {
    pub const ALL: [FeeKind; 3] = [FeeKind::GovernmentFee, FeeKind::CounterFee, FeeKind::Vat];

    pub fn code(self) -> &'static str {
        match self {
            FeeKind::GovernmentFee => "government_fee",
            FeeKind::CounterFee => "counter_fee",
            FeeKind::Vat => "vat",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|k| k.code() == s)
            .ok_or_else(|| {
                FieldError::new(
                    "kind",
                    "unknown_fee_kind",
                    "a fee component is government_fee, counter_fee or vat",
                )
            })
    }

    /// Who is owed this kind of component.
    pub fn payee(self) -> Payee {
        match self {
            FeeKind::GovernmentFee => Payee::Agency,
            FeeKind::CounterFee => Payee::Office,
            FeeKind::Vat => Payee::Treasury,
        }
    }

    pub fn title(self) -> LocalizedText {
        let (fa, en) = match self {
            FeeKind::GovernmentFee => ("هزینه دولتی", "Government fee"),
            FeeKind::CounterFee => ("کارمزد دفتر", "Counter fee"),
            FeeKind::Vat => ("مالیات بر ارزش افزوده", "VAT"),
        };
        LocalizedText {
            fa: fa.into(),
            en: en.into(),
        }
    }
}

/// Who a component's money goes to: the service's agency, the serving office or the treasury.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Payee {
    Agency,
    Office,
    Treasury,
}

impl Payee {
    pub fn code(self) -> &'static str {
        match self {
            Payee::Agency => "agency",
            Payee::Office => "office",
            Payee::Treasury => "treasury",
        }
    }
}

/// One part of a fee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeComponent {
    pub kind: FeeKind,
    pub amount: Rials,
}

/// A service's fee from `effective_from` until the next tariff takes effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tariff {
    pub service: ServiceCode,
    pub effective_from: JalaliDate,
    /// In [`FeeKind`] order, one per kind at most.
    pub components: Vec<FeeComponent>,
    /// Why it was set (for example "indexation run 1405, rule cpi-12m"), for the record.
    pub basis: String,
    pub published_by: String,
    pub published_at_ms: i64,
}

impl Tariff {
    /// The Jalali fiscal year the tariff belongs to.
    pub fn fiscal_year(&self) -> i32 {
        self.effective_from.year()
    }

    /// The whole fee; bounded because every component and the sum are checked at publishing.
    pub fn total(&self) -> Rials {
        self.components
            .iter()
            .try_fold(Rials::ZERO, |sum, c| sum.checked_add(c.amount))
            .unwrap_or(Rials::ZERO)
    }
}

/// Longest basis text a tariff may carry.
pub const MAX_BASIS_CHARS: usize = 500;

/// A tariff to publish, checked: one component per kind at most, at least one, a bounded sum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTariff {
    pub service: ServiceCode,
    pub effective_from: JalaliDate,
    pub components: Vec<FeeComponent>,
    pub basis: String,
}

impl NewTariff {
    pub fn new(
        service: ServiceCode,
        effective_from: JalaliDate,
        mut components: Vec<FeeComponent>,
        basis: &str,
    ) -> Result<Self, FieldError> {
        if components.is_empty() || components.len() > MAX_COMPONENTS {
            return Err(FieldError::new(
                "components",
                "bad_components",
                format!("a tariff has 1 to {MAX_COMPONENTS} components"),
            ));
        }
        components.sort_by_key(|c| c.kind);
        if components.windows(2).any(|w| w[0].kind == w[1].kind) {
            return Err(FieldError::new(
                "components",
                "duplicate_fee_kind",
                "each kind of fee component may appear once",
            ));
        }
        components
            .iter()
            .try_fold(Rials::ZERO, |sum, c| sum.checked_add(c.amount))?;
        let basis = basis.trim();
        if basis.is_empty() || basis.chars().count() > MAX_BASIS_CHARS {
            return Err(FieldError::new(
                "basis",
                "bad_basis",
                format!("say why the tariff is set, in 1 to {MAX_BASIS_CHARS} characters"),
            ));
        }
        Ok(Self {
            service,
            effective_from,
            components,
            basis: basis.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(kind: FeeKind, amount: i64) -> FeeComponent {
        FeeComponent {
            kind,
            amount: Rials::new(amount).unwrap(),
        }
    }

    #[test]
    fn a_tariff_takes_each_kind_once_and_sorts_them() {
        let service = ServiceCode::parse("NID-001").unwrap();
        let day = JalaliDate::new(1405, 1, 1).unwrap();
        let t = NewTariff::new(
            service.clone(),
            day,
            vec![
                component(FeeKind::Vat, 10),
                component(FeeKind::GovernmentFee, 1_000),
            ],
            "test",
        )
        .unwrap();
        assert_eq!(t.components[0].kind, FeeKind::GovernmentFee);
        let twice = NewTariff::new(
            service.clone(),
            day,
            vec![component(FeeKind::Vat, 1), component(FeeKind::Vat, 2)],
            "test",
        );
        assert_eq!(twice.unwrap_err().code, "duplicate_fee_kind");
        assert_eq!(
            NewTariff::new(service, day, vec![], "x").unwrap_err().code,
            "bad_components"
        );
    }
}

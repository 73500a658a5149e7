//! Indexing fees to inflation: the regulator's monthly CPI series, the factor a named rule
//! draws from it, and the proposal of next year's tariffs that factor gives.
//!
//! Everything is integer arithmetic so a run is reproducible to the byte: indices are kept in
//! thousandths, factors in thousandths (three decimals, as the Australian CPI rules state
//! them), and each component is rounded by a named rule.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::fees::{FeeComponent, FeeKind, Tariff};
use crate::model::FieldError;
use crate::money::Rials;

/// Most rows one CPI import may hold: a century of months.
pub const MAX_CPI_ROWS: usize = 1_200;
/// Most line errors one refused import reports.
pub const MAX_LINE_ERRORS: usize = 50;
/// The largest index value accepted, in thousandths (a billion).
const MAX_INDEX_MILLI: i64 = 1_000_000_000_000;

/// One month of the consumer price index, in thousandths of an index point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CpiPoint {
    pub year: i32,
    pub month: u8,
    pub index_milli: i64,
}

/// Why a line of a CPI file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based, counting the header.
    pub line: usize,
    pub code: &'static str,
    pub message: String,
}

/// Parses "123.456" (at most three decimals, positive) into thousandths.
fn parse_index(s: &str) -> Option<i64> {
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if whole.is_empty()
        || frac.len() > 3
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || whole.len() > 12
    {
        return None;
    }
    let mut milli: i64 = whole.parse().ok()?;
    milli = milli.checked_mul(1_000)?;
    let mut f = frac.to_string();
    while f.len() < 3 {
        f.push('0');
    }
    milli = milli.checked_add(f.parse::<i64>().ok()?)?;
    (milli > 0 && milli <= MAX_INDEX_MILLI).then_some(milli)
}

/// Parses a CPI file: a header `year,month,index` and one row per Jalali month (digits may be
/// Persian). All rows or none: every bad line is reported with its number.
pub fn parse_cpi_csv(text: &str) -> Result<Vec<CpiPoint>, Vec<LineError>> {
    let mut errors = Vec::new();
    let mut points: BTreeMap<(i32, u8), (usize, i64)> = BTreeMap::new();
    let mut lines = text.lines().enumerate();
    let header_ok = lines.next().is_some_and(|(_, h)| {
        let cols: Vec<String> = h
            .trim_start_matches('\u{feff}')
            .split(',')
            .map(|c| c.trim().to_ascii_lowercase())
            .collect();
        cols == ["year", "month", "index"]
    });
    if !header_ok {
        return Err(vec![LineError {
            line: 1,
            code: "bad_header",
            message: "the first line must be: year,month,index".into(),
        }]);
    }
    let mut rows = 0usize;
    for (i, raw) in lines {
        let line = i + 1;
        let raw = crate::digits::to_ascii_digits(raw.trim());
        if raw.is_empty() {
            continue;
        }
        rows += 1;
        if rows > MAX_CPI_ROWS {
            errors.push(LineError {
                line,
                code: "too_many_rows",
                message: format!("at most {MAX_CPI_ROWS} months in one file"),
            });
            break;
        }
        let mut push = |code: &'static str, message: String| {
            errors.push(LineError {
                line,
                code,
                message,
            })
        };
        let cols: Vec<&str> = raw.split(',').map(str::trim).collect();
        let [year, month, index] = cols.as_slice() else {
            push(
                "bad_columns",
                format!("expected 3 columns, found {}", cols.len()),
            );
            continue;
        };
        let Some(year) = year
            .parse::<i32>()
            .ok()
            .filter(|y| (1300..=1600).contains(y))
        else {
            push(
                "bad_year",
                format!("year must be a Jalali year such as 1404, not {year:?}"),
            );
            continue;
        };
        let Some(month) = month.parse::<u8>().ok().filter(|m| (1..=12).contains(m)) else {
            push("bad_month", format!("month must be 1 to 12, not {month:?}"));
            continue;
        };
        let Some(index) = parse_index(index) else {
            push(
                "bad_index",
                format!("index must be a positive number with at most 3 decimals, not {index:?}"),
            );
            continue;
        };
        if let Some((first, _)) = points.insert((year, month), (line, index)) {
            push(
                "duplicate_month",
                format!("{year}-{month:02} is already given on line {first}"),
            );
        }
    }
    if rows == 0 && errors.is_empty() {
        errors.push(LineError {
            line: 2,
            code: "no_rows",
            message: "the file holds no months".into(),
        });
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        errors.truncate(MAX_LINE_ERRORS);
        return Err(errors);
    }
    Ok(points
        .into_iter()
        .map(|((year, month), (_, index_milli))| CpiPoint {
            year,
            month,
            index_milli,
        })
        .collect())
}

/// How a run turns the series into a factor for fiscal year `Y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorRule {
    /// Esfand of `Y-1` over Esfand of `Y-2`.
    PointToPoint,
    /// The mean of the twelve months of `Y-1` over the mean of the twelve of `Y-2`.
    TwelveMonthAverage,
}

impl FactorRule {
    pub fn code(self) -> &'static str {
        match self {
            FactorRule::PointToPoint => "point_to_point",
            FactorRule::TwelveMonthAverage => "twelve_month_average",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s {
            "point_to_point" => Ok(FactorRule::PointToPoint),
            "twelve_month_average" => Ok(FactorRule::TwelveMonthAverage),
            _ => Err(FieldError::new(
                "rule",
                "unknown_rule",
                "the rule is point_to_point or twelve_month_average",
            )),
        }
    }
}

/// How a component's indexed amount is rounded, to a step of rials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    Up(i64),
    Nearest(i64),
    Down(i64),
}

/// Steps a rounding rule may use.
const ROUNDING_STEPS: [i64; 5] = [1, 10, 100, 1_000, 10_000];

impl Rounding {
    /// "up_1000", "nearest_100", "down_10"…
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let bad = || {
            FieldError::new(
                "rounding",
                "unknown_rounding",
                "rounding is up_, nearest_ or down_ followed by 1, 10, 100, 1000 or 10000",
            )
        };
        let (how, step) = s.split_once('_').ok_or_else(bad)?;
        let step: i64 = step.parse().map_err(|_| bad())?;
        if !ROUNDING_STEPS.contains(&step) {
            return Err(bad());
        }
        match how {
            "up" => Ok(Rounding::Up(step)),
            "nearest" => Ok(Rounding::Nearest(step)),
            "down" => Ok(Rounding::Down(step)),
            _ => Err(bad()),
        }
    }

    pub fn code(self) -> String {
        match self {
            Rounding::Up(s) => format!("up_{s}"),
            Rounding::Nearest(s) => format!("nearest_{s}"),
            Rounding::Down(s) => format!("down_{s}"),
        }
    }

    fn apply(self, n: i64) -> i64 {
        match self {
            Rounding::Up(s) => (n + s - 1) / s * s,
            Rounding::Nearest(s) => (n + s / 2) / s * s,
            Rounding::Down(s) => n / s * s,
        }
    }
}

/// What a run is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSpec {
    pub fiscal_year: i32,
    pub rule: FactorRule,
    /// Thousandths; at least 1000 (fees never fall).
    pub floor_milli: i64,
    /// Thousandths; at least the floor.
    pub cap_milli: i64,
    /// Per kind; kinds not named round up to 1,000 rials.
    pub rounding: BTreeMap<FeeKind, Rounding>,
}

impl RunSpec {
    pub fn new(
        fiscal_year: i32,
        rule: FactorRule,
        floor_milli: i64,
        cap_milli: i64,
        rounding: BTreeMap<FeeKind, Rounding>,
    ) -> Result<Self, FieldError> {
        if !(1_000..=10_000).contains(&floor_milli) {
            return Err(FieldError::new(
                "floor",
                "bad_floor",
                "the floor is 1.000 to 10.000: fees never fall",
            ));
        }
        if !(floor_milli..=10_000).contains(&cap_milli) {
            return Err(FieldError::new(
                "cap",
                "bad_cap",
                "the cap is between the floor and 10.000",
            ));
        }
        Ok(Self {
            fiscal_year,
            rule,
            floor_milli,
            cap_milli,
            rounding,
        })
    }

    fn rounding_of(&self, kind: FeeKind) -> Rounding {
        self.rounding
            .get(&kind)
            .copied()
            .unwrap_or(Rounding::Up(1_000))
    }
}

/// The factor's derivation, shown with the proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Factor {
    /// The two index values compared (averages for the 12-month rule), in thousandths.
    pub from_milli: i64,
    pub to_milli: i64,
    /// `to / from` to three decimals, rounded half up.
    pub raw_milli: i64,
    /// After the floor and the cap.
    pub applied_milli: i64,
}

/// The factor `spec` draws from `series`; refused when a month it needs is missing.
pub fn factor(series: &[CpiPoint], spec: &RunSpec) -> Result<Factor, FieldError> {
    let by_month: BTreeMap<(i32, u8), i64> = series
        .iter()
        .map(|p| ((p.year, p.month), p.index_milli))
        .collect();
    let get = |y: i32, m: u8| {
        by_month.get(&(y, m)).copied().ok_or_else(|| {
            FieldError::new(
                "series",
                "series_incomplete",
                format!("the series has no index for {y}-{m:02}"),
            )
        })
    };
    let (y1, y2) = (spec.fiscal_year - 1, spec.fiscal_year - 2);
    let (from, to) = match spec.rule {
        FactorRule::PointToPoint => (get(y2, 12)?, get(y1, 12)?),
        FactorRule::TwelveMonthAverage => {
            let mut sums = (0i64, 0i64);
            for m in 1..=12 {
                sums.0 += get(y2, m)?;
                sums.1 += get(y1, m)?;
            }
            // Sums of twelve: the ratio of sums is the ratio of means.
            (sums.0, sums.1)
        }
    };
    // to/from in thousandths, half up: (2·1000·to + from) / (2·from).
    let raw = (2 * 1_000 * i128::from(to) + i128::from(from)) / (2 * i128::from(from));
    let raw = i64::try_from(raw).unwrap_or(i64::MAX);
    let (from_milli, to_milli) = match spec.rule {
        FactorRule::PointToPoint => (from, to),
        FactorRule::TwelveMonthAverage => ((from + 6) / 12, (to + 6) / 12),
    };
    Ok(Factor {
        from_milli,
        to_milli,
        raw_milli: raw,
        applied_milli: raw.clamp(spec.floor_milli, spec.cap_milli),
    })
}

/// One component of one service in a proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalRow {
    pub service: crate::model::ServiceCode,
    pub kind: FeeKind,
    pub old: Rials,
    pub proposed: Rials,
}

impl ProposalRow {
    /// The change in hundredths of a per cent (basis points), for the diff.
    pub fn change_bp(&self) -> i64 {
        if self.old.get() == 0 {
            return 0;
        }
        (self.proposed.get() - self.old.get()) * 10_000 / self.old.get()
    }
}

/// Next year's amounts from this year's tariffs: every component indexed by `factor` and
/// rounded by its kind's rule. Sorted by service and kind.
pub fn propose(
    current: &[Tariff],
    factor: &Factor,
    spec: &RunSpec,
) -> Result<Vec<ProposalRow>, FieldError> {
    let mut rows = Vec::new();
    for t in current {
        for FeeComponent { kind, amount } in &t.components {
            let indexed = i128::from(amount.get()) * i128::from(factor.applied_milli) / 1_000;
            let indexed = i64::try_from(indexed).unwrap_or(i64::MAX);
            let proposed = spec.rounding_of(*kind).apply(indexed).max(amount.get());
            rows.push(ProposalRow {
                service: t.service.clone(),
                kind: *kind,
                old: *amount,
                proposed: Rials::new(proposed)?,
            });
        }
    }
    rows.sort_by(|a, b| (a.service.as_str(), a.kind).cmp(&(b.service.as_str(), b.kind)));
    Ok(rows)
}

/// The proposal in a canonical text form (one line per row after a header of the inputs):
/// what "the same inputs give the same proposal, byte for byte" is checked against.
pub fn canonical(spec: &RunSpec, factor: &Factor, rows: &[ProposalRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "year={} rule={} floor={} cap={} factor={}/{} raw={} applied={}",
        spec.fiscal_year,
        spec.rule.code(),
        spec.floor_milli,
        spec.cap_milli,
        factor.to_milli,
        factor.from_milli,
        factor.raw_milli,
        factor.applied_milli
    );
    for k in FeeKind::ALL {
        let _ = writeln!(out, "rounding {}={}", k.code(), spec.rounding_of(k).code());
    }
    for r in rows {
        let _ = writeln!(
            out,
            "{},{},{},{}",
            r.service.as_str(),
            r.kind.code(),
            r.old.get(),
            r.proposed.get()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cpi_file_is_taken_whole_or_refused_with_line_numbers() {
        let ok = parse_cpi_csv("year,month,index\n1403,12,100\n۱۴۰۴,۱۲,۱۳۵.۵\n").unwrap();
        assert_eq!(ok[1].index_milli, 135_500);
        let bad = parse_cpi_csv(
            "year,month,index\n1403,13,100\n1404,1,-5\n1404,2,1.2345\n1404,3\n1404,4,7\n1404,4,8\n",
        )
        .unwrap_err();
        let got: Vec<(usize, &str)> = bad.iter().map(|e| (e.line, e.code)).collect();
        assert_eq!(
            got,
            vec![
                (2, "bad_month"),
                (3, "bad_index"),
                (4, "bad_index"),
                (5, "bad_columns"),
                (7, "duplicate_month")
            ]
        );
        assert_eq!(parse_cpi_csv("y,m,i\n").unwrap_err()[0].code, "bad_header");
    }

    #[test]
    fn rounding_rules_round_as_named() {
        assert_eq!(Rounding::parse("up_1000").unwrap().apply(135_001), 136_000);
        assert_eq!(
            Rounding::parse("nearest_100").unwrap().apply(135_050),
            135_100
        );
        assert_eq!(Rounding::parse("down_10").unwrap().apply(135_059), 135_050);
        assert!(Rounding::parse("up_7").is_err());
    }
}

//! Offering slots freed by cancellations to the waitlist.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use pishkhan_domain::NationalCode;
use pishkhan_domain::model::OfficeCode;

use crate::canon::code_to_u64;

/// The waitlist of a release, handing out slots that winners give back.
///
/// Behaviour:
/// - When a slot at office X is freed, [`Waitlist::next_offer`] names the first citizen in
///   waitlist order (which is lottery order) who listed X among their preferences, at any rank,
///   and has not been offered a slot yet. Waitlist order decides, not the rank of X in the
///   citizens' lists: an earlier citizen who listed X fifth comes before a later one who listed
///   it first, exactly as in the lottery itself.
/// - Every citizen is offered at most one slot, whether they accept it or not. If the citizen
///   declines or lets the offer lapse, the caller asks again for the same office and the next
///   citizen is named. Someone who accepted an offer at their third choice is not offered their
///   first choice later.
/// - `None` means nobody left on the waitlist wants that office; the slot can go back to
///   ordinary booking.
///
/// Each call is amortised O(1): every office keeps a cursor over the citizens who listed it.
/// The state lives in memory; a service that must survive restarts persists the offers it made
/// and replays them with [`Waitlist::mark_offered`].
#[derive(Debug, Clone)]
pub struct Waitlist {
    codes: Vec<NationalCode>,
    /// Waitlist position by national code (as a number).
    positions: HashMap<u64, u32>,
    offered: Vec<bool>,
    offered_count: usize,
    /// For each office, the waitlist positions of the citizens who listed it, ascending, and a
    /// cursor: every position before it has been offered already.
    by_office: HashMap<OfficeCode, (Vec<u32>, usize)>,
}

impl Waitlist {
    /// A waitlist from `(citizen, preferences)` in waitlist order. A citizen given twice keeps
    /// their first place and first list.
    pub fn new(entries: impl IntoIterator<Item = (NationalCode, Vec<OfficeCode>)>) -> Self {
        let mut codes = Vec::new();
        let mut positions = HashMap::new();
        let mut by_office: HashMap<OfficeCode, (Vec<u32>, usize)> = HashMap::new();
        for (code, prefs) in entries {
            let pos = u32::try_from(codes.len()).expect("a waitlist holds fewer than 2^32");
            match positions.entry(code_to_u64(code.as_str())) {
                Entry::Occupied(_) => continue,
                Entry::Vacant(slot) => slot.insert(pos),
            };
            for (i, office) in prefs.iter().enumerate() {
                if !prefs[..i].contains(office) {
                    by_office.entry(*office).or_default().0.push(pos);
                }
            }
            codes.push(code);
        }
        let offered = vec![false; codes.len()];
        Self {
            codes,
            positions,
            offered,
            offered_count: 0,
            by_office,
        }
    }

    /// The citizen to offer a freed slot at `office` to, who is then marked as offered; `None`
    /// when nobody left wants it.
    pub fn next_offer(&mut self, office: OfficeCode) -> Option<NationalCode> {
        let (queue, cursor) = self.by_office.get_mut(&office)?;
        while let Some(&pos) = queue.get(*cursor) {
            *cursor += 1;
            if !self.offered[pos as usize] {
                self.offered[pos as usize] = true;
                self.offered_count += 1;
                return Some(self.codes[pos as usize].clone());
            }
        }
        None
    }

    /// Records that a citizen was offered a slot elsewhere (to restore state after a restart).
    /// Returns false when the citizen is not on the waitlist or was offered already.
    pub fn mark_offered(&mut self, code: &NationalCode) -> bool {
        match self.positions.get(&code_to_u64(code.as_str())) {
            Some(&pos) if !self.offered[pos as usize] => {
                self.offered[pos as usize] = true;
                self.offered_count += 1;
                true
            }
            _ => false,
        }
    }

    /// A citizen's place on the waitlist, 0 first.
    pub fn position(&self, code: &NationalCode) -> Option<usize> {
        self.positions
            .get(&code_to_u64(code.as_str()))
            .map(|&p| p as usize)
    }

    /// Whether the citizen has been offered a slot.
    pub fn was_offered(&self, code: &NationalCode) -> bool {
        self.positions
            .get(&code_to_u64(code.as_str()))
            .is_some_and(|&p| self.offered[p as usize])
    }

    /// Citizens on the waitlist.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Citizens offered a slot so far.
    pub fn offered(&self) -> usize {
        self.offered_count
    }
}

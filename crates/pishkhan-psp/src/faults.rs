//! Which fault applies to which order: one for every order, and overrides per order.

use std::collections::HashMap;

use pishkhan_protocol::psp::Fault;

/// Most orders with a fault of their own.
pub(crate) const MAX_ORDER_FAULTS: usize = 100_000;

#[derive(Debug, Default)]
pub(crate) struct FaultTable {
    every_order: Option<Fault>,
    /// An order's own setting, `None` included: "no fault for this order" wins over the
    /// fault for every order.
    per_order: HashMap<i64, Option<Fault>>,
}

impl FaultTable {
    pub(crate) fn new(every_order: Option<Fault>) -> Self {
        Self {
            every_order,
            per_order: HashMap::new(),
        }
    }

    pub(crate) fn get(&self, order_id: i64) -> Option<Fault> {
        match self.per_order.get(&order_id) {
            Some(own) => *own,
            None => self.every_order,
        }
    }

    /// Sets one order's fault, or (`None` order) every order's; `None` order with no fault
    /// clears every setting. Refused when the table is full.
    pub(crate) fn set(&mut self, order_id: Option<i64>, fault: Option<Fault>) -> Result<(), ()> {
        match order_id {
            Some(order) => {
                if !self.per_order.contains_key(&order) && self.per_order.len() >= MAX_ORDER_FAULTS
                {
                    return Err(());
                }
                self.per_order.insert(order, fault);
            }
            None if fault.is_none() => *self = FaultTable::default(),
            None => self.every_order = fault,
        }
        Ok(())
    }
}

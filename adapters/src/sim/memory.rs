//! The four data tables of one simulated unit, as banks of valid addresses.
//!
//! A request is served only if all its addresses lie in one bank; anything else is answered
//! IllegalDataAddress, as a real device answers addresses it does not have.

use crate::modbus::Table;

/// Consecutive valid addresses of one table.
#[derive(Clone, Debug)]
struct Bank<T> {
    start: u16,
    values: Vec<T>,
}

/// The valid addresses of one table and their contents.
#[derive(Clone, Debug)]
pub(crate) struct Banks<T> {
    banks: Vec<Bank<T>>,
}

impl<T: Copy + Default> Banks<T> {
    /// A table with no addresses.
    pub(crate) fn none() -> Banks<T> {
        Banks { banks: Vec::new() }
    }

    /// Adds `count` addresses from `start`, all default (false, 0).
    pub(crate) fn with(mut self, start: u16, count: u16) -> Banks<T> {
        self.banks.push(Bank {
            start,
            values: vec![T::default(); usize::from(count)],
        });
        self
    }

    fn locate(&self, address: u16, count: u16) -> Option<(usize, usize)> {
        let end = usize::from(address) + usize::from(count);
        self.banks.iter().enumerate().find_map(|(i, b)| {
            let start = usize::from(b.start);
            (usize::from(address) >= start && end <= start + b.values.len())
                .then(|| (i, usize::from(address) - start))
        })
    }

    /// `count` values from `address`, if all exist.
    pub(crate) fn read(&self, address: u16, count: u16) -> Option<Vec<T>> {
        let (bank, offset) = self.locate(address, count)?;
        let values = &self.banks[bank].values;
        values
            .get(offset..offset + usize::from(count))
            .map(<[T]>::to_vec)
    }

    /// One value.
    pub(crate) fn get(&self, address: u16) -> Option<T> {
        self.read(address, 1).and_then(|v| v.first().copied())
    }

    /// Whether `count` addresses from `address` all exist.
    pub(crate) fn contains(&self, address: u16, count: u16) -> bool {
        self.locate(address, count).is_some()
    }

    /// Stores `values` from `address` if all addresses exist; false otherwise (nothing stored).
    pub(crate) fn write(&mut self, address: u16, values: &[T]) -> bool {
        let Ok(count) = u16::try_from(values.len()) else {
            return false;
        };
        let Some((bank, offset)) = self.locate(address, count) else {
            return false;
        };
        match self.banks[bank]
            .values
            .get_mut(offset..offset + values.len())
        {
            Some(slot) => {
                slot.copy_from_slice(values);
                true
            }
            None => false,
        }
    }

    /// Stores one value.
    pub(crate) fn set(&mut self, address: u16, value: T) -> bool {
        self.write(address, &[value])
    }
}

/// The four tables of one unit.
#[derive(Clone, Debug)]
pub(crate) struct Unit {
    pub(crate) coils: Banks<bool>,
    pub(crate) discrete_inputs: Banks<bool>,
    pub(crate) holding: Banks<u16>,
    pub(crate) input: Banks<u16>,
}

impl Unit {
    /// Whether `table` has `count` addresses from `address`.
    pub(crate) fn has(&self, table: Table, address: u16, count: u16) -> bool {
        match table {
            Table::Coil => self.coils.contains(address, count),
            Table::DiscreteInput => self.discrete_inputs.contains(address, count),
            Table::Holding => self.holding.contains(address, count),
            Table::Input => self.input.contains(address, count),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_addresses_inside_one_bank_are_served() {
        let mut b: Banks<u16> = Banks::none().with(100, 1).with(200, 2);
        assert_eq!(b.read(100, 1), Some(vec![0]));
        assert_eq!(b.read(200, 2), Some(vec![0, 0]));
        assert_eq!(b.read(99, 2), None);
        assert_eq!(b.read(201, 2), None);
        assert_eq!(b.read(150, 1), None);
        assert!(b.write(201, &[7]));
        assert_eq!(b.get(201), Some(7));
        assert!(!b.write(201, &[1, 2]), "crosses the bank's end");
        assert_eq!(b.get(201), Some(7), "nothing stored by a refused write");
        assert!(!b.set(65535, 1));
        assert_eq!(b.read(65535, 1), None);
    }
}

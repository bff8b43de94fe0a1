//! Play counters of one month for one kind of entity, kept as a single value:
//! a version byte, then (id delta, plays) pairs as LEB128 varints, ids ascending.
//! One read gives a whole month, so a chart over years reads a few hundred
//! values instead of hundreds of thousands of rows.

use crate::error::{Error, InternalError};

const COUNTS_V1: u8 = 1;

fn push_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn read_varint(bytes: &[u8], position: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*position)?;
        *position += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Calls `visit(id, plays)` for each counter, ids ascending.
pub(crate) fn for_each(bytes: &[u8], mut visit: impl FnMut(u64, u64)) -> Result<(), Error> {
    let corrupt =
        || Error::Internal(InternalError::Decode { table: "month_counts", message: "corrupt counters".into() });
    match bytes.first() {
        None => return Ok(()),
        Some(&COUNTS_V1) => {}
        Some(version) => {
            return Err(Error::Internal(InternalError::Decode {
                table: "month_counts",
                message: format!("unknown counters version {version}"),
            }));
        }
    }
    let mut position = 1;
    let mut id = 0u64;
    while position < bytes.len() {
        id += read_varint(bytes, &mut position).ok_or_else(corrupt)?;
        let plays = read_varint(bytes, &mut position).ok_or_else(corrupt)?;
        visit(id, plays);
    }
    Ok(())
}

/// Adds `deltas` (ids ascending) to the encoded counters `existing`.
pub(crate) fn merge(existing: &[u8], deltas: &[(u64, u64)]) -> Result<Vec<u8>, Error> {
    let mut current = Vec::new();
    for_each(existing, |id, plays| current.push((id, plays)))?;
    let mut out = Vec::with_capacity(existing.len() + deltas.len() * 4 + 1);
    out.push(COUNTS_V1);
    let mut previous = 0u64;
    let mut emit = |out: &mut Vec<u8>, id: u64, plays: u64| {
        push_varint(out, id - previous);
        push_varint(out, plays);
        previous = id;
    };
    let (mut left, mut right) = (current.into_iter().peekable(), deltas.iter().copied().peekable());
    loop {
        match (left.peek().copied(), right.peek().copied()) {
            (Some((a, plays_a)), Some((b, plays_b))) if a == b => {
                emit(&mut out, a, plays_a + plays_b);
                left.next();
                right.next();
            }
            (Some((a, plays)), Some((b, _))) if a < b => {
                emit(&mut out, a, plays);
                left.next();
            }
            (_, Some((b, plays))) => {
                emit(&mut out, b, plays);
                right.next();
            }
            (Some((a, plays)), None) => {
                emit(&mut out, a, plays);
                left.next();
            }
            (None, None) => break,
        }
    }
    Ok(out)
}

/// Takes `deltas` (ids ascending) off the encoded counters `existing`; counters
/// that reach zero are dropped (a counter never goes below zero). Returns the
/// encoding, which is only the version byte when no counter is left.
pub(crate) fn subtract(existing: &[u8], deltas: &[(u64, u64)]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(existing.len());
    out.push(COUNTS_V1);
    let mut previous = 0u64;
    let mut deltas = deltas.iter().copied().peekable();
    let mut failure = None;
    for_each(existing, |id, plays| {
        while deltas.peek().is_some_and(|(other, _)| *other < id) {
            deltas.next();
        }
        let taken = match deltas.peek() {
            Some((other, taken)) if *other == id => *taken,
            _ => 0,
        };
        let left = plays.saturating_sub(taken);
        if taken > plays {
            failure.get_or_insert(id);
        }
        if left > 0 {
            push_varint(&mut out, id - previous);
            push_varint(&mut out, left);
            previous = id;
        }
    })?;
    if let Some(id) = failure {
        tracing::warn!(id, "a month counter went below zero; it is dropped");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Vec<(u64, u64)> {
        let mut pairs = Vec::new();
        for_each(bytes, |id, plays| pairs.push((id, plays))).unwrap();
        pairs
    }

    #[test]
    fn merges_in_order() {
        let first = merge(&[], &[(3, 1), (700, 2), (u64::MAX - 1, 1)]).unwrap();
        assert_eq!(decode(&first), vec![(3, 1), (700, 2), (u64::MAX - 1, 1)]);
        let second = merge(&first, &[(1, 5), (3, 2), (900, 300)]).unwrap();
        assert_eq!(decode(&second), vec![(1, 5), (3, 3), (700, 2), (900, 300), (u64::MAX - 1, 1)]);
        assert!(for_each(&[COUNTS_V1, 0x80], |_, _| {}).is_err(), "a cut varint is corrupt");
        assert!(for_each(&[7, 1, 1], |_, _| {}).is_err(), "unknown version");
    }

    #[test]
    fn subtracts_and_drops_zeros() {
        let counters = merge(&[], &[(3, 1), (700, 2), (900, 5)]).unwrap();
        let left = subtract(&counters, &[(3, 1), (700, 1), (800, 4)]).unwrap();
        assert_eq!(decode(&left), vec![(700, 1), (900, 5)], "absent ids are ignored");
        assert_eq!(left, merge(&[], &[(700, 1), (900, 5)]).unwrap(), "the same bytes as if added that way");
        assert_eq!(subtract(&left, &[(700, 1), (900, 5)]).unwrap(), vec![COUNTS_V1], "nothing left");
    }
}

//! Keras-style automatic names: `dense`, `dense_1`, `dense_2`, …
//!
//! Counters are per thread (Keras keeps them per session); [`clear_session`] resets them.

use std::cell::RefCell;
use std::collections::HashMap;

thread_local! {
    static COUNTERS: RefCell<HashMap<String, usize>> = RefCell::new(HashMap::new());
}

/// A fresh name from `prefix`: the prefix itself the first time, then `prefix_1`, …
pub fn unique_name(prefix: &str) -> String {
    COUNTERS.with(|c| {
        let mut c = c.borrow_mut();
        let n = c.entry(prefix.to_string()).or_insert(0);
        let name = if *n == 0 {
            prefix.to_string()
        } else {
            format!("{prefix}_{n}")
        };
        *n += 1;
        name
    })
}

/// Resets automatic names and the random seed sequence, as `keras.backend.clear_session()`.
pub fn clear_session() {
    COUNTERS.with(|c| c.borrow_mut().clear());
    crate::random::reset();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_count_per_prefix() {
        clear_session();
        assert_eq!(unique_name("dense"), "dense");
        assert_eq!(unique_name("dense"), "dense_1");
        assert_eq!(unique_name("dropout"), "dropout");
        assert_eq!(unique_name("dense"), "dense_2");
        clear_session();
        assert_eq!(unique_name("dense"), "dense");
    }
}

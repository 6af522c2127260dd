//! Typed indices into a graph's arenas. They print as in the text IR: `%3`, `@1`, `#2`.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! entity {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u32);

        impl $name {
            /// The index into its arena.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

entity!(
    /// A value: a graph input, a parameter, or the result of a node. Prints `%3`.
    ValueId,
    "%"
);
entity!(
    /// A node (one op application). Prints `@3`.
    NodeId,
    "@"
);
entity!(
    /// A parameter (a weight). Prints `#3`.
    ParamId,
    "#"
);

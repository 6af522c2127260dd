//! Graph passes: plain functions over `&mut Graph`. Tests verify the graph after each.

mod dead_code;

pub use dead_code::remove_dead_nodes;

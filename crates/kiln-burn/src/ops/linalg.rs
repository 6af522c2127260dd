//! Matrix products.

use crate::slot::FloatT;

/// Matrix product over the last two axes; leading axes broadcast.
pub(crate) fn matmul(a: FloatT, b: FloatT) -> FloatT {
    a.matmul(b)
}

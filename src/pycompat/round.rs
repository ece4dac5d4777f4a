//! Python's `round` on floats.

/// Python's `round(x, ndigits)` on a float: the exact binary value rounded to `ndigits`
/// decimals, exact ties to even. Rust's fixed-precision formatting rounds the same way.
pub fn py_round(x: f64, ndigits: usize) -> f64 {
    if !x.is_finite() {
        return x;
    }
    format!("{x:.ndigits$}").parse().unwrap_or(x)
}

//! numpy's summation order, so that statistics equal the reference's to the last bit.
//!
//! A numpy reduction over a whole array (`a.sum()`, `a.mean()`) walks it through its iterator's
//! 8192-value buffers, cast or not: each buffer is added pairwise and the result added to a
//! running total that starts at zero. Pairwise: runs of at most 128 values go into 8
//! interleaved accumulators that are then added as a balanced tree, and longer runs are split
//! in two (the first half rounded down to a multiple of 8) and summed recursively. This order
//! decides the last bits of a float32 mean, which mrcfile writes into every MRC header
//! (`dmean`) and the reference's own `rms` formula reproduces.
//!
//! Values are pulled in order from a [`ValueSource`], so a volume larger than memory is summed
//! in one streaming pass per statistic.

/// Longest run numpy sums with its 8-accumulator loop before splitting (`PW_BLOCKSIZE`).
const PAIRWISE_BLOCK: usize = 128;

/// numpy's iterator buffer size (`np.getbufsize()`), the unit of a whole-array reduction.
const CAST_BUFFER: usize = 8192;

/// Float arithmetic of one numpy dtype.
pub trait Float: Copy + std::ops::Add<Output = Self> + std::ops::Sub<Output = Self> {
    /// The additive identity numpy starts an accumulator from.
    const ZERO: Self;
    /// The value widened to f64 (exact).
    fn to_f64(self) -> f64;
}

impl Float for f32 {
    const ZERO: Self = 0.0;
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Float for f64 {
    const ZERO: Self = 0.0;
    fn to_f64(self) -> f64 {
        self
    }
}

/// Values in array order, handed out in runs of at most [`PAIRWISE_BLOCK`] or [`CAST_BUFFER`].
pub trait ValueSource<T> {
    /// Fills `out` with the next `out.len()` values.
    ///
    /// # Errors
    /// Whatever reading the values fails with.
    fn next_values(&mut self, out: &mut [T]) -> std::io::Result<()>;
}

/// numpy's pairwise sum of the next `n` values of `source` (one buffer of a reduction).
///
/// # Errors
/// Reading the values.
pub fn pairwise_sum<T: Float>(n: usize, source: &mut impl ValueSource<T>) -> std::io::Result<T> {
    let mut run = [T::ZERO; PAIRWISE_BLOCK];
    pairwise(n, source, &mut run)
}

fn pairwise<T: Float>(
    n: usize,
    source: &mut impl ValueSource<T>,
    run: &mut [T; PAIRWISE_BLOCK],
) -> std::io::Result<T> {
    if n > PAIRWISE_BLOCK {
        let half = n / 2;
        let half = half - half % 8;
        let first = pairwise(half, source, run)?;
        let second = pairwise(n - half, source, run)?;
        return Ok(first + second);
    }
    let values = &mut run[..n];
    source.next_values(values)?;
    Ok(sum_block(values))
}

/// numpy's sum of one run of at most [`PAIRWISE_BLOCK`] values.
fn sum_block<T: Float>(values: &[T]) -> T {
    let n = values.len();
    if n < 8 {
        return values.iter().fold(T::ZERO, |acc, &v| acc + v);
    }
    let mut lanes = [T::ZERO; 8];
    lanes.copy_from_slice(&values[..8]);
    let whole = n - n % 8;
    for chunk in values[8..whole].chunks_exact(8) {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = *lane + v;
        }
    }
    let tree = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
        + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    values[whole..].iter().fold(tree, |acc, &v| acc + v)
}

/// numpy's sum of `n` values of an array (`np.add.reduce(a, axis=None)`, with or without a
/// cast): 8192-value buffers, each summed pairwise, added to a total that starts at zero.
///
/// # Errors
/// Reading the values.
pub fn buffered_sum<T: Float>(n: usize, source: &mut impl ValueSource<T>) -> std::io::Result<T> {
    let mut total = T::ZERO;
    let mut left = n;
    while left > 0 {
        let take = left.min(CAST_BUFFER);
        total = total + pairwise_sum(take, source)?;
        left -= take;
    }
    Ok(total)
}

/// A [`ValueSource`] that maps the values of another one.
pub struct Mapped<S, F, U> {
    inner: S,
    map: F,
    scratch: Vec<U>,
}

impl<S, F, U> Mapped<S, F, U> {
    /// `inner`'s values passed through `map`.
    pub fn new(inner: S, map: F) -> Self {
        Self {
            inner,
            map,
            scratch: Vec::new(),
        }
    }
}

impl<S, F, U, T> ValueSource<T> for Mapped<S, F, U>
where
    S: ValueSource<U>,
    F: FnMut(U) -> T,
    U: Copy + Default,
{
    fn next_values(&mut self, out: &mut [T]) -> std::io::Result<()> {
        self.scratch.clear();
        self.scratch.resize(out.len(), U::default());
        self.inner.next_values(&mut self.scratch)?;
        for (o, &v) in out.iter_mut().zip(&self.scratch) {
            *o = (self.map)(v);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A [`ValueSource`] over a slice.
    pub struct SliceSource<'a, T> {
        values: &'a [T],
    }

    impl<'a, T> SliceSource<'a, T> {
        /// Values from the start of `values`.
        pub fn new(values: &'a [T]) -> Self {
            Self { values }
        }
    }

    impl<T: Copy> ValueSource<T> for SliceSource<'_, T> {
        fn next_values(&mut self, out: &mut [T]) -> std::io::Result<()> {
            if out.len() > self.values.len() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "fewer values than counted",
                ));
            }
            let (head, rest) = self.values.split_at(out.len());
            out.copy_from_slice(head);
            self.values = rest;
            Ok(())
        }
    }

    fn sum32(values: &[f32]) -> f32 {
        pairwise_sum(values.len(), &mut SliceSource::new(values)).unwrap()
    }

    #[test]
    fn short_runs_add_left_to_right() {
        assert_eq!(sum32(&[1.0, 2.0, 3.0]), 6.0);
        assert_eq!(sum32(&[]), 0.0);
    }

    #[test]
    fn runs_of_eight_use_interleaved_lanes() {
        // 1e8 then ones: left to right loses every 1 (an ulp of 1e8 in f32 is 8), while the
        // lanes sum the ones apart before the tree adds them to 1e8.
        let mut v = vec![1.0f32; 16];
        v[0] = 1e8;
        let sequential = v.iter().fold(0f32, |a, &b| a + b);
        assert_eq!(sequential, 1e8);
        let lanes: Vec<f32> = (0..8).map(|j| v[j] + v[j + 8]).collect();
        let tree = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
            + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
        assert_eq!(sum32(&v), tree);
        assert_ne!(sum32(&v), sequential);
    }

    #[test]
    fn long_runs_split_at_a_multiple_of_eight() {
        let v: Vec<f32> = (0..1000).map(|i| (i as f32).sin() * 1e3).collect();
        // 1000 → 496 + 504; 496 → 248 + 248; 504 → 248 + 256 → …
        let expected = {
            fn rec(v: &[f32]) -> f32 {
                if v.len() <= 128 {
                    return sum_block(v);
                }
                let half = v.len() / 2;
                let half = half - half % 8;
                rec(&v[..half]) + rec(&v[half..])
            }
            rec(&v)
        };
        assert_eq!(sum32(&v), expected);
    }

    #[test]
    fn cast_sums_go_through_buffers() {
        let v: Vec<f32> = (0..20_000).map(|i| (i % 7) as f32).collect();
        let buffered = buffered_sum(v.len(), &mut SliceSource::new(&v)).unwrap();
        let expected = sum32(&v[..8192]) + sum32(&v[8192..16384]) + sum32(&v[16384..]);
        assert_eq!(buffered, 0.0 + expected);
        let mapped: f64 = buffered_sum(
            3,
            &mut Mapped::new(SliceSource::new(&[1i8, 2, 3][..]), f64::from),
        )
        .unwrap();
        assert_eq!(mapped, 6.0);
    }

    #[test]
    fn a_short_source_is_an_error() {
        assert!(pairwise_sum::<f32>(3, &mut SliceSource::new(&[1.0f32][..])).is_err());
    }
}

//! Contrast limits of a tomogram's image layer (spec §10.2): the Gaussian-mixture method the
//! portal's state generator uses (`compute_contrast_limits(lowest level, "gmm")`).
//!
//! The method, on the lowest pyramid level (z, y, x):
//! 1. keep the sections within 15 of the central one (`0.5·Z − 0.5`);
//! 2. when `int(0.3 · voxels of the whole level)` is smaller than what is kept, draw that many
//!    values without replacement with numpy's `default_rng(42).choice` (reproduced exactly
//!    here: SeedSequence, PCG64, Lemire bounded integers, the tail-shuffle / Floyd paths);
//! 3. fit Gaussian mixtures of 1, 2 and 3 components as scikit-learn's `GaussianMixture`
//!    does (`k-means++` initialisation with `RandomState(42)`, EM with tol 1e-3, reg_covar
//!    1e-6, 100 iterations), keep the lowest BIC, refit it with 300 iterations;
//! 4. take the component whose mean is nearest the sample mean: `mean − a·σ`, `mean + b·σ`
//!    with (a, b) = (2.0, 0.5), (2.2, 0.65), (3.0, 0.8) for 1, 2, 3 components, clipped to the
//!    sample's range.
//!
//! scikit-learn runs the EM in float32 for float32 data; this runs it in float64 from the same
//! samples and the same initial centres, so the limits agree to float32 precision (a relative
//! 1e-5 or better, far below what a contrast slider shows; `tests/contrast.rs` measures it).

use crate::pycompat::random::PyRandom;

/// Sections kept either side of the central one.
const Z_RADIUS: f64 = 15.0;
/// Fraction of the level's voxels sampled.
const DOWNSAMPLING_RATIO: f64 = 0.3;
/// scikit-learn's defaults for `GaussianMixture`.
const TOL: f64 = 1e-3;
const REG_COVAR: f64 = 1e-6;

/// Why contrast limits cannot be computed.
#[derive(Debug, thiserror::Error)]
pub enum ContrastError {
    /// Too few values to fit a mixture (scikit-learn needs two samples).
    #[error("{name}: {n} samples are too few to fit the contrast-limit mixture (need 2)")]
    TooFewSamples {
        /// The volume.
        name: String,
        /// How many values were sampled.
        n: usize,
    },
    /// The shape and the data disagree.
    #[error("{name}: {len} values for the shape {shape:?}")]
    Shape {
        /// The volume.
        name: String,
        /// Number of values given.
        len: usize,
        /// The shape, z, y, x.
        shape: [usize; 3],
    },
}

/// The GMM contrast limits of the lowest pyramid level `data` (C order, `shape` z, y, x).
///
/// # Errors
/// A shape that does not fit the data; too few samples to fit.
pub fn gmm_contrast_limits(
    data: &[f32],
    shape: [usize; 3],
    name: &str,
) -> Result<(f64, f64), ContrastError> {
    let [z, y, x] = shape;
    if data.len() != z * y * x {
        return Err(ContrastError::Shape {
            name: name.to_string(),
            len: data.len(),
            shape,
        });
    }
    let sample = sample_values(data, shape);
    if sample.len() < 2 {
        return Err(ContrastError::TooFewSamples {
            name: name.to_string(),
            n: sample.len(),
        });
    }
    let xs: Vec<f64> = sample.iter().map(|&v| f64::from(v)).collect();
    let n = xs.len() as f64;
    // Model selection by BIC (a fit that fails, with fewer samples than components, is +inf).
    let mut best = (f64::INFINITY, 1usize);
    for k in 1..=3usize {
        if xs.len() < k {
            continue;
        }
        let fit = Mixture::fit(&sample, &xs, k, 100);
        let bic = -2.0 * fit.score(&xs) * n + (3 * k - 1) as f64 * n.ln();
        if bic < best.0 {
            best = (bic, k);
        }
    }
    let k = best.1;
    let fit = Mixture::fit(&sample, &xs, k, 300);
    let mean = xs.iter().sum::<f64>() / n;
    let mut closest = 0;
    for (i, m) in fit.means.iter().enumerate() {
        if (m - mean).abs() < (fit.means[closest] - mean).abs() {
            closest = i;
        }
    }
    let (a, b) = match k {
        1 => (2.0, 0.5),
        2 => (2.2, 0.65),
        _ => (3.0, 0.8),
    };
    let m = fit.means[closest];
    let sd = fit.vars[closest].sqrt();
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Ok(((m - a * sd).max(lo), (m + b * sd).min(hi)))
}

/// Steps 1 and 2: the central sections, then the random subset when it is smaller.
fn sample_values(data: &[f32], shape: [usize; 3]) -> Vec<f32> {
    let [z, y, x] = shape;
    let center = 0.5 * z as f64 - 0.5;
    let z_min = (center - Z_RADIUS).ceil().max(0.0) as usize;
    let z_max = ((center + Z_RADIUS).floor() as i64 + 1).clamp(0, z as i64) as usize;
    let kept = &data[z_min.min(z_max) * y * x..z_max * y * x];
    let wanted = (data.len() as f64 * DOWNSAMPLING_RATIO) as usize;
    if wanted > kept.len() {
        return kept.to_vec();
    }
    let mut rng = Pcg64::from_seed_sequence(42);
    rng.choice_without_replacement(kept.len(), wanted)
        .into_iter()
        .map(|i| kept[i])
        .collect()
}

/// A fitted one-dimensional Gaussian mixture.
struct Mixture {
    weights: Vec<f64>,
    means: Vec<f64>,
    vars: Vec<f64>,
}

impl Mixture {
    /// `GaussianMixture(k, covariance_type="full", random_state=42, init_params="k-means++",
    /// max_iter).fit(x)`; `x32` are the same values as scikit-learn holds them (float32), for the
    /// k-means++ seeding, which works on them.
    fn fit(x32: &[f32], x: &[f64], k: usize, max_iter: usize) -> Mixture {
        let n = x.len();
        let mut rs = PyRandom::numpy_legacy(42);
        let centers = kmeans_plusplus(x32, k, &mut rs);
        // One-hot responsibilities on the chosen samples, as `_initialize` takes them (float32).
        let nk = 1.0 + 10.0 * f64::from(f32::EPSILON);
        let mut mix = Mixture {
            weights: vec![nk / n as f64; k],
            means: centers.iter().map(|&i| x[i] / nk).collect(),
            vars: centers
                .iter()
                .map(|&i| {
                    let d = x[i] - x[i] / nk;
                    d * d / nk + REG_COVAR
                })
                .collect(),
        };
        let mut lower = f64::NEG_INFINITY;
        let mut resp = vec![0.0; n * k];
        for _ in 0..max_iter {
            let prev = lower;
            lower = mix.e_step(x, &mut resp);
            mix.m_step(x, &resp);
            if (lower - prev).abs() < TOL {
                break;
            }
        }
        mix
    }

    /// Per-sample log of weight × density, for each component.
    fn weighted_log_prob(&self, v: f64, out: &mut [f64]) {
        let ln_2pi = (2.0 * std::f64::consts::PI).ln();
        for (j, o) in out.iter_mut().enumerate() {
            let prec = 1.0 / self.vars[j].sqrt();
            let y = v * prec - self.means[j] * prec;
            *o = -0.5 * (ln_2pi + y * y) + prec.ln() + self.weights[j].ln();
        }
    }

    /// The E step: responsibilities into `resp`, returns the mean log-likelihood.
    fn e_step(&self, x: &[f64], resp: &mut [f64]) -> f64 {
        let k = self.means.len();
        let mut total = 0.0;
        let mut w = vec![0.0; k];
        for (i, &v) in x.iter().enumerate() {
            self.weighted_log_prob(v, &mut w);
            let norm = log_sum_exp(&w);
            total += norm;
            for j in 0..k {
                resp[i * k + j] = (w[j] - norm).exp();
            }
        }
        total / x.len() as f64
    }

    /// The M step from responsibilities.
    fn m_step(&mut self, x: &[f64], resp: &[f64]) {
        let k = self.means.len();
        let eps10 = 10.0 * f64::EPSILON;
        for j in 0..k {
            let nk: f64 = (0..x.len()).map(|i| resp[i * k + j]).sum::<f64>() + eps10;
            let mean = x
                .iter()
                .enumerate()
                .map(|(i, &v)| resp[i * k + j] * v)
                .sum::<f64>()
                / nk;
            let var = x
                .iter()
                .enumerate()
                .map(|(i, &v)| resp[i * k + j] * (v - mean) * (v - mean))
                .sum::<f64>()
                / nk
                + REG_COVAR;
            self.weights[j] = nk;
            self.means[j] = mean;
            self.vars[j] = var;
        }
        let sum: f64 = self.weights.iter().sum();
        for w in &mut self.weights {
            *w /= sum;
        }
    }

    /// Mean log-likelihood of `x` (scikit-learn's `score`).
    fn score(&self, x: &[f64]) -> f64 {
        let mut w = vec![0.0; self.means.len()];
        x.iter()
            .map(|&v| {
                self.weighted_log_prob(v, &mut w);
                log_sum_exp(&w)
            })
            .sum::<f64>()
            / x.len() as f64
    }
}

fn log_sum_exp(v: &[f64]) -> f64 {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + v.iter().map(|&a| (a - max).exp()).sum::<f64>().ln()
}

/// scikit-learn's `kmeans_plusplus` on one feature with unit sample weights: the indices of the
/// chosen centres. Distances are float32 from float64 `x² − 2xc + c²`, potentials and their
/// running sums float32, as scikit-learn computes them for float32 data.
fn kmeans_plusplus(x: &[f32], k: usize, rs: &mut PyRandom) -> Vec<usize> {
    let n = x.len();
    // `choice(n, p=w / w.sum())`: the cumulative float32 weights 1/n, summed in float64.
    let p = f64::from(1.0f32 / n as f32);
    let mut cdf = Vec::with_capacity(n);
    let mut acc = 0.0f64;
    for _ in 0..n {
        acc += p;
        cdf.push(acc);
    }
    let last = acc;
    let u = rs.random();
    let first = cdf.partition_point(|&c| c / last <= u).min(n - 1);
    let dist = |c: usize| -> Vec<f32> {
        let cv = f64::from(x[c]);
        x.iter()
            .map(|&v| {
                let v = f64::from(v);
                let d = -2.0 * (cv * v) + cv * cv + v * v;
                (d as f32).max(0.0)
            })
            .collect()
    };
    let pot = |d: &[f32]| -> f32 { d.iter().map(|&v| f64::from(v)).sum::<f64>() as f32 };
    let mut centers = vec![first];
    let mut closest = dist(first);
    let mut current = pot(&closest);
    let trials = 2 + (k as f64).ln() as usize;
    for _ in 1..k {
        let mut cum = Vec::with_capacity(n);
        let mut s = 0.0f32;
        for &d in &closest {
            s += d;
            cum.push(f64::from(s));
        }
        let mut best: Option<(f32, usize, Vec<f32>)> = None;
        for _ in 0..trials {
            let r = rs.random() * f64::from(current);
            let id = cum.partition_point(|&c| c < r).min(n - 1);
            let mut d = dist(id);
            for (a, b) in d.iter_mut().zip(&closest) {
                *a = a.min(*b);
            }
            let p = pot(&d);
            if best.as_ref().is_none_or(|(bp, _, _)| p < *bp) {
                best = Some((p, id, d));
            }
        }
        let (p, id, d) = best.expect("at least two trials");
        current = p;
        closest = d;
        centers.push(id);
    }
    centers
}

/// numpy's `PCG64` bit generator (`default_rng(seed)`), with its 32-bit buffering.
pub struct Pcg64 {
    state: u128,
    inc: u128,
    half: Option<u32>,
}

const PCG_MULT: u128 = (2_549_297_995_355_413_924u128 << 64) + 4_865_540_595_714_422_341u128;

impl Pcg64 {
    /// `PCG64(SeedSequence(seed))` for a seed below 2³².
    pub fn from_seed_sequence(seed: u32) -> Pcg64 {
        let words = seed_sequence_state(seed, 8);
        let w64 = |i: usize| u64::from(words[2 * i]) | (u64::from(words[2 * i + 1]) << 32);
        let init_state = (u128::from(w64(0)) << 64) | u128::from(w64(1));
        let init_seq = (u128::from(w64(2)) << 64) | u128::from(w64(3));
        let mut r = Pcg64 {
            state: 0,
            inc: (init_seq << 1) | 1,
            half: None,
        };
        r.step();
        r.state = r.state.wrapping_add(init_state);
        r.step();
        r
    }

    fn step(&mut self) {
        self.state = self.state.wrapping_mul(PCG_MULT).wrapping_add(self.inc);
    }

    /// The next 64-bit output (XSL-RR).
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let s = self.state;
        let xored = ((s >> 64) as u64) ^ (s as u64);
        xored.rotate_right((s >> 122) as u32)
    }

    /// The next 32-bit output: the low half of a 64-bit one, then its high half.
    pub fn next_u32(&mut self) -> u32 {
        if let Some(h) = self.half.take() {
            return h;
        }
        let v = self.next_u64();
        self.half = Some((v >> 32) as u32);
        v as u32
    }

    /// `random_bounded_uint64(0, rng)` for `rng < 2³²`: uniform in `0..=rng` (Lemire).
    fn bounded(&mut self, rng: u64) -> u64 {
        if rng == 0 {
            return 0;
        }
        assert!(
            rng <= u64::from(u32::MAX),
            "ranges past 2^32 are not needed"
        );
        if rng == u64::from(u32::MAX) {
            return u64::from(self.next_u32());
        }
        let excl = rng as u32 + 1;
        let mut m = u64::from(self.next_u32()) * u64::from(excl);
        let mut leftover = m as u32;
        if leftover < excl {
            let threshold = (u32::MAX - rng as u32) % excl;
            while leftover < threshold {
                m = u64::from(self.next_u32()) * u64::from(excl);
                leftover = m as u32;
            }
        }
        m >> 32
    }

    /// Fisher–Yates over `data[first..]`, from the end (numpy's `_shuffle_int`).
    fn shuffle_tail(&mut self, data: &mut [usize], first: usize) {
        for i in (first..data.len()).rev() {
            let j = self.bounded(i as u64) as usize;
            data.swap(i, j);
        }
    }

    /// `Generator.choice(pop, size, replace=False)` (shuffled): the chosen indices in order.
    pub fn choice_without_replacement(&mut self, pop: usize, size: usize) -> Vec<usize> {
        if pop > 10_000 && size > pop / 50 {
            let mut idx: Vec<usize> = (0..pop).collect();
            self.shuffle_tail(&mut idx, (pop - size).max(1));
            return idx[pop - size..].to_vec();
        }
        // Floyd's algorithm with numpy's open-addressing set, then a shuffle.
        let set_size = (1.2 * size as f64) as u64;
        let mask = gen_mask(set_size);
        let mut set = vec![u64::MAX; (mask + 1) as usize];
        let mut idx = vec![0usize; size];
        for j in (pop - size)..pop {
            let val = self.bounded(j as u64);
            let mut loc = (val & mask) as usize;
            while set[loc] != u64::MAX && set[loc] != val {
                loc = (loc + 1) & mask as usize;
            }
            if set[loc] == u64::MAX {
                set[loc] = val;
                idx[j - (pop - size)] = val as usize;
            } else {
                let mut loc = (j as u64 & mask) as usize;
                while set[loc] != u64::MAX {
                    loc = (loc + 1) & mask as usize;
                }
                set[loc] = j as u64;
                idx[j - (pop - size)] = j;
            }
        }
        self.shuffle_tail(&mut idx, 1);
        idx
    }
}

/// numpy's `_gen_mask`: the smallest all-ones mask covering `max`.
fn gen_mask(max: u64) -> u64 {
    let mut mask = max;
    for s in [1, 2, 4, 8, 16, 32] {
        mask |= mask >> s;
    }
    mask
}

/// `SeedSequence(seed).generate_state(n_words)` (uint32 words) for a seed below 2³².
pub fn seed_sequence_state(seed: u32, n_words: usize) -> Vec<u32> {
    const INIT_A: u32 = 0x43b0_d7e5;
    const MULT_A: u32 = 0x931e_8875;
    const INIT_B: u32 = 0x8b51_f9dd;
    const MULT_B: u32 = 0x58f3_8ded;
    const MIX_L: u32 = 0xca01_f9dd;
    const MIX_R: u32 = 0x4973_f715;
    let mut hash_const = INIT_A;
    let mut hashmix = |value: u32| -> u32 {
        let mut v = value ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_A);
        v = v.wrapping_mul(hash_const);
        v ^ (v >> 16)
    };
    let mix = |x: u32, y: u32| -> u32 {
        let r = MIX_L.wrapping_mul(x).wrapping_sub(MIX_R.wrapping_mul(y));
        r ^ (r >> 16)
    };
    let entropy = [seed];
    let mut pool = [0u32; 4];
    for (i, p) in pool.iter_mut().enumerate() {
        *p = hashmix(entropy.get(i).copied().unwrap_or(0));
    }
    for src in 0..4 {
        for dst in 0..4 {
            if src != dst {
                let h = hashmix(pool[src]);
                pool[dst] = mix(pool[dst], h);
            }
        }
    }
    let mut hc = INIT_B;
    (0..n_words)
        .map(|i| {
            let mut v = pool[i % 4] ^ hc;
            hc = hc.wrapping_mul(MULT_B);
            v = v.wrapping_mul(hc);
            v ^ (v >> 16)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values printed by numpy 2.4 (`np.random.SeedSequence(42)`, `PCG64(42)`,
    // `default_rng(42).choice`, `RandomState(42)`).
    #[test]
    fn seed_sequence_and_pcg64_match_numpy() {
        assert_eq!(
            seed_sequence_state(42, 8),
            vec![
                3_444_837_047,
                2_669_555_309,
                2_046_530_742,
                3_581_440_988,
                1_691_623_607,
                2_099_784_219,
                1_184_028_159,
                862_288_241
            ]
        );
        let mut r = Pcg64::from_seed_sequence(42);
        assert_eq!(
            [r.next_u64(), r.next_u64(), r.next_u64()],
            [
                14_276_969_152_011_380_360,
                8_095_878_257_575_067_585,
                15_838_336_090_824_644_132
            ]
        );
    }

    #[test]
    fn choice_without_replacement_matches_numpy() {
        // Floyd's path (population ≤ 10000).
        let mut r = Pcg64::from_seed_sequence(42);
        assert_eq!(
            r.choice_without_replacement(100, 10),
            vec![96, 71, 8, 60, 41, 94, 68, 9, 19, 82]
        );
        // The tail-shuffle path.
        let mut r = Pcg64::from_seed_sequence(42);
        assert_eq!(
            r.choice_without_replacement(20_000, 500)[..10],
            [8305, 18068, 7297, 2318, 8047, 5653, 11764, 14696, 16928, 18207]
        );
    }

    #[test]
    fn numpy_legacy_random_state_matches() {
        let mut rs = PyRandom::numpy_legacy(42);
        assert_eq!(rs.random(), 0.3745401188473625);
        assert_eq!(rs.random(), 0.9507143064099162);
    }
}

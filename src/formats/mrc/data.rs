//! Voxel data: decoding each mode to f32, and streaming statistics.

use super::*;

/// IEEE half → single (exact).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let mant = u32::from(h & 0x3ff);
    let bits = match (exp, mant) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: normalise the mantissa.
            let mut e: u32 = 113;
            let mut m = mant;
            while m & 0x400 == 0 {
                m <<= 1;
                e -= 1;
            }
            sign | (e << 23) | ((m & 0x3ff) << 13)
        }
        (0x1f, _) => sign | 0x7f80_0000 | (mant << 13),
        _ => sign | ((exp + 112) << 23) | (mant << 13),
    };
    f32::from_bits(bits)
}

/// Decodes raw voxels of `mode` into f32 (`out.len()` voxels).
pub fn decode_to_f32(mode: MrcMode, big_endian: bool, raw: &[u8], out: &mut [f32]) {
    debug_assert_eq!(raw.len(), out.len() * mode.elem_size());
    macro_rules! conv {
        ($n:literal, $f:expr) => {
            for (o, c) in out.iter_mut().zip(raw.chunks_exact($n)) {
                let a: [u8; $n] = c.try_into().unwrap();
                *o = $f(a);
            }
        };
    }
    match (mode, big_endian) {
        (MrcMode::Int8, _) => conv!(1, |a: [u8; 1]| f32::from(a[0] as i8)),
        (MrcMode::Int16, false) => conv!(2, |a| f32::from(i16::from_le_bytes(a))),
        (MrcMode::Int16, true) => conv!(2, |a| f32::from(i16::from_be_bytes(a))),
        (MrcMode::Uint16, false) => conv!(2, |a| f32::from(u16::from_le_bytes(a))),
        (MrcMode::Uint16, true) => conv!(2, |a| f32::from(u16::from_be_bytes(a))),
        (MrcMode::Float16, false) => conv!(2, |a| f16_to_f32(u16::from_le_bytes(a))),
        (MrcMode::Float16, true) => conv!(2, |a| f16_to_f32(u16::from_be_bytes(a))),
        (MrcMode::Float32, false) => conv!(4, f32::from_le_bytes),
        (MrcMode::Float32, true) => conv!(4, f32::from_be_bytes),
    }
}

/// Summary statistics of written data, accumulated in f64 and merged with Chan et al.'s
/// parallel variance formula (numerically sound for large volumes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DataStats {
    /// Number of values seen.
    pub count: u64,
    /// Smallest value (+∞ when `count` is 0).
    pub min: f64,
    /// Largest value (−∞ when `count` is 0).
    pub max: f64,
    /// Arithmetic mean (0 when `count` is 0).
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
}

impl Default for DataStats {
    fn default() -> Self {
        Self {
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            mean: 0.0,
            m2: 0.0,
        }
    }
}

impl DataStats {
    /// Statistics of one slice of values: f64 sums of the values shifted by the first one
    /// (so large offsets do not cancel), in 8 independent lanes the compiler can vectorize.
    pub fn from_values<T: Copy + Into<f64>>(values: &[T]) -> Self {
        let Some(&first) = values.first() else {
            return Self::default();
        };
        let k: f64 = first.into();
        const L: usize = 8;
        let (mut mn, mut mx) = ([f64::INFINITY; L], [f64::NEG_INFINITY; L]);
        let (mut s1, mut s2) = ([0f64; L], [0f64; L]);
        let mut lanes = values.chunks_exact(L);
        for c in &mut lanes {
            for i in 0..L {
                let v: f64 = c[i].into();
                mn[i] = mn[i].min(v);
                mx[i] = mx[i].max(v);
                let d = v - k;
                s1[i] += d;
                s2[i] += d * d;
            }
        }
        for (i, &v) in lanes.remainder().iter().enumerate() {
            let v: f64 = v.into();
            mn[i] = mn[i].min(v);
            mx[i] = mx[i].max(v);
            let d = v - k;
            s1[i] += d;
            s2[i] += d * d;
        }
        let n = values.len() as f64;
        let (s1, s2): (f64, f64) = (s1.iter().sum(), s2.iter().sum());
        Self {
            count: values.len() as u64,
            min: mn.iter().copied().fold(f64::INFINITY, f64::min),
            max: mx.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            mean: k + s1 / n,
            m2: (s2 - s1 * s1 / n).max(0.0),
        }
    }

    /// Combines two partial results.
    pub fn merge(self, o: Self) -> Self {
        if self.count == 0 {
            return o;
        }
        if o.count == 0 {
            return self;
        }
        let n = (self.count + o.count) as f64;
        let d = o.mean - self.mean;
        let (na, nb) = (self.count as f64, o.count as f64);
        Self {
            count: self.count + o.count,
            min: self.min.min(o.min),
            max: self.max.max(o.max),
            mean: self.mean + d * nb / n,
            m2: self.m2 + o.m2 + d * d * na * nb / n,
        }
    }

    /// Population standard deviation.
    pub fn std(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            (self.m2 / self.count as f64).sqrt()
        }
    }
}

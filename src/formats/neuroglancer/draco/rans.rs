//! Draco's entropy coders, encoder side only: the adaptive-free binary rANS coder
//! (`RAnsBitEncoder`, spec "RAnsBitDecoder") and the multi-symbol rANS coder with its
//! probability table (spec "RAnsSymbolDecoder", "BuildSymbolTables"), plus the plain
//! LSB-first bit writer Draco uses for traversal symbols and tagged values.

/// `l_base` of the binary coder and its byte I/O base (spec: `ans_l_base`, `io_base`).
const ANS_L_BASE: u32 = 4096;
const IO_BASE: u32 = 256;

/// Draco's unsigned LEB128 varint.
pub fn varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Bits packed least-significant first (Draco's `EncoderBuffer` bit mode).
#[derive(Default)]
pub struct BitWriter {
    bytes: Vec<u8>,
    /// Pending bits, lowest first, and how many there are (< 8 between calls).
    acc: u64,
    pending: u32,
}

impl BitWriter {
    /// Appends the low `n` (≤ 32) bits of `value`, lowest first.
    pub fn put(&mut self, n: u32, value: u32) {
        let masked = if n >= 32 {
            u64::from(value)
        } else {
            u64::from(value) & ((1u64 << n) - 1)
        };
        self.acc |= masked << self.pending;
        self.pending += n;
        while self.pending >= 8 {
            self.bytes.push(self.acc as u8);
            self.acc >>= 8;
            self.pending -= 8;
        }
    }

    /// The packed bytes (the last one zero-padded).
    pub fn into_bytes(mut self) -> Vec<u8> {
        if self.pending > 0 {
            self.bytes.push(self.acc as u8);
        }
        self.bytes
    }
}

/// Draco's `RAnsBitEncoder`: one static probability for all bits, written as
/// `prob_zero: u8`, `varint size`, rABS bytes (decoded back to front).
#[derive(Default)]
pub struct RAnsBitEncoder {
    bits: Vec<bool>,
}

impl RAnsBitEncoder {
    /// Records one bit.
    pub fn encode_bit(&mut self, bit: bool) {
        self.bits.push(bit);
    }

    /// Writes the coded bits to `out`.
    pub fn end(self, out: &mut Vec<u8>) {
        let zeros = self.bits.iter().filter(|b| !**b).count() as f64;
        let total = (self.bits.len() as f64).max(1.0);
        let raw = ((zeros / total) * 256.0 + 0.5) as u32;
        let mut p0 = raw.min(255);
        if p0 == 0 {
            p0 = 1;
        }
        let p1 = 256 - p0;
        let mut buf = Vec::new();
        let mut state = ANS_L_BASE;
        // rabs_desc_write, bits in reverse order of their decoding.
        for &bit in self.bits.iter().rev() {
            let l_s = if bit { p1 } else { p0 };
            if state >= ANS_L_BASE / 256 * IO_BASE * l_s {
                buf.push((state % IO_BASE) as u8);
                state /= IO_BASE;
            }
            state = (state / l_s) * 256 + state % l_s + if bit { 0 } else { p1 };
        }
        write_state(&mut buf, state - ANS_L_BASE);
        out.push(p0 as u8);
        varint(out, buf.len() as u64);
        out.extend_from_slice(&buf);
    }
}

/// The final coder state in 1–4 bytes, its top two bits giving the byte count.
fn write_state(buf: &mut Vec<u8>, state: u32) {
    if state < (1 << 6) {
        buf.push(state as u8);
    } else if state < (1 << 14) {
        buf.extend_from_slice(&((1u32 << 14) + state).to_le_bytes()[..2]);
    } else if state < (1 << 22) {
        buf.extend_from_slice(&((2u32 << 22) + state).to_le_bytes()[..3]);
    } else {
        buf.extend_from_slice(&((3u32 << 30) + state).to_le_bytes());
    }
}

/// The rANS precision (bits) for a symbol alphabet needing `bit_length` bits
/// (spec: `ComputeRAnsPrecisionFromUniqueSymbolsBitLength`).
fn precision_bits(bit_length: u32) -> u32 {
    (3 * bit_length / 2).clamp(12, 20)
}

/// Encodes `symbols` (each `< frequencies.len()`) with a rANS coder of
/// `unique_symbols_bit_length` (spec "RAnsSymbolDecoder"): probability table, then
/// `varint size` and the coded bytes. `None` when the table cannot be normalized.
pub fn encode_symbols_rans(
    symbols: &[u32],
    frequencies: &[u64],
    unique_symbols_bit_length: u32,
    out: &mut Vec<u8>,
) -> Option<()> {
    let precision_bits = precision_bits(unique_symbols_bit_length);
    let precision = 1u32 << precision_bits;
    let probs = normalize(frequencies, precision)?;
    // Table: number of symbols, then each probability as a 1–3 byte varint with its
    // length in the low two bits; runs of zero probabilities as (run << 2) | 3.
    varint(out, probs.len() as u64);
    let mut i = 0;
    while i < probs.len() {
        let p = probs[i];
        if p == 0 {
            let mut offset = 0;
            while offset < 63 && probs[i + offset + 1] == 0 {
                offset += 1;
            }
            out.push(((offset << 2) | 3) as u8);
            i += offset + 1;
            continue;
        }
        let extra = if p >= 1 << 14 {
            2
        } else if p >= 1 << 6 {
            1
        } else {
            0
        };
        out.push(((p << 2) | extra) as u8);
        for b in 0..extra {
            out.push((p >> (8 * (b + 1) - 2)) as u8);
        }
        i += 1;
    }
    let mut cum = Vec::with_capacity(probs.len());
    let mut total = 0;
    for &p in &probs {
        cum.push(total);
        total += p;
    }
    let l_base = precision * 4;
    let mut buf = Vec::new();
    let mut state = l_base;
    for &s in symbols.iter().rev() {
        let p = probs[s as usize];
        let c = cum[s as usize];
        while u64::from(state) >= u64::from(l_base / precision * IO_BASE) * u64::from(p) {
            buf.push((state % IO_BASE) as u8);
            state /= IO_BASE;
        }
        state = (state / p) * precision + state % p + c;
    }
    write_state(&mut buf, state - l_base);
    varint(out, buf.len() as u64);
    out.extend_from_slice(&buf);
    Some(())
}

/// Frequencies scaled to probabilities summing to `precision`, each used symbol at
/// least 1, trailing unused symbols dropped (Draco's `RAnsSymbolEncoder::Create`).
fn normalize(frequencies: &[u64], precision: u32) -> Option<Vec<u32>> {
    let last = frequencies.iter().rposition(|&f| f > 0)?;
    let frequencies = &frequencies[..=last];
    let total: u64 = frequencies.iter().sum();
    let mut probs: Vec<u32> = frequencies
        .iter()
        .map(|&f| {
            let p = ((f as f64 / total as f64) * f64::from(precision) + 0.5) as u32;
            if p == 0 && f > 0 {
                1
            } else {
                p
            }
        })
        .collect();
    let mut sum: i64 = probs.iter().map(|&p| i64::from(p)).sum();
    let target = i64::from(precision);
    if sum != target {
        let mut order: Vec<usize> = (0..probs.len()).collect();
        order.sort_by_key(|&i| probs[i]); // stable
        if sum < target {
            *probs.get_mut(*order.last()?)? += (target - sum) as u32;
        } else {
            let mut error = sum - target;
            while error > 0 {
                let rel = f64::from(precision) / sum as f64;
                for j in (1..order.len()).rev() {
                    let s = order[j];
                    if probs[s] <= 1 {
                        if j == order.len() - 1 {
                            return None;
                        }
                        break;
                    }
                    let new_p = (rel * f64::from(probs[s])).floor() as i64;
                    let mut fix = i64::from(probs[s]) - new_p;
                    if fix == 0 {
                        fix = 1;
                    }
                    if fix >= i64::from(probs[s]) {
                        fix = i64::from(probs[s]) - 1;
                    }
                    fix = fix.min(error);
                    probs[s] -= fix as u32;
                    sum -= fix;
                    error -= fix;
                    if sum == target {
                        break;
                    }
                }
                if order.len() == 1 && error > 0 {
                    return None;
                }
            }
        }
    }
    Some(probs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_sum_to_the_precision_and_keep_rare_symbols() {
        let p = normalize(&[1000, 1, 0, 3, 0], 4096).unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!(p.iter().sum::<u32>(), 4096);
        assert!(p[1] >= 1 && p[2] == 0 && p[3] >= 1);
    }

    #[test]
    fn bits_are_packed_lowest_first() {
        let mut w = BitWriter::default();
        w.put(1, 1);
        w.put(3, 0b110);
        w.put(5, 0b11111);
        assert_eq!(w.into_bytes(), [0b1111_1101, 0b1]);
    }
}

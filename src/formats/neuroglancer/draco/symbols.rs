//! Draco's `EncodeSymbols` (spec "DecodeSymbols"): unsigned symbols coded either "tagged"
//! (a rANS-coded bit length per entry, then the raw bits) or "raw" (each value a rANS
//! symbol). We write whichever of the two comes out shorter; the decoder reads either.

use super::rans::{encode_symbols_rans, BitWriter};

const TAGGED: u8 = 0;
const RAW: u8 = 1;
/// Largest symbol alphabet (in bits) the raw scheme may use (`kMaxRawEncodingBitLength`).
const MAX_RAW_BIT_LENGTH: u32 = 18;

/// Appends `symbols`, grouped in entries of `num_components` values, to `out`.
/// `None` only if no scheme could encode them.
pub fn encode_symbols(symbols: &[u32], num_components: usize, out: &mut Vec<u8>) -> Option<()> {
    if symbols.is_empty() {
        return Some(());
    }
    let tagged = tagged(symbols, num_components);
    let raw = raw(symbols);
    let best = match (tagged, raw) {
        (Some(t), Some(r)) => {
            if r.len() < t.len() {
                r
            } else {
                t
            }
        }
        (t, r) => t.or(r)?,
    };
    out.extend_from_slice(&best);
    Some(())
}

/// Bits of `v` (at least 1, as Draco counts zero).
fn bit_length(v: u32) -> u32 {
    32 - v.leading_zeros().min(31)
}

fn tagged(symbols: &[u32], num_components: usize) -> Option<Vec<u8>> {
    let lengths: Vec<u32> = symbols
        .chunks(num_components)
        .map(|e| bit_length(e.iter().copied().max().unwrap_or(0)))
        .collect();
    let mut freq = [0u64; 33];
    for &l in &lengths {
        freq[l as usize] += 1;
    }
    let mut out = vec![TAGGED];
    encode_symbols_rans(&lengths, &freq, 5, &mut out)?;
    let mut values = BitWriter::default();
    for (entry, &l) in symbols.chunks(num_components).zip(&lengths) {
        for &v in entry {
            values.put(l, v);
        }
    }
    out.extend_from_slice(&values.into_bytes());
    Some(out)
}

fn raw(symbols: &[u32]) -> Option<Vec<u8>> {
    let max = *symbols.iter().max()?;
    if bit_length(max) > MAX_RAW_BIT_LENGTH {
        return None;
    }
    let mut freq = vec![0u64; max as usize + 1];
    for &s in symbols {
        freq[s as usize] += 1;
    }
    let unique = freq.iter().filter(|&&f| f > 0).count() as u32;
    // Compression level 7 (Draco speed 3): the alphabet's own bit length, unadjusted.
    let bits = (32 - unique.leading_zeros()).clamp(1, MAX_RAW_BIT_LENGTH);
    let mut out = vec![RAW, bits as u8];
    encode_symbols_rans(symbols, &freq, bits, &mut out)?;
    Some(out)
}

//! The `compressed_segmentation` chunk encoding of the Neuroglancer precomputed format
//! (uint32, one channel), laid out byte for byte as the reference's `create_segmentation_chunk`
//! writes it: blocks in z, y, x order, partial blocks padded with 0, each block's sorted
//! distinct values as its lookup table (a table already written for the same values is reused),
//! indices packed from the least significant bit of little-endian 32-bit words.

use std::collections::HashMap;

/// Bits per encoded index for a block of `distinct` values: the smallest of 0, 1, 2, 4, 8, 16,
/// 32 whose range holds them (the reference's `number_of_encoding_bits`).
pub fn encoding_bits(distinct: usize) -> u32 {
    [0u32, 1, 2, 4, 8, 16, 32]
        .into_iter()
        .find(|&b| (1u64 << b) >= distinct as u64)
        .unwrap_or(32)
}

/// Encodes one chunk: `data` is z, y, x (C order) with shape `shape_zyx`; `block_zyx` the
/// compressed block size. Returns the file content (channel header, block headers, tables and
/// packed indices).
pub fn encode_chunk(data: &[u32], shape_zyx: [usize; 3], block_zyx: [usize; 3]) -> Vec<u8> {
    let [cz, cy, cx] = shape_zyx;
    assert_eq!(data.len(), cz * cy * cx, "chunk data matches its shape");
    let [bz, by, bx] = block_zyx;
    let (gz, gy, gx) = (cz.div_ceil(bz), cy.div_ceil(by), cx.div_ceil(bx));
    // Words after the one-word channel header; block headers first (two words each).
    let mut words: Vec<u32> = vec![0; gx * gy * gz * 2];
    let mut tables: HashMap<Vec<u32>, (u32, u32)> = HashMap::new();
    let block_len = bz * by * bx;
    let mut block = vec![0u32; block_len];
    let mut distinct: Vec<u32> = Vec::new();
    let mut indices: Vec<u32> = vec![0; block_len];
    for z in 0..gz {
        for y in 0..gy {
            for x in 0..gx {
                fill_block(data, shape_zyx, block_zyx, [z, y, x], &mut block);
                sorted_distinct(&block, &mut distinct);
                let (table_offset, bits) = match tables.get(&distinct) {
                    Some(&t) => t,
                    None => {
                        let t = (words.len() as u32, encoding_bits(distinct.len()));
                        words.extend_from_slice(&distinct);
                        tables.insert(distinct.clone(), t);
                        t
                    }
                };
                let values_offset = words.len() as u32;
                if bits > 0 {
                    index_block(&block, &distinct, &mut indices);
                    pack(&indices, bits, &mut words);
                }
                let header = 2 * (x + gx * (y + gy * z));
                words[header] = table_offset | (bits << 24);
                words[header + 1] = values_offset;
            }
        }
    }
    let mut out = Vec::with_capacity(4 + words.len() * 4);
    out.extend_from_slice(&1u32.to_le_bytes());
    for w in words {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out
}

/// Copies block `b` (z, y, x block indices) of the chunk into `block`, zero-padded past the
/// chunk's edge.
fn fill_block(
    data: &[u32],
    [cz, cy, cx]: [usize; 3],
    [bz, by, bx]: [usize; 3],
    [z, y, x]: [usize; 3],
    block: &mut [u32],
) {
    let (z0, y0, x0) = (z * bz, y * by, x * bx);
    let (nz, ny, nx) = (bz.min(cz - z0), by.min(cy - y0), bx.min(cx - x0));
    if nz < bz || ny < by || nx < bx {
        block.fill(0);
    }
    for dz in 0..nz {
        for dy in 0..ny {
            let src = ((z0 + dz) * cy + y0 + dy) * cx + x0;
            let dst = (dz * by + dy) * bx;
            block[dst..dst + nx].copy_from_slice(&data[src..src + nx]);
        }
    }
}

/// The sorted distinct values of `block` into `out` (masks have few labels per block: a sorted
/// vector with a last-value shortcut beats hashing).
fn sorted_distinct(block: &[u32], out: &mut Vec<u32>) {
    out.clear();
    let mut last = None;
    for &v in block {
        if last == Some(v) {
            continue;
        }
        last = Some(v);
        if let Err(at) = out.binary_search(&v) {
            out.insert(at, v);
        }
    }
}

/// Each voxel's position in the lookup table.
fn index_block(block: &[u32], table: &[u32], out: &mut [u32]) {
    let mut last = (table[0], 0u32);
    for (o, &v) in out.iter_mut().zip(block) {
        if v != last.0 {
            last = (
                v,
                table.binary_search(&v).expect("value in its table") as u32,
            );
        }
        *o = last.1;
    }
}

/// Packs `values` at `bits` each into 32-bit words, first value in the lowest bits; the last
/// word is zero-padded.
fn pack(values: &[u32], bits: u32, words: &mut Vec<u32>) {
    let per_word = (32 / bits) as usize;
    for group in values.chunks(per_word) {
        let mut w = 0u32;
        for (i, &v) in group.iter().enumerate() {
            w |= v << (i as u32 * bits);
        }
        words.push(w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(bytes: &[u8], i: usize) -> u32 {
        u32::from_le_bytes(bytes[i * 4..i * 4 + 4].try_into().unwrap())
    }

    #[test]
    fn bits_follow_the_reference_steps() {
        let got: Vec<u32> = [0, 1, 2, 3, 4, 5, 16, 17, 256, 257]
            .into_iter()
            .map(encoding_bits)
            .collect();
        assert_eq!(got, [0, 0, 1, 2, 2, 4, 4, 8, 8, 16]);
    }

    #[test]
    fn packs_from_the_least_significant_bit() {
        // The reference's docstring example: [1, 0, 2, 2, 1] at 2 bits → 0b01_10_10_00_01.
        let mut w = Vec::new();
        pack(&[1, 0, 2, 2, 1], 2, &mut w);
        assert_eq!(w, [0b01_10_10_00_01]);
    }

    #[test]
    fn encodes_blocks_with_shared_tables_and_padding() {
        // 1 × 2 × 3 chunk in 1 × 2 × 2 blocks: block 0 = [5, 7 / 5, 7], block 1 = [5, pad / 5, pad].
        let data = [5, 7, 5, 5, 7, 5];
        let enc = encode_chunk(&data, [1, 2, 3], [1, 2, 2]);
        assert_eq!(word(&enc, 0), 1, "channel offset");
        // Block 0 header: table right after the two headers (word 4 of the buffer), 1 bit.
        assert_eq!(word(&enc, 1), 4 | (1 << 24));
        assert_eq!(word(&enc, 2), 6);
        // Table [5, 7], then indices 0,1,0,1 packed → 0b1010.
        assert_eq!((word(&enc, 5), word(&enc, 6)), (5, 7));
        assert_eq!(word(&enc, 7), 0b1010);
        // Block 1: values [0, 5] (padding) → a new table at word 7, indices 1,0,1,0 → 0b0101.
        assert_eq!(word(&enc, 3), 7 | (1 << 24));
        assert_eq!(word(&enc, 4), 9);
        assert_eq!((word(&enc, 8), word(&enc, 9)), (0, 5));
        assert_eq!(word(&enc, 10), 0b0101);
        assert_eq!(enc.len(), 11 * 4);
    }

    #[test]
    fn uniform_blocks_reuse_one_table_and_store_no_indices() {
        let data = vec![3u32; 4 * 4 * 4];
        let enc = encode_chunk(&data, [4, 4, 4], [2, 2, 2]);
        // 8 headers (16 words), one table word, nothing else.
        assert_eq!(enc.len(), 4 + 17 * 4);
        for b in 0..8 {
            assert_eq!(word(&enc, 1 + 2 * b), 16, "table offset, 0 bits");
            assert_eq!(word(&enc, 2 + 2 * b), 17, "values offset after the table");
        }
    }
}

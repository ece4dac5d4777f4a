//! A minimal Draco (bitstream 2.2) triangle-mesh encoder for multi-resolution mesh fragments:
//! sequential connectivity with raw indices, one float32 position attribute quantized with an
//! explicit origin and range (as igneous passes them to DracoPy), values stored uncompressed.
//!
//! Why not Google's edgebreaker + rANS path (what DracoPy writes at compression level 7): it is
//! several thousand lines; any Draco decoder (Neuroglancer's, DracoPy's, cloud-volume's) reads
//! the sequential form, and the decoded positions are the same quantized values. The cost is
//! size: about 9 bytes per vertex plus 3–6 per face instead of a few bytes per vertex. Points at
//! equal positions are merged first, as Draco's encoder does, so decoded vertex counts match.

/// Draco's `POSITION` attribute type, `DT_FLOAT32` data type, and the sequential quantization
/// attribute encoder id.
const ATTRIBUTE_POSITION: u8 = 0;
const DT_FLOAT32: u8 = 9;
const SEQUENTIAL_QUANTIZATION_ENCODER: u8 = 2;
const PREDICTION_NONE: i8 = -2;

/// Encodes `vertices` and `faces` with positions quantized at `bits` bits from `origin` over
/// `range` (Draco's `q = floor((v - origin) * (2^bits - 1) / range + 0.5)`).
pub fn encode_mesh(
    vertices: &[[f32; 3]],
    faces: &[[u32; 3]],
    bits: u8,
    origin: [f32; 3],
    range: f32,
) -> Vec<u8> {
    let (vertices, faces) = &merge_equal_positions(vertices, faces);
    let mut out = Vec::new();
    out.extend_from_slice(b"DRACO");
    out.extend_from_slice(&[2, 2]); // bitstream version 2.2
    out.push(1); // triangular mesh
    out.push(0); // sequential encoding
    out.extend_from_slice(&0u16.to_le_bytes()); // flags: no metadata

    // Connectivity: face and point counts, then the indices in the narrowest form.
    let num_points = vertices.len() as u32;
    varint(&mut out, faces.len() as u32);
    varint(&mut out, num_points);
    out.push(1); // indices stored directly
    for f in faces {
        for &i in f {
            if num_points < 256 {
                out.push(i as u8);
            } else if num_points < (1 << 16) {
                out.extend_from_slice(&(i as u16).to_le_bytes());
            } else if num_points < (1 << 21) {
                varint(&mut out, i);
            } else {
                out.extend_from_slice(&i.to_le_bytes());
            }
        }
    }

    // One attributes decoder holding the position attribute.
    out.push(1);
    varint(&mut out, 1);
    out.extend_from_slice(&[ATTRIBUTE_POSITION, DT_FLOAT32, 3, 0]);
    varint(&mut out, 0); // unique id
    out.push(SEQUENTIAL_QUANTIZATION_ENCODER);

    // Portable (quantized) values: no prediction, zig-zag symbols, stored raw.
    let max_q = ((1u64 << bits) - 1) as f32;
    let range = if range > 0.0 { range } else { 1.0 };
    let inverse_delta = max_q / range;
    let symbols: Vec<u32> = vertices
        .iter()
        .flat_map(|v| (0..3).map(move |a| v[a] - origin[a]))
        .map(|d| {
            let q = (d * inverse_delta + 0.5).floor() as i32;
            if q >= 0 {
                (q as u32) << 1
            } else {
                (((-(q + 1)) as u32) << 1) | 1
            }
        })
        .collect();
    out.push(PREDICTION_NONE as u8);
    out.push(0); // not entropy-coded
    let all = symbols.iter().fold(0u32, |m, &s| m | s);
    let num_bytes = if all == 0 {
        1
    } else {
        1 + (31 - all.leading_zeros()) / 8
    };
    out.push(num_bytes as u8);
    for s in &symbols {
        out.extend_from_slice(&s.to_le_bytes()[..num_bytes as usize]);
    }

    // Quantization parameters.
    for o in origin {
        out.extend_from_slice(&o.to_le_bytes());
    }
    out.extend_from_slice(&range.to_le_bytes());
    out.push(bits);
    out
}

/// Draco's unsigned LEB128 varint.
fn varint(out: &mut Vec<u8>, mut v: u32) {
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

/// Points with bit-identical positions merged into their first occurrence, faces renumbered:
/// Draco's encoder does this (`DeduplicateAttributeValues`, `DeduplicatePointIds`) before it
/// encodes, so a mesh concatenated from meshing tasks decodes with one vertex per position, as
/// the reference's fragments do.
fn merge_equal_positions(
    vertices: &[[f32; 3]],
    faces: &[[u32; 3]],
) -> (Vec<[f32; 3]>, Vec<[u32; 3]>) {
    let mut first: std::collections::HashMap<[u32; 3], u32> =
        std::collections::HashMap::with_capacity(vertices.len());
    let mut merged = Vec::with_capacity(vertices.len());
    let new_id: Vec<u32> = vertices
        .iter()
        .map(|v| {
            *first.entry(v.map(f32::to_bits)).or_insert_with(|| {
                merged.push(*v);
                merged.len() as u32 - 1
            })
        })
        .collect();
    let faces = faces
        .iter()
        .map(|f| f.map(|i| new_id[i as usize]))
        .collect();
    (merged, faces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_at_equal_positions_are_merged_before_encoding() {
        // Two triangles sharing an edge, given as 6 points (as two meshing tasks emit them).
        let v = [
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.0, 1.0, 0.0],
        ];
        let enc = encode_mesh(&v, &[[0, 1, 2], [3, 4, 5]], 16, [0.0; 3], 1.0);
        // 2 faces, 4 points, indices renumbered to the first occurrences.
        assert_eq!(&enc[11..20], &[2, 4, 1, 0, 1, 2, 1, 3, 2]);
    }

    #[test]
    fn header_connectivity_and_quantized_values_are_laid_out_in_order() {
        let v = [[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 4.0, 1.0]];
        let enc = encode_mesh(&v, &[[0, 1, 2]], 16, [0.0; 3], 4.0);
        assert_eq!(&enc[..11], b"DRACO\x02\x02\x01\x00\x00\x00");
        // 1 face, 3 points, raw indices as bytes.
        assert_eq!(&enc[11..17], &[1, 3, 1, 0, 1, 2]);
        // Decoder block: 1 decoder, 1 attribute (position, float32, 3, not normalized, id 0,
        // quantization encoder), then prediction none, raw, 3 bytes per symbol.
        assert_eq!(&enc[17..27], &[1, 1, 0, 9, 3, 0, 0, 2, 0xfe, 0]);
        assert_eq!(enc[27], 3);
        // x of vertex 1: 2 / 4 * 65535 = 32767.5 → 32768, zig-zag → 65536.
        let sym = |i: usize| {
            let at = 28 + 3 * i;
            u32::from_le_bytes([enc[at], enc[at + 1], enc[at + 2], 0])
        };
        assert_eq!(sym(3), 65536);
        assert_eq!(sym(7), 65535 * 2);
        assert_eq!(sym(8), 16384 * 2);
        let tail = &enc[28 + 27..];
        assert_eq!(tail.len(), 17);
        assert_eq!(&tail[12..16], &4.0f32.to_le_bytes());
        assert_eq!(tail[16], 16);
    }

    #[test]
    fn varints_are_leb128() {
        let mut out = Vec::new();
        varint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
    }
}

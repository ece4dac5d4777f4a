//! A Draco (bitstream 2.2) triangle-mesh encoder for multi-resolution mesh fragments, one
//! float32 position attribute quantized with an explicit origin and range (as igneous passes
//! them to DracoPy).
//!
//! Fragments are written the way DracoPy writes them at compression level 7: standard
//! edgebreaker connectivity ([`edgebreaker`], on Draco's own corner table in
//! [`corner_table`], so non-manifold vertices are split and isolated ones dropped exactly as
//! Draco's encoder does), positions in the decoder's depth-first order with parallelogram
//! prediction and rANS-coded corrections ([`symbols`], [`rans`]). Below 1000 faces this is
//! what Draco writes, byte for byte on every mesh of `tests/draco_parity.rs`; above, Draco
//! picks its valence variant of edgebreaker, which decodes to the same mesh and came out 5–11%
//! smaller there (not built: the standard variant already takes the bench shard from 4.4× to
//! 1.04× the reference's size). A mesh edgebreaker cannot code (no non-degenerate face) is
//! written in the sequential form with raw indices and values. Points at equal positions are
//! merged first, as Draco's encoder does, so decoded vertex counts match DracoPy's.

mod corner_table;
mod edgebreaker;
mod rans;
mod symbols;

use rans::varint;

/// Draco's `POSITION` attribute type, `DT_FLOAT32` data type, and the sequential quantization
/// attribute encoder id.
const ATTRIBUTE_POSITION: u8 = 0;
const DT_FLOAT32: u8 = 9;
const SEQUENTIAL_QUANTIZATION_ENCODER: u8 = 2;
const PREDICTION_NONE: i8 = -2;
const MESH_PREDICTION_PARALLELOGRAM: u8 = 1;
const PREDICTION_TRANSFORM_WRAP: u8 = 1;
const MESH_SEQUENTIAL_ENCODING: u8 = 0;
const MESH_EDGEBREAKER_ENCODING: u8 = 1;
const MESH_EDGEBREAKER_STANDARD_ENCODING: u8 = 0;

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
    let range = if range > 0.0 { range } else { 1.0 };
    encode_edgebreaker(vertices, faces, bits, origin, range)
        .unwrap_or_else(|| encode_sequential(vertices, faces, bits, origin, range))
}

/// Quantized components of `v` (Draco's `AttributeQuantizationTransform`).
fn quantize(v: &[f32; 3], bits: u8, origin: [f32; 3], range: f32) -> [i32; 3] {
    let inverse_delta = ((1u64 << bits) - 1) as f32 / range;
    [0, 1, 2].map(|a| ((v[a] - origin[a]) * inverse_delta + 0.5).floor() as i32)
}

/// File header (spec "Header"): magic, version 2.2, triangular mesh, `method`, no metadata.
fn header(out: &mut Vec<u8>, method: u8) {
    out.extend_from_slice(b"DRACO");
    out.extend_from_slice(&[2, 2]);
    out.push(1);
    out.push(method);
    out.extend_from_slice(&0u16.to_le_bytes());
}

/// The attribute encoder block for the position attribute (spec "Attributes decoder
/// data"): one attribute, float32 × 3, unique id 0, sequential quantization encoder.
fn position_attribute_header(out: &mut Vec<u8>) {
    varint(out, 1);
    out.extend_from_slice(&[ATTRIBUTE_POSITION, DT_FLOAT32, 3, 0]);
    varint(out, 0);
    out.push(SEQUENTIAL_QUANTIZATION_ENCODER);
}

/// Quantization parameters (spec "Quantization"): origin, range, bits.
fn quantization_parameters(out: &mut Vec<u8>, origin: [f32; 3], range: f32, bits: u8) {
    for o in origin {
        out.extend_from_slice(&o.to_le_bytes());
    }
    out.extend_from_slice(&range.to_le_bytes());
    out.push(bits);
}

/// Zig-zag mapping of signed corrections to symbols (`ConvertSignedIntsToSymbols`).
fn zigzag(q: i32) -> u32 {
    if q >= 0 {
        (q as u32) << 1
    } else {
        (((-(q + 1)) as u32) << 1) | 1
    }
}

/// Edgebreaker connectivity, positions with parallelogram prediction and entropy-coded
/// corrections; `None` when edgebreaker cannot code the mesh.
fn encode_edgebreaker(
    vertices: &[[f32; 3]],
    faces: &[[u32; 3]],
    bits: u8,
    origin: [f32; 3],
    range: f32,
) -> Option<Vec<u8>> {
    let conn = edgebreaker::encode(faces)?;
    let mut out = Vec::new();
    header(&mut out, MESH_EDGEBREAKER_ENCODING);
    out.push(MESH_EDGEBREAKER_STANDARD_ENCODING);
    out.extend_from_slice(&conn.bytes);

    // One attributes decoder: data id -1 (positions), per-vertex, depth-first traversal.
    out.extend_from_slice(&[1, 0xff, 0, 0]);
    position_attribute_header(&mut out);

    let (corners, vertex_index) = edgebreaker::vertex_order(&conn.table, &conn.corner_order);
    let values: Vec<i32> = corners
        .iter()
        .flat_map(|&c| {
            let point = faces[(c / 3) as usize][(c % 3) as usize];
            quantize(&vertices[point as usize], bits, origin, range)
        })
        .collect();
    let (corrections, min, max) =
        edgebreaker::parallelogram_corrections(&conn.table, &corners, &vertex_index, &values);
    out.extend_from_slice(&[MESH_PREDICTION_PARALLELOGRAM, PREDICTION_TRANSFORM_WRAP, 1]);
    let symbols: Vec<u32> = corrections.iter().map(|&c| zigzag(c)).collect();
    symbols::encode_symbols(&symbols, 3, &mut out)?;
    out.extend_from_slice(&min.to_le_bytes());
    out.extend_from_slice(&max.to_le_bytes());
    quantization_parameters(&mut out, origin, range, bits);
    Some(out)
}

/// Sequential connectivity with raw indices, values without prediction, stored raw: the
/// fallback, and the form fragments were written in before edgebreaker (public so that
/// benchmarks can compare the two).
pub fn encode_sequential(
    vertices: &[[f32; 3]],
    faces: &[[u32; 3]],
    bits: u8,
    origin: [f32; 3],
    range: f32,
) -> Vec<u8> {
    let mut out = Vec::new();
    header(&mut out, MESH_SEQUENTIAL_ENCODING);

    // Connectivity: face and point counts, then the indices in the narrowest form.
    let num_points = vertices.len() as u32;
    varint(&mut out, faces.len() as u64);
    varint(&mut out, u64::from(num_points));
    out.push(1); // indices stored directly
    for f in faces {
        for &i in f {
            if num_points < 256 {
                out.push(i as u8);
            } else if num_points < (1 << 16) {
                out.extend_from_slice(&(i as u16).to_le_bytes());
            } else if num_points < (1 << 21) {
                varint(&mut out, u64::from(i));
            } else {
                out.extend_from_slice(&i.to_le_bytes());
            }
        }
    }

    // One attributes decoder holding the position attribute.
    out.push(1);
    position_attribute_header(&mut out);

    // Portable (quantized) values: no prediction, zig-zag symbols, stored raw.
    let symbols: Vec<u32> = vertices
        .iter()
        .flat_map(|v| quantize(v, bits, origin, range))
        .map(zigzag)
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
    quantization_parameters(&mut out, origin, range, bits);
    out
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
        let (v, f) = merge_equal_positions(&v, &[[0, 1, 2], [3, 4, 5]]);
        let enc = encode_sequential(&v, &f, 16, [0.0; 3], 1.0);
        // 2 faces, 4 points, indices renumbered to the first occurrences.
        assert_eq!(&enc[11..20], &[2, 4, 1, 0, 1, 2, 1, 3, 2]);
    }

    #[test]
    fn sequential_header_connectivity_and_quantized_values_are_laid_out_in_order() {
        let v = [[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 4.0, 1.0]];
        let enc = encode_sequential(&v, &[[0, 1, 2]], 16, [0.0; 3], 4.0);
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

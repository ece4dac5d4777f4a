//! Draco's standard edgebreaker connectivity coder (spec "Edgebreaker decoding",
//! `MeshEdgebreakerEncoderImpl`) and the depth-first vertex order with parallelogram
//! prediction that the decoder derives from it for the position attribute (spec
//! "Mesh traversal", "Parallelogram prediction").
//!
//! The traversal is kept step for step with Draco's encoder: the decoder rebuilds vertex
//! ids and the attribute order from the symbols alone, so any deviation would decode to a
//! different mesh, not merely a larger file.

use std::collections::HashMap;

use super::corner_table::{CornerTable, INVALID};
use super::rans::{varint, BitWriter, RAnsBitEncoder};

/// Symbol bit patterns, written LSB first (spec "Edgebreaker symbols").
const TOPOLOGY_C: u32 = 0x0;
const TOPOLOGY_S: u32 = 0x1;
const TOPOLOGY_L: u32 = 0x3;
const TOPOLOGY_R: u32 = 0x5;
const TOPOLOGY_E: u32 = 0x7;
const LEFT_FACE_EDGE: u32 = 0;
const RIGHT_FACE_EDGE: u32 = 1;

/// The encoded connectivity and what the attribute coder needs from it.
pub struct Connectivity {
    /// The connectivity block, from the vertex count to the start-face bits.
    pub bytes: Vec<u8>,
    /// The table the traversal ran on (vertices split where non-manifold).
    pub table: CornerTable,
    /// One corner per face in the order the decoder creates the faces.
    pub corner_order: Vec<u32>,
}

struct SplitEvent {
    split_symbol: u32,
    source_symbol: u32,
    source_edge: u32,
}

struct Encoder<'a> {
    t: &'a CornerTable,
    visited_faces: Vec<bool>,
    visited_vertices: Vec<bool>,
    vertex_hole: Vec<i32>,
    visited_holes: Vec<bool>,
    symbols: Vec<u32>,
    last_symbol: i64,
    num_split_symbols: u32,
    face_split_symbol: HashMap<u32, u32>,
    splits: Vec<SplitEvent>,
    processed: Vec<u32>,
}

/// Encodes the connectivity of `faces`; `None` if it has no non-degenerate face or the
/// traversal meets a configuration it cannot code (the caller then writes sequential).
pub fn encode(faces: &[[u32; 3]]) -> Option<Connectivity> {
    let table = CornerTable::new(faces);
    let num_faces = faces.len() - table.num_degenerated_faces;
    if num_faces == 0 {
        return None;
    }
    let mut e = Encoder {
        t: &table,
        visited_faces: vec![false; faces.len()],
        visited_vertices: vec![false; table.num_vertices()],
        vertex_hole: vec![-1; table.num_vertices()],
        visited_holes: Vec::new(),
        symbols: Vec::new(),
        last_symbol: -1,
        num_split_symbols: 0,
        face_split_symbol: HashMap::new(),
        splits: Vec::new(),
        processed: Vec::with_capacity(faces.len()),
    };
    e.find_holes();
    let mut start_faces = RAnsBitEncoder::default();
    let mut init_corners = Vec::new();
    for c in 0..table.num_corners() as u32 {
        let f = c / 3;
        if e.visited_faces[f as usize] || table.is_degenerated(f) {
            continue;
        }
        let (interior, start) = e.init_face_configuration(f);
        start_faces.encode_bit(interior);
        if interior {
            for k in [start, table.next(start), table.previous(start)] {
                e.visited_vertices[table.vertex(k) as usize] = true;
            }
            e.visited_faces[f as usize] = true;
            // The init face acts as a C face: the traversal starts across its "next" edge.
            init_corners.push(table.next(start));
            let opp = table.opposite(table.next(start));
            if opp != INVALID && !e.visited_faces[(opp / 3) as usize] {
                e.traverse_component(opp)?;
            }
        } else {
            e.encode_hole(table.next(start), true);
            e.traverse_component(start)?;
        }
    }
    // The decoder creates faces in reverse symbol order, then the init faces.
    let mut corner_order = std::mem::take(&mut e.processed);
    corner_order.reverse();
    corner_order.extend_from_slice(&init_corners);

    let mut out = Vec::new();
    varint(
        &mut out,
        (table.num_vertices() - table.num_isolated_vertices) as u64,
    );
    varint(&mut out, num_faces as u64);
    out.push(0); // no attribute connectivity data (positions only)
    varint(&mut out, e.symbols.len() as u64);
    varint(&mut out, u64::from(e.num_split_symbols));
    // Topology split events: delta-coded symbol ids, then one edge bit each.
    varint(&mut out, e.splits.len() as u64);
    if !e.splits.is_empty() {
        let mut last = 0;
        for s in &e.splits {
            varint(&mut out, u64::from(s.source_symbol - last));
            varint(&mut out, u64::from(s.source_symbol - s.split_symbol));
            last = s.source_symbol;
        }
        let mut bits = BitWriter::default();
        for s in &e.splits {
            bits.put(1, s.source_edge);
        }
        out.extend_from_slice(&bits.into_bytes());
    }
    // Traversal symbols, last first, with their byte size; then the start-face bits.
    let mut bits = BitWriter::default();
    for &s in e.symbols.iter().rev() {
        bits.put(if s == TOPOLOGY_C { 1 } else { 3 }, s);
    }
    let bytes = bits.into_bytes();
    varint(&mut out, bytes.len() as u64);
    out.extend_from_slice(&bytes);
    start_faces.end(&mut out);
    drop(e);
    Some(Connectivity {
        bytes: out,
        table,
        corner_order,
    })
}

impl Encoder<'_> {
    fn face_visited(&self, c: u32) -> bool {
        c == INVALID || self.visited_faces[(c / 3) as usize]
    }

    /// Marks every open boundary loop with an id (`FindHoles`).
    fn find_holes(&mut self) {
        let t = self.t;
        for i in 0..t.num_corners() as u32 {
            if t.is_degenerated(i / 3) || t.opposite(i) != INVALID {
                continue;
            }
            let mut v = t.vertex(t.next(i));
            if self.vertex_hole[v as usize] != -1 {
                continue;
            }
            let id = self.visited_holes.len() as i32;
            self.visited_holes.push(false);
            let mut c = i;
            while self.vertex_hole[v as usize] == -1 {
                self.vertex_hole[v as usize] = id;
                c = t.next(c);
                while t.opposite(c) != INVALID {
                    c = t.next(t.opposite(c));
                }
                v = t.vertex(t.next(c));
            }
        }
    }

    /// Whether face `f` is interior, and the corner to start from
    /// (`FindInitFaceConfiguration`).
    fn init_face_configuration(&self, f: u32) -> (bool, u32) {
        let t = self.t;
        let mut c = 3 * f;
        for _ in 0..3 {
            if t.opposite(c) == INVALID {
                return (false, c);
            }
            if self.vertex_hole[t.vertex(c) as usize] != -1 {
                let mut right = c;
                while right != INVALID {
                    c = right;
                    right = t.swing_right(right);
                }
                return (false, t.previous(c));
            }
            c = t.next(c);
        }
        (true, c)
    }

    /// Marks the boundary loop through `start`'s vertex as visited (`EncodeHole`).
    fn encode_hole(&mut self, start: u32, encode_first_vertex: bool) {
        let t = self.t;
        let mut c = t.previous(start);
        while t.opposite(c) != INVALID {
            c = t.next(t.opposite(c));
        }
        let start_vertex = t.vertex(start);
        if encode_first_vertex {
            self.visited_vertices[start_vertex as usize] = true;
        }
        self.visited_holes[self.vertex_hole[start_vertex as usize] as usize] = true;
        let mut act = t.vertex(t.previous(c));
        while act != start_vertex {
            self.visited_vertices[act as usize] = true;
            c = t.next(c);
            while t.opposite(c) != INVALID {
                c = t.next(t.opposite(c));
            }
            act = t.vertex(t.previous(c));
        }
    }

    fn check_split(&mut self, neighbor_face: u32, edge: u32) {
        if let Some(&split_symbol) = self.face_split_symbol.get(&neighbor_face) {
            self.splits.push(SplitEvent {
                split_symbol,
                source_symbol: self.last_symbol as u32,
                source_edge: edge,
            });
        }
    }

    /// The edgebreaker traversal of one component (`EncodeConnectivityFromCorner`).
    fn traverse_component(&mut self, corner: u32) -> Option<()> {
        let t = self.t;
        let mut stack = vec![corner];
        let num_faces = self.visited_faces.len();
        while let Some(&top) = stack.last() {
            let mut c = top;
            if self.face_visited(c) {
                stack.pop();
                continue;
            }
            let mut n = 0;
            while n < num_faces {
                n += 1;
                self.last_symbol += 1;
                let f = c / 3;
                self.visited_faces[f as usize] = true;
                self.processed.push(c);
                let v = t.vertex(c);
                let on_boundary = self.vertex_hole[v as usize] != -1;
                if !self.visited_vertices[v as usize] {
                    self.visited_vertices[v as usize] = true;
                    if !on_boundary {
                        self.symbols.push(TOPOLOGY_C);
                        c = t.right_corner(c);
                        if c == INVALID || self.face_visited(c) {
                            return None; // not a configuration edgebreaker codes
                        }
                        continue;
                    }
                }
                let right = t.right_corner(c);
                let left = t.left_corner(c);
                if self.face_visited(right) {
                    if right != INVALID {
                        self.check_split(right / 3, RIGHT_FACE_EDGE);
                    }
                    if self.face_visited(left) {
                        if left != INVALID {
                            self.check_split(left / 3, LEFT_FACE_EDGE);
                        }
                        self.symbols.push(TOPOLOGY_E);
                        stack.pop();
                        break;
                    }
                    self.symbols.push(TOPOLOGY_R);
                    c = left;
                } else if self.face_visited(left) {
                    if left != INVALID {
                        self.check_split(left / 3, LEFT_FACE_EDGE);
                    }
                    self.symbols.push(TOPOLOGY_L);
                    c = right;
                } else {
                    self.symbols.push(TOPOLOGY_S);
                    self.num_split_symbols += 1;
                    if on_boundary {
                        let hole = self.vertex_hole[v as usize] as usize;
                        if !self.visited_holes[hole] {
                            self.encode_hole(c, false);
                        }
                    }
                    self.face_split_symbol.insert(f, self.last_symbol as u32);
                    *stack.last_mut()? = left;
                    stack.push(right);
                    break;
                }
            }
        }
        Some(())
    }
}

/// The order in which the decoder visits vertices for the position attribute
/// (`DepthFirstTraverser` over `corner_order`): per visited vertex, the corner it was
/// reached at; and for each vertex its index in that order.
pub fn vertex_order(table: &CornerTable, corner_order: &[u32]) -> (Vec<u32>, Vec<i32>) {
    let mut face_visited = vec![false; table.num_corners() / 3];
    let mut vertex_index = vec![-1i32; table.num_vertices()];
    let mut corners = Vec::new();
    let visited = |fv: &Vec<bool>, c: u32| c == INVALID || fv[(c / 3) as usize];
    let mut visit = |v: u32, c: u32, vi: &mut Vec<i32>| {
        if vi[v as usize] == -1 {
            vi[v as usize] = corners.len() as i32;
            corners.push(c);
            true
        } else {
            false
        }
    };
    let mut stack = Vec::new();
    for &start in corner_order {
        if visited(&face_visited, start) {
            continue;
        }
        stack.clear();
        stack.push(start);
        let next = table.next(start);
        visit(table.vertex(next), next, &mut vertex_index);
        let prev = table.previous(start);
        visit(table.vertex(prev), prev, &mut vertex_index);
        while let Some(&top) = stack.last() {
            let mut c = top;
            if visited(&face_visited, c) {
                stack.pop();
                continue;
            }
            loop {
                face_visited[(c / 3) as usize] = true;
                let v = table.vertex(c);
                if vertex_index[v as usize] == -1 {
                    let on_boundary = table.is_on_boundary(v);
                    visit(v, c, &mut vertex_index);
                    if !on_boundary {
                        c = table.right_corner(c);
                        continue;
                    }
                }
                let right = table.right_corner(c);
                let left = table.left_corner(c);
                if visited(&face_visited, right) {
                    if visited(&face_visited, left) {
                        stack.pop();
                        break;
                    }
                    c = left;
                } else if visited(&face_visited, left) {
                    c = right;
                } else {
                    *stack.last_mut().expect("non-empty") = left;
                    stack.push(right);
                    break;
                }
            }
        }
    }
    (corners, vertex_index)
}

/// Parallelogram prediction corrections (spec "MeshPredictionSchemeParallelogram") with
/// Draco's wrap transform, for quantized `values` (3 per vertex, in visiting order).
/// Returns the corrections and the transform's (min, max).
pub fn parallelogram_corrections(
    table: &CornerTable,
    corners: &[u32],
    vertex_index: &[i32],
    values: &[i32],
) -> (Vec<i32>, i32, i32) {
    let min = values.iter().copied().min().unwrap_or(0);
    let max = values.iter().copied().max().unwrap_or(0);
    let max_dif = 1 + (i64::from(max) - i64::from(min)) as i32;
    let mut max_corr = max_dif / 2;
    let min_corr = -max_corr;
    if max_dif & 1 == 0 {
        max_corr -= 1;
    }
    let correct = |orig: i32, pred: i64| {
        let pred = pred.clamp(i64::from(min), i64::from(max)) as i32;
        let mut corr = orig - pred;
        if corr < min_corr {
            corr += max_dif;
        } else if corr > max_corr {
            corr -= max_dif;
        }
        corr
    };
    let mut out = vec![0i32; values.len()];
    for p in (1..corners.len()).rev() {
        let mut pred = None;
        let oc = table.opposite(corners[p]);
        if oc != INVALID {
            let e = |c: u32| vertex_index[table.vertex(c) as usize];
            let (o, n, pr) = (e(oc), e(table.next(oc)), e(table.previous(oc)));
            let p = p as i32;
            if o < p && n < p && pr < p {
                pred = Some([0, 1, 2].map(|k| {
                    i64::from(values[3 * n as usize + k]) + i64::from(values[3 * pr as usize + k])
                        - i64::from(values[3 * o as usize + k])
                }));
            }
        }
        let pred = pred.unwrap_or_else(|| [0, 1, 2].map(|k| i64::from(values[3 * (p - 1) + k])));
        for k in 0..3 {
            out[3 * p + k] = correct(values[3 * p + k], pred[k]);
        }
    }
    for k in 0..3.min(values.len()) {
        out[k] = correct(values[k], 0);
    }
    (out, min, max)
}

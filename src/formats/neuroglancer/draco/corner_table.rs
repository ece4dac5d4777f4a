//! The corner table Draco's edgebreaker encoder builds from the position indices
//! (`CornerTable::Init`): opposite corners found per half-edge, folds in vertex 1-rings
//! broken, non-manifold vertices split into one vertex per fan. The decoded point count
//! follows from these rules, so they are kept step for step.

/// Marks a missing corner or vertex.
pub const INVALID: u32 = u32::MAX;

/// Corners `3f, 3f+1, 3f+2` belong to face `f`.
pub struct CornerTable {
    /// Vertex of each corner (after non-manifold splits).
    pub corner_vertex: Vec<u32>,
    opposite: Vec<u32>,
    /// One corner per vertex; the left-most one on a boundary.
    vertex_corner: Vec<u32>,
    /// Vertices attached to no non-degenerate face.
    pub num_isolated_vertices: usize,
    /// Faces with a repeated vertex.
    pub num_degenerated_faces: usize,
}

impl CornerTable {
    /// Builds the table for `faces` (indices into a vertex list).
    pub fn new(faces: &[[u32; 3]]) -> CornerTable {
        let mut t = CornerTable {
            corner_vertex: faces.iter().flatten().copied().collect(),
            opposite: vec![INVALID; faces.len() * 3],
            vertex_corner: Vec::new(),
            num_isolated_vertices: 0,
            num_degenerated_faces: 0,
        };
        let num_vertices = t.compute_opposite_corners();
        t.break_non_manifold_edges();
        t.compute_vertex_corners(num_vertices);
        t
    }

    /// Number of corners.
    pub fn num_corners(&self) -> usize {
        self.corner_vertex.len()
    }

    /// Number of vertices, including split copies.
    pub fn num_vertices(&self) -> usize {
        self.vertex_corner.len()
    }

    /// The next corner in the face (counter-clockwise).
    pub fn next(&self, c: u32) -> u32 {
        if c == INVALID {
            c
        } else if c % 3 == 2 {
            c - 2
        } else {
            c + 1
        }
    }

    /// The previous corner in the face.
    pub fn previous(&self, c: u32) -> u32 {
        if c == INVALID {
            c
        } else if c.is_multiple_of(3) {
            c + 2
        } else {
            c - 1
        }
    }

    /// The corner across the edge opposite `c`.
    pub fn opposite(&self, c: u32) -> u32 {
        if c == INVALID {
            c
        } else {
            self.opposite[c as usize]
        }
    }

    /// The vertex at `c`.
    pub fn vertex(&self, c: u32) -> u32 {
        if c == INVALID {
            c
        } else {
            self.corner_vertex[c as usize]
        }
    }

    /// Same vertex, next face clockwise.
    pub fn swing_right(&self, c: u32) -> u32 {
        self.previous(self.opposite(self.previous(c)))
    }

    /// Same vertex, next face counter-clockwise.
    pub fn swing_left(&self, c: u32) -> u32 {
        self.next(self.opposite(self.next(c)))
    }

    /// The corner opposite `c`'s right edge.
    pub fn right_corner(&self, c: u32) -> u32 {
        self.opposite(self.next(c))
    }

    /// The corner opposite `c`'s left edge.
    pub fn left_corner(&self, c: u32) -> u32 {
        self.opposite(self.previous(c))
    }

    /// Whether face `f` repeats a vertex.
    pub fn is_degenerated(&self, f: u32) -> bool {
        let v = |k: u32| self.corner_vertex[(3 * f + k) as usize];
        v(0) == v(1) || v(0) == v(2) || v(1) == v(2)
    }

    /// Whether the 1-ring of `v` is open.
    pub fn is_on_boundary(&self, v: u32) -> bool {
        self.swing_left(self.vertex_corner[v as usize]) == INVALID
    }

    /// Pairs each half-edge with its reverse twin (`ComputeOppositeCorners`); mirrored
    /// faces are not joined. Returns the number of input vertices.
    fn compute_opposite_corners(&mut self) -> usize {
        let n = self.num_corners();
        let num_vertices = self
            .corner_vertex
            .iter()
            .map(|&v| v as usize + 1)
            .max()
            .unwrap_or(0);
        let mut count = vec![0usize; num_vertices];
        for &v in &self.corner_vertex {
            count[v as usize] += 1;
        }
        let mut offsets = vec![0usize; num_vertices];
        let mut acc = 0;
        for (o, c) in offsets.iter_mut().zip(&count) {
            *o = acc;
            acc += c;
        }
        // (sink vertex, corner opposite the half-edge) slots per source vertex.
        let mut edges = vec![(INVALID, INVALID); n];
        let mut c = 0usize;
        while c < n {
            let cc = c as u32;
            let tip = self.corner_vertex[c];
            let source = self.vertex(self.next(cc));
            let sink = self.vertex(self.previous(cc));
            if c.is_multiple_of(3) && (tip == source || tip == sink || source == sink) {
                self.num_degenerated_faces += 1;
                c += 3;
                continue;
            }
            let mut opposite = INVALID;
            let k = count[sink as usize];
            let mut off = offsets[sink as usize];
            for i in 0..k {
                let (other, edge_corner) = edges[off];
                if other == INVALID {
                    break;
                }
                if other == source {
                    if tip == self.corner_vertex[edge_corner as usize] {
                        off += 1;
                        continue;
                    }
                    opposite = edge_corner;
                    for _ in i + 1..k {
                        edges[off] = edges[off + 1];
                        if edges[off].0 == INVALID {
                            break;
                        }
                        off += 1;
                    }
                    edges[off].0 = INVALID;
                    break;
                }
                off += 1;
            }
            if opposite == INVALID {
                let start = offsets[source as usize];
                for slot in &mut edges[start..start + count[source as usize]] {
                    if slot.0 == INVALID {
                        *slot = (sink, cc);
                        break;
                    }
                }
            } else {
                self.opposite[c] = opposite;
                self.opposite[opposite as usize] = cc;
            }
            c += 1;
        }
        num_vertices
    }

    /// Disconnects faces on edges a vertex's 1-ring passes twice (`BreakNonManifoldEdges`).
    fn break_non_manifold_edges(&mut self) {
        let n = self.num_corners() as u32;
        let mut visited = vec![false; n as usize];
        let mut sinks: Vec<(u32, u32)> = Vec::new();
        loop {
            let mut updated = false;
            for c in 0..n {
                if visited[c as usize] {
                    continue;
                }
                sinks.clear();
                let first = c;
                let mut current = c;
                loop {
                    let next = self.swing_left(current);
                    if next == first || next == INVALID || visited[next as usize] {
                        break;
                    }
                    current = next;
                }
                let first = current;
                loop {
                    visited[current as usize] = true;
                    let sink_c = self.next(current);
                    let sink_v = self.corner_vertex[sink_c as usize];
                    let edge_corner = self.previous(current);
                    let mut vertex_updated = false;
                    for &(v, other_edge_corner) in &sinks {
                        if v == sink_v {
                            let opp_edge_corner = self.opposite(edge_corner);
                            if opp_edge_corner == other_edge_corner {
                                continue;
                            }
                            let opp_other = self.opposite(other_edge_corner);
                            if opp_edge_corner != INVALID {
                                self.opposite[opp_edge_corner as usize] = INVALID;
                            }
                            if opp_other != INVALID {
                                self.opposite[opp_other as usize] = INVALID;
                            }
                            self.opposite[edge_corner as usize] = INVALID;
                            self.opposite[other_edge_corner as usize] = INVALID;
                            vertex_updated = true;
                            break;
                        }
                    }
                    if vertex_updated {
                        updated = true;
                        break;
                    }
                    sinks.push((self.corner_vertex[self.previous(current) as usize], sink_c));
                    current = self.swing_right(current);
                    if current == first || current == INVALID {
                        break;
                    }
                }
            }
            if !updated {
                break;
            }
        }
    }

    /// Assigns each vertex a corner, giving every further fan of a vertex a new vertex
    /// (`ComputeVertexCorners`), and counts vertices left without faces.
    fn compute_vertex_corners(&mut self, mut num_vertices: usize) {
        self.vertex_corner = vec![INVALID; num_vertices];
        let mut visited_vertices = vec![false; num_vertices];
        let mut visited_corners = vec![false; self.num_corners()];
        for f in 0..(self.num_corners() / 3) as u32 {
            if self.is_degenerated(f) {
                continue;
            }
            for k in 0..3 {
                let c = 3 * f + k;
                if visited_corners[c as usize] {
                    continue;
                }
                let mut v = self.corner_vertex[c as usize];
                let mut non_manifold = false;
                if visited_vertices[v as usize] {
                    self.vertex_corner.push(INVALID);
                    visited_vertices.push(false);
                    v = num_vertices as u32;
                    num_vertices += 1;
                    non_manifold = true;
                }
                visited_vertices[v as usize] = true;
                let mut act = c;
                while act != INVALID {
                    visited_corners[act as usize] = true;
                    self.vertex_corner[v as usize] = act;
                    if non_manifold {
                        self.corner_vertex[act as usize] = v;
                    }
                    act = self.swing_left(act);
                    if act == c {
                        break;
                    }
                }
                if act == INVALID {
                    act = self.swing_right(c);
                    while act != INVALID {
                        visited_corners[act as usize] = true;
                        if non_manifold {
                            self.corner_vertex[act as usize] = v;
                        }
                        act = self.swing_right(act);
                    }
                }
            }
        }
        self.num_isolated_vertices = visited_vertices.iter().filter(|v| !**v).count();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_tetrahedron_has_all_opposites_and_no_boundary() {
        let t = CornerTable::new(&[[0, 1, 2], [0, 3, 1], [1, 3, 2], [2, 3, 0]]);
        assert!((0..12).all(|c| t.opposite(c) != INVALID));
        assert_eq!(t.num_vertices(), 4);
        assert!((0..4).all(|v| !t.is_on_boundary(v)));
    }

    #[test]
    fn two_fans_meeting_at_a_vertex_split_it() {
        // Two triangles sharing only vertex 0 (a bow tie).
        let t = CornerTable::new(&[[0, 1, 2], [0, 3, 4]]);
        assert_eq!(t.num_vertices(), 6);
        assert_eq!(t.num_isolated_vertices, 0);
    }

    #[test]
    fn degenerate_faces_are_counted_and_their_lone_vertices_isolated() {
        let t = CornerTable::new(&[[0, 1, 2], [3, 3, 4]]);
        assert_eq!(t.num_degenerated_faces, 1);
        assert_eq!(t.num_isolated_vertices, 2);
    }
}

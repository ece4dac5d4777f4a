//! Fast Quadric Mesh Simplification as pyfqmr 0.5.0 runs it (its `Simplify.simplify_mesh`, the
//! adaptation of Sven Forstmann's quadric edge-collapse simplifier), reproduced step for step
//! so that the coarser mesh LODs equal the reference's: the same double-precision arithmetic
//! in the same order, the same triangle scan order, the same threshold schedule
//! `alpha·(iteration + K)^aggressiveness`, the same periodic re-indexing (`update_rate`), the
//! same border rule and the same final compaction (used vertices in their original order).
//!
//! The reference calls it through igneous's `generate_lods` (segmentation meshes and glb
//! meshes) and cryoet-data-portal-neuroglancer's `decimate_mesh` (oriented meshes), always
//! with `aggressiveness=5.5`, `preserve_border=True` and pyfqmr's defaults otherwise
//! ([`Params::reference`]). pyfqmr takes float64 vertices and int32 faces and returns float64
//! vertices; igneous wraps the result in a cloud-volume `Mesh`, which narrows the vertices to
//! float32 ([`simplify_mesh`]).
//!
//! pyfqmr's lossless mode is not reproduced: the reference never uses it.

use super::trimesh::TriMesh;

/// The parameters of pyfqmr's `simplify_mesh` (lossless mode aside).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Stop once at most this many triangles are left.
    pub target_count: usize,
    /// Every this many iterations the triangle list is compacted and re-indexed.
    pub update_rate: u32,
    /// The exponent of the threshold schedule.
    pub aggressiveness: f64,
    /// At most this many passes over the triangles.
    pub max_iterations: u32,
    /// The scale of the threshold schedule.
    pub alpha: f64,
    /// The offset of the threshold schedule.
    pub k: u32,
    /// Never move a vertex on an open border (else only edges between two border vertices or
    /// two inner vertices collapse).
    pub preserve_border: bool,
}

impl Params {
    /// What the reference passes (igneous's `generate_lods`; the portal's oriented meshes pass
    /// the same aggressiveness): `aggressiveness=5.5`, `preserve_border=True`, and pyfqmr's
    /// defaults `update_rate=5`, `max_iterations=100`, `alpha=1e-9`, `K=3`.
    pub fn reference(target_count: usize) -> Self {
        Self {
            target_count,
            update_rate: 5,
            aggressiveness: 5.5,
            max_iterations: 100,
            alpha: 1e-9,
            k: 3,
            preserve_border: true,
        }
    }
}

/// The target of LOD `lod` of a mesh of `faces` faces in igneous's `generate_lods`:
/// `max(int(faces / 2**lod), 4)`.
pub fn lod_target(faces: usize, lod: u32) -> usize {
    faces.checked_shr(lod).unwrap_or(0).max(4)
}

/// `mesh` simplified as the reference does for one LOD: float32 vertices widened to float64
/// (exact), [`simplify`] with [`Params::reference`], vertices narrowed back to float32 (as
/// cloud-volume's `Mesh` stores them).
///
/// # Panics
/// If a face names a vertex that does not exist.
pub fn simplify_mesh(mesh: &TriMesh, target_count: usize) -> TriMesh {
    let vertices: Vec<[f64; 3]> = mesh.vertices.iter().map(|v| v.map(f64::from)).collect();
    let (vertices, faces) = simplify(&vertices, &mesh.faces, &Params::reference(target_count));
    TriMesh {
        vertices: vertices.iter().map(|v| v.map(|c| c as f32)).collect(),
        faces,
    }
}

/// pyfqmr's `setMesh` + `simplify_mesh` + `getMesh` on float64 vertices: the simplified
/// vertices (only those a face uses, in their original order) and faces (survivors in their
/// original order, collapsed corners renamed).
///
/// # Panics
/// If a face names a vertex that does not exist.
pub fn simplify(
    vertices: &[[f64; 3]],
    faces: &[[u32; 3]],
    params: &Params,
) -> (Vec<[f64; 3]>, Vec<[u32; 3]>) {
    let n = vertices.len();
    assert!(
        faces.iter().flatten().all(|&i| (i as usize) < n),
        "a face names a vertex past the {n} vertices"
    );
    let mut s = State {
        vertices: vertices
            .iter()
            .map(|&p| Vertex {
                p,
                tstart: 0,
                tcount: 0,
                q: [0.0; 10],
                border: false,
            })
            .collect(),
        triangles: faces
            .iter()
            .map(|f| Triangle {
                v: f.map(|i| i as usize),
                err: [0.0; 4],
                deleted: false,
                dirty: false,
                n: [0.0; 3],
            })
            .collect(),
        refs: Vec::new(),
    };
    s.run(params);
    s.compact()
}

/// A symmetric 4×4 quadric, upper triangle row by row:
/// `[a11 a12 a13 a14 a22 a23 a24 a33 a34 a44]`.
type Quadric = [f64; 10];

struct Vertex {
    p: [f64; 3],
    /// This vertex's slice of `refs`: the triangles using it.
    tstart: usize,
    tcount: usize,
    q: Quadric,
    border: bool,
}

struct Triangle {
    v: [usize; 3],
    /// The error of collapsing edges (v0,v1), (v1,v2), (v2,v0), and their minimum.
    err: [f64; 4],
    deleted: bool,
    /// Touched by a collapse in this pass: not collapsed again until the next one.
    dirty: bool,
    /// The unit normal at the start; flips are judged against it for the whole run.
    n: [f64; 3],
}

#[derive(Clone, Copy, Default)]
struct Ref {
    tid: usize,
    /// Which corner of the triangle the vertex is.
    tvertex: usize,
}

struct State {
    vertices: Vec<Vertex>,
    triangles: Vec<Triangle>,
    refs: Vec<Ref>,
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// Divides by the length (no guard: a zero vector becomes NaN, as in the original).
fn normalize(a: [f64; 3]) -> [f64; 3] {
    let len = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
    [a[0] / len, a[1] / len, a[2] / len]
}

/// The quadric of the plane `a·x + b·y + c·z + d = 0`.
fn plane(a: f64, b: f64, c: f64, d: f64) -> Quadric {
    [
        a * a,
        a * b,
        a * c,
        a * d,
        b * b,
        b * c,
        b * d,
        c * c,
        c * d,
        d * d,
    ]
}

fn add(a: &Quadric, b: &Quadric) -> Quadric {
    std::array::from_fn(|i| a[i] + b[i])
}

/// The 3×3 determinant of the quadric's entries at the given indices (the six products summed
/// in the original's order, which decides the last bits).
#[allow(clippy::too_many_arguments)]
fn det3(
    m: &Quadric,
    a11: usize,
    a12: usize,
    a13: usize,
    a21: usize,
    a22: usize,
    a23: usize,
    a31: usize,
    a32: usize,
    a33: usize,
) -> f64 {
    m[a11] * m[a22] * m[a33] + m[a13] * m[a21] * m[a32] + m[a12] * m[a23] * m[a31]
        - m[a13] * m[a22] * m[a31]
        - m[a11] * m[a23] * m[a32]
        - m[a12] * m[a21] * m[a33]
}

/// `[x y z 1] Q [x y z 1]ᵀ`, term by term in the original's order.
fn vertex_error(q: &Quadric, x: f64, y: f64, z: f64) -> f64 {
    q[0] * x * x
        + 2.0 * q[1] * x * y
        + 2.0 * q[2] * x * z
        + 2.0 * q[3] * x
        + q[4] * y * y
        + 2.0 * q[5] * y * z
        + 2.0 * q[6] * y
        + q[7] * z * z
        + 2.0 * q[8] * z
        + q[9]
}

impl State {
    /// The passes of the simplifier (non-lossless mode).
    fn run(&mut self, params: &Params) {
        let triangle_count = self.triangles.len() as i64;
        let target = params.target_count as i64;
        let update_rate = params.update_rate.max(1);
        let mut deleted_triangles: i64 = 0;
        // Per-ref "this triangle disappears with the collapse" flags of the two endpoints.
        let mut deleted0: Vec<bool> = Vec::new();
        let mut deleted1: Vec<bool> = Vec::new();
        for iteration in 0..params.max_iterations {
            if triangle_count - deleted_triangles <= target {
                break;
            }
            if iteration % update_rate == 0 {
                self.update_mesh(iteration);
            }
            for t in &mut self.triangles {
                t.dirty = false;
            }
            // The error an edge may add grows each pass, so cheap collapses go first.
            let threshold = params.alpha
                * (f64::from(iteration) + f64::from(params.k)).powf(params.aggressiveness);
            for i in 0..self.triangles.len() {
                {
                    let t = &self.triangles[i];
                    // Written as the original compares: a NaN error is not skipped here.
                    if t.err[3] > threshold || t.deleted || t.dirty {
                        continue;
                    }
                }
                for j in 0..3 {
                    // A NaN error never collapses.
                    let below = self.triangles[i].err[j] < threshold;
                    if !below {
                        continue;
                    }
                    let i0 = self.triangles[i].v[j];
                    let i1 = self.triangles[i].v[(j + 1) % 3];
                    let (b0, b1) = (self.vertices[i0].border, self.vertices[i1].border);
                    if params.preserve_border {
                        if b0 || b1 {
                            continue;
                        }
                    } else if b0 != b1 {
                        continue;
                    }
                    let (_, p) = self.calculate_error(i0, i1);
                    deleted0.resize(self.vertices[i0].tcount, false);
                    deleted1.resize(self.vertices[i1].tcount, false);
                    if self.flipped(p, i0, i1, &mut deleted0)
                        || self.flipped(p, i1, i0, &mut deleted1)
                    {
                        continue;
                    }
                    // Collapse i1 into i0 at p.
                    let q = add(&self.vertices[i1].q, &self.vertices[i0].q);
                    self.vertices[i0].p = p;
                    self.vertices[i0].q = q;
                    let tstart = self.refs.len();
                    self.update_triangles(i0, i0, &deleted0, &mut deleted_triangles);
                    self.update_triangles(i0, i1, &deleted1, &mut deleted_triangles);
                    let tcount = self.refs.len() - tstart;
                    let v0 = &mut self.vertices[i0];
                    if tcount <= v0.tcount {
                        // Reuse i0's old slice of refs when the new list fits in it.
                        self.refs.copy_within(tstart..tstart + tcount, v0.tstart);
                    } else {
                        v0.tstart = tstart;
                    }
                    v0.tcount = tcount;
                    break;
                }
                if triangle_count - deleted_triangles <= target {
                    break;
                }
            }
        }
    }

    /// Whether moving `i0` to `p` (collapsing edge i0–i1) would turn one of i0's other
    /// triangles nearly degenerate or flip it against its original normal; marks in `deleted`
    /// the triangles that share the edge (they vanish with it).
    fn flipped(&self, p: [f64; 3], i0: usize, i1: usize, deleted: &mut [bool]) -> bool {
        let v0 = &self.vertices[i0];
        for (k, gone) in deleted[..v0.tcount].iter_mut().enumerate() {
            let r = self.refs[v0.tstart + k];
            let t = &self.triangles[r.tid];
            if t.deleted {
                continue;
            }
            let id1 = t.v[(r.tvertex + 1) % 3];
            let id2 = t.v[(r.tvertex + 2) % 3];
            if id1 == i1 || id2 == i1 {
                *gone = true;
                continue;
            }
            let d1 = normalize(sub(self.vertices[id1].p, p));
            let d2 = normalize(sub(self.vertices[id2].p, p));
            if dot(d1, d2).abs() > 0.999 {
                return true;
            }
            let n = normalize(cross(d1, d2));
            *gone = false;
            if dot(n, t.n) < 0.2 {
                return true;
            }
        }
        false
    }

    /// After a collapse into `i0`: drops the triangles of `vid` flagged in `deleted`, renames
    /// `vid` to `i0` in the others, recomputes their edge errors and appends their refs.
    fn update_triangles(
        &mut self,
        i0: usize,
        vid: usize,
        deleted: &[bool],
        deleted_triangles: &mut i64,
    ) {
        let (tstart, tcount) = (self.vertices[vid].tstart, self.vertices[vid].tcount);
        for (k, &gone) in deleted[..tcount].iter().enumerate() {
            let r = self.refs[tstart + k];
            if self.triangles[r.tid].deleted {
                continue;
            }
            if gone {
                self.triangles[r.tid].deleted = true;
                *deleted_triangles += 1;
                continue;
            }
            let v = {
                let t = &mut self.triangles[r.tid];
                t.v[r.tvertex] = i0;
                t.dirty = true;
                t.v
            };
            let e0 = self.calculate_error(v[0], v[1]).0;
            let e1 = self.calculate_error(v[1], v[2]).0;
            let e2 = self.calculate_error(v[2], v[0]).0;
            // f64::min, like C's fmin, ignores a NaN operand.
            self.triangles[r.tid].err = [e0, e1, e2, e0.min(e1.min(e2))];
            self.refs.push(r);
        }
    }

    /// Rebuilds the vertex → triangle refs (dropping deleted triangles after the first pass);
    /// on the first pass also finds the border vertices, the vertex quadrics, the triangle
    /// normals and the edge errors.
    fn update_mesh(&mut self, iteration: u32) {
        if iteration > 0 {
            self.triangles.retain(|t| !t.deleted);
        }
        for v in &mut self.vertices {
            v.tstart = 0;
            v.tcount = 0;
        }
        for t in &self.triangles {
            for &i in &t.v {
                self.vertices[i].tcount += 1;
            }
        }
        let mut tstart = 0;
        for v in &mut self.vertices {
            v.tstart = tstart;
            tstart += v.tcount;
            v.tcount = 0;
        }
        self.refs.clear();
        self.refs.resize(self.triangles.len() * 3, Ref::default());
        for (i, t) in self.triangles.iter().enumerate() {
            for (j, &vi) in t.v.iter().enumerate() {
                let v = &mut self.vertices[vi];
                self.refs[v.tstart + v.tcount] = Ref { tid: i, tvertex: j };
                v.tcount += 1;
            }
        }
        if iteration != 0 {
            return;
        }
        // Border: a neighbour that appears in exactly one of a vertex's triangles lies on an
        // edge only one triangle has (counted per corner reference, as the original does, so
        // degenerate triangles count the same way).
        for v in &mut self.vertices {
            v.border = false;
        }
        let mut counts: Vec<(usize, u32)> = Vec::new();
        for vi in 0..self.vertices.len() {
            counts.clear();
            let (ts, tc) = (self.vertices[vi].tstart, self.vertices[vi].tcount);
            for r in &self.refs[ts..ts + tc] {
                for &id in &self.triangles[r.tid].v {
                    match counts.iter_mut().find(|(v, _)| *v == id) {
                        Some((_, c)) => *c += 1,
                        None => counts.push((id, 1)),
                    }
                }
            }
            for &(id, c) in &counts {
                if c == 1 {
                    self.vertices[id].border = true;
                }
            }
        }
        // Quadrics: each vertex sums the planes of its triangles.
        for v in &mut self.vertices {
            v.q = [0.0; 10];
        }
        for t in &mut self.triangles {
            let p = t.v.map(|i| self.vertices[i].p);
            let n = normalize(cross(sub(p[1], p[0]), sub(p[2], p[0])));
            t.n = n;
            let pl = plane(n[0], n[1], n[2], -dot(n, p[0]));
            for &i in &t.v {
                let q = add(&self.vertices[i].q, &pl);
                self.vertices[i].q = q;
            }
        }
        for i in 0..self.triangles.len() {
            let v = self.triangles[i].v;
            let e: [f64; 3] = std::array::from_fn(|j| self.calculate_error(v[j], v[(j + 1) % 3]).0);
            self.triangles[i].err = [e[0], e[1], e[2], e[0].min(e[1].min(e[2]))];
        }
    }

    /// The error of collapsing edge a–b and where the merged vertex goes: the quadric's
    /// minimiser when its 3×3 part is invertible and the edge is not between two border
    /// vertices, else the best of the two ends and the midpoint (later candidates win ties).
    fn calculate_error(&self, a: usize, b: usize) -> (f64, [f64; 3]) {
        let (va, vb) = (&self.vertices[a], &self.vertices[b]);
        let q = add(&va.q, &vb.q);
        let border = va.border && vb.border;
        let det = det3(&q, 0, 1, 2, 1, 4, 5, 2, 5, 7);
        // `det != 0.0` is true for NaN too, as in the original.
        if det != 0.0 && !border {
            let p = [
                -1.0 / det * det3(&q, 1, 2, 3, 4, 5, 6, 5, 7, 8),
                1.0 / det * det3(&q, 0, 2, 3, 1, 5, 6, 2, 7, 8),
                -1.0 / det * det3(&q, 0, 1, 3, 1, 4, 6, 2, 5, 8),
            ];
            (vertex_error(&q, p[0], p[1], p[2]), p)
        } else {
            let p1 = va.p;
            let p2 = vb.p;
            let p3 = [
                (p1[0] + p2[0]) / 2.0,
                (p1[1] + p2[1]) / 2.0,
                (p1[2] + p2[2]) / 2.0,
            ];
            let e1 = vertex_error(&q, p1[0], p1[1], p1[2]);
            let e2 = vertex_error(&q, p2[0], p2[1], p2[2]);
            let e3 = vertex_error(&q, p3[0], p3[1], p3[2]);
            let error = e1.min(e2.min(e3));
            // All three NaN leaves the original's position undefined; keep the first end.
            let mut p = p1;
            if e2 == error {
                p = p2;
            }
            if e3 == error {
                p = p3;
            }
            (error, p)
        }
    }

    /// The surviving triangles in order and the vertices they use in index order, renumbered.
    fn compact(self) -> (Vec<[f64; 3]>, Vec<[u32; 3]>) {
        let mut used = vec![false; self.vertices.len()];
        let kept: Vec<&Triangle> = self.triangles.iter().filter(|t| !t.deleted).collect();
        for t in &kept {
            for &i in &t.v {
                used[i] = true;
            }
        }
        let mut new_id = vec![0u32; self.vertices.len()];
        let mut vertices = Vec::new();
        for (i, v) in self.vertices.iter().enumerate() {
            if used[i] {
                new_id[i] = vertices.len() as u32;
                vertices.push(v.p);
            }
        }
        let faces = kept.iter().map(|t| t.v.map(|i| new_id[i])).collect();
        (vertices, faces)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// trimesh's `creation.box()`: the unit cube centred on the origin, 12 faces.
    pub(crate) fn unit_box() -> TriMesh {
        let vertices = (0..8)
            .map(|i| [(i >> 2) & 1, (i >> 1) & 1, i & 1].map(|b| b as f32 - 0.5))
            .collect();
        let faces = vec![
            [1, 3, 0],
            [4, 1, 0],
            [0, 3, 2],
            [2, 4, 0],
            [1, 7, 3],
            [5, 1, 4],
            [5, 7, 1],
            [3, 7, 2],
            [6, 4, 2],
            [2, 7, 6],
            [6, 5, 4],
            [7, 5, 6],
        ];
        TriMesh { vertices, faces }
    }

    /// An `n`×`n` flat sheet of cell side 0.5, two triangles a cell: open on all four sides.
    fn sheet(n: u32) -> TriMesh {
        let mut m = TriMesh::default();
        for y in 0..=n {
            for x in 0..=n {
                m.vertices.push([x as f32 * 0.5, y as f32 * 0.5, 0.0]);
            }
        }
        let id = |x: u32, y: u32| y * (n + 1) + x;
        for y in 0..n {
            for x in 0..n {
                m.faces.push([id(x, y), id(x + 1, y), id(x + 1, y + 1)]);
                m.faces.push([id(x, y), id(x + 1, y + 1), id(x, y + 1)]);
            }
        }
        m
    }

    /// A closed UV sphere of radius `r`: `rings` bands of `segments` quads, fans at the poles.
    fn sphere(r: f64, rings: u32, segments: u32) -> TriMesh {
        let mut m = TriMesh::default();
        m.vertices.push([0.0, 0.0, r as f32]);
        for i in 1..rings {
            let th = std::f64::consts::PI * f64::from(i) / f64::from(rings);
            for j in 0..segments {
                let ph = std::f64::consts::TAU * f64::from(j) / f64::from(segments);
                m.vertices.push(
                    [th.sin() * ph.cos(), th.sin() * ph.sin(), th.cos()].map(|c| (c * r) as f32),
                );
            }
        }
        m.vertices.push([0.0, 0.0, -r as f32]);
        let south = m.vertices.len() as u32 - 1;
        let at = |i: u32, j: u32| 1 + (i - 1) * segments + j % segments;
        for j in 0..segments {
            m.faces.push([0, at(1, j), at(1, j + 1)]);
            m.faces
                .push([south, at(rings - 1, j + 1), at(rings - 1, j)]);
        }
        for i in 1..rings - 1 {
            for j in 0..segments {
                m.faces.push([at(i, j), at(i + 1, j), at(i + 1, j + 1)]);
                m.faces.push([at(i, j), at(i + 1, j + 1), at(i, j + 1)]);
            }
        }
        m
    }

    /// Faces name existing, distinct vertices and every vertex is used.
    fn assert_well_formed(m: &TriMesh) {
        let mut used = vec![false; m.vertices.len()];
        for f in &m.faces {
            assert!(
                f[0] != f[1] && f[1] != f[2] && f[0] != f[2],
                "degenerate {f:?}"
            );
            for &i in f {
                used[i as usize] = true;
            }
        }
        assert!(used.iter().all(|&u| u), "an unused vertex is left");
    }

    #[test]
    fn the_box_decimates_to_pyfqmrs_vertices() {
        // pyfqmr 0.5.0, `simplify_mesh(target_count=6, aggressiveness=5.5,
        // preserve_border=True)` on trimesh's box.
        let (v, f) = simplify(
            &unit_box()
                .vertices
                .iter()
                .map(|v| v.map(f64::from))
                .collect::<Vec<_>>(),
            &unit_box().faces,
            &Params::reference(6),
        );
        let sixth = 1.0 / 6.0;
        assert_eq!(
            v,
            vec![
                [-0.5, -sixth, 0.5],
                [-0.5, 0.5, -0.5],
                [-sixth, -0.5, -0.5],
                [0.5, -0.5, 0.5],
                [0.5, 0.5, sixth],
            ]
        );
        assert_eq!(
            f,
            vec![
                [2, 0, 1],
                [3, 0, 2],
                [3, 4, 0],
                [0, 4, 1],
                [4, 2, 1],
                [4, 3, 2]
            ]
        );
        let four = simplify_mesh(&unit_box(), 4);
        assert_eq!(four.faces, vec![[2, 0, 1], [3, 0, 2], [0, 3, 1], [3, 2, 1]]);
        assert_eq!(four.vertices[3], [0.5, 0.25, 0.25]);
    }

    #[test]
    fn a_closed_mesh_reaches_its_target_without_degenerate_faces() {
        let s = sphere(10.0, 24, 48);
        let faces = s.faces.len();
        for lod in 1..=3 {
            let target = lod_target(faces, lod);
            let out = simplify_mesh(&s, target);
            // Each collapse removes two faces of a closed manifold, so the count lands on the
            // target or one below it.
            assert!(
                out.faces.len() <= target && out.faces.len() + 2 > target,
                "LOD {lod}: {} faces for target {target}",
                out.faces.len()
            );
            assert_well_formed(&out);
            // Euler: a closed genus-0 mesh keeps V - F/2 = 2.
            assert_eq!(out.vertices.len() * 2, out.faces.len() + 4);
            // Quadric placement keeps vertices near the sphere.
            for v in &out.vertices {
                let r = v.iter().map(|&c| f64::from(c).powi(2)).sum::<f64>().sqrt();
                assert!((r - 10.0).abs() < 0.5, "vertex {v:?} at radius {r}");
            }
        }
    }

    #[test]
    fn preserve_border_keeps_every_border_vertex_in_place() {
        let m = sheet(16);
        let on_border = |v: &[f32; 3]| v[0] == 0.0 || v[1] == 0.0 || v[0] == 8.0 || v[1] == 8.0;
        let border: Vec<[f32; 3]> = m.vertices.iter().copied().filter(on_border).collect();
        assert_eq!(border.len(), 64);
        let out = simplify_mesh(&m, 4);
        assert_well_formed(&out);
        // pyfqmr stops at 64 faces: the 64 border vertices and one inner vertex remain.
        assert_eq!(out.faces.len(), 64);
        assert_eq!(out.vertices.len(), 65);
        for b in &border {
            assert!(out.vertices.contains(b), "border vertex {b:?} moved");
        }
        // Without the flag, border edges collapse along the border too and the target is met.
        let vertices: Vec<[f64; 3]> = m.vertices.iter().map(|v| v.map(f64::from)).collect();
        let loose = Params {
            preserve_border: false,
            ..Params::reference(4)
        };
        let (v, f) = simplify(&vertices, &m.faces, &loose);
        assert_eq!((v.len(), f.len()), (5, 4));
    }

    #[test]
    fn a_reached_target_only_drops_unused_vertices() {
        let mut m = unit_box();
        m.vertices.push([9.0, 9.0, 9.0]);
        let out = simplify_mesh(&m, 12);
        assert_eq!(out, unit_box());
        assert_eq!(simplify_mesh(&TriMesh::default(), 4), TriMesh::default());
    }

    #[test]
    fn lod_targets_halve_down_to_four() {
        assert_eq!(lod_target(1000, 1), 500);
        assert_eq!(lod_target(1001, 2), 250);
        assert_eq!(lod_target(12, 2), 4);
        assert_eq!(lod_target(12, 40), 4);
    }
}

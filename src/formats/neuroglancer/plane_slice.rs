//! trimesh's plane slicing (`slice_mesh_plane` without caps, trimesh 4.10.1), which igneous's
//! multi-resolution mesher cuts its octree cells with, and the vertex merge trimesh does when
//! it builds a mesh (`Trimesh(..., process=True)`). Reproduced in trimesh's float64
//! arithmetic and order, because the cells' triangles are whatever this cutting leaves: each
//! cut face gets its own new vertices (neighbours do not share them), vertices within 1e-8 of
//! the plane count as on it, and the two triangles of a cut quad are chosen by the position of
//! the vertex that is cut off.

use super::trimesh::TriMesh;
use std::collections::HashMap;

/// trimesh's `tol.merge`: distances to the plane at most this count as on the plane.
const ON_PLANE: f64 = 1e-8;

/// trimesh's `tol.zero` (100 × float64 resolution): faces whose cross product is no longer are
/// degenerate.
const ZERO_NORM: f64 = 1e-13;

/// trimesh's `merge_vertices` compares positions rounded to this many decimals (`tol.merge`).
const MERGE_SCALE: f64 = 1e8;

/// A triangle mesh in float64, as trimesh holds one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mesh64 {
    /// Vertex positions `[x, y, z]`.
    pub vertices: Vec<[f64; 3]>,
    /// Triangles, each three 0-based indices into `vertices`.
    pub faces: Vec<[u32; 3]>,
}

impl Mesh64 {
    /// `trimesh.Trimesh(vertices, faces)` with its default processing: the float32 positions
    /// widened, then vertices merged (`merge_vertices`: the vertices faces use, grouped by
    /// position rounded to 8 decimals, each group kept at its first vertex, in the order of
    /// first occurrence; unused vertices dropped).
    pub fn processed(mesh: &TriMesh) -> Mesh64 {
        let vertices: Vec<[f64; 3]> = mesh.vertices.iter().map(|v| v.map(f64::from)).collect();
        if vertices.is_empty() {
            return Mesh64 {
                vertices,
                faces: mesh.faces.clone(),
            };
        }
        let mut referenced = vec![mesh.faces.is_empty(); vertices.len()];
        for f in &mesh.faces {
            for &i in f {
                referenced[i as usize] = true;
            }
        }
        let mut group: HashMap<[i64; 3], u32> = HashMap::new();
        let mut kept = Vec::new();
        let mut new_id = vec![0u32; vertices.len()];
        for (i, v) in vertices.iter().enumerate() {
            if !referenced[i] {
                continue;
            }
            let key = v.map(|c| (c * MERGE_SCALE).round_ties_even() as i64);
            new_id[i] = *group.entry(key).or_insert_with(|| {
                kept.push(*v);
                (kept.len() - 1) as u32
            });
        }
        Mesh64 {
            vertices: kept,
            faces: mesh
                .faces
                .iter()
                .map(|f| f.map(|i| new_id[i as usize]))
                .collect(),
        }
    }

    /// The mesh in float32 (cloud-volume's `Mesh` casts positions so).
    pub fn to_f32(&self) -> TriMesh {
        TriMesh {
            vertices: self.vertices.iter().map(|v| v.map(|c| c as f32)).collect(),
            faces: self.faces.clone(),
        }
    }

    /// Appends `other`, offsetting its indices (trimesh's `util.concatenate`: no merging).
    pub fn append(&mut self, other: &Mesh64) {
        let base = self.vertices.len() as u32;
        self.vertices.extend_from_slice(&other.vertices);
        self.faces
            .extend(other.faces.iter().map(|f| f.map(|i| i + base)));
    }
}

/// The part of `mesh` on the positive side of the plane through `coordinate[axis] = t` with
/// normal `sign · e_axis` (`sign` is 1 or -1): trimesh's `slice_faces_plane`.
///
/// Faces with every vertex inside or on the plane are kept as they are, except faces lying
/// in the plane, which are kept when their normal points against the plane's (and are
/// non-degenerate). A face with one vertex outside becomes a quad (two triangles), one with
/// one vertex inside becomes a triangle; their new vertices lie on the cut edges. Result
/// order: kept faces, the quads' first triangles, their second triangles, the cut triangles;
/// vertices are the used ones in index order (old ones, then the new ones as created).
pub fn slice_plane(mesh: &Mesh64, axis: usize, sign: f64, t: f64) -> Mesh64 {
    if mesh.vertices.is_empty() {
        return mesh.clone();
    }
    // 1 outside, -1 inside (the normal's side), 0 on the plane.
    let side: Vec<i8> = mesh
        .vertices
        .iter()
        .map(|v| {
            let d = (v[axis] - t) * sign;
            if d < -ON_PLANE {
                1
            } else if d > ON_PLANE {
                -1
            } else {
                0
            }
        })
        .collect();
    let mut kept: Vec<[u32; 3]> = Vec::new();
    // Per quad: the face and the index of its outside vertex; per triangle: the face and the
    // index of its inside vertex.
    let mut quads: Vec<([u32; 3], usize)> = Vec::new();
    let mut tris: Vec<([u32; 3], usize)> = Vec::new();
    for f in &mesh.faces {
        let s = f.map(|i| side[i as usize]);
        let sum: i8 = s.iter().sum();
        let asum: i8 = s.iter().map(|x| x.abs()).sum();
        if asum == 0 {
            if faces_against(mesh, f, axis, sign) {
                kept.push(*f);
            }
        } else if sum == -asum {
            kept.push(*f);
        } else if asum >= 2 && sum.abs() <= 1 {
            if sum < 0 {
                let out = s.iter().position(|&x| x == 1).expect("one outside vertex");
                quads.push((*f, out));
            } else {
                let inn = s.iter().position(|&x| x == -1).expect("one inside vertex");
                tris.push((*f, inn));
            }
        }
    }
    let mut vertices = mesh.vertices.clone();
    // The crossing of the face's edge from corner `k` to corner `k + 1`.
    let crossing = |f: &[u32; 3], k: usize| -> [f64; 3] {
        let o = mesh.vertices[f[k] as usize];
        let e = mesh.vertices[f[(k + 1) % 3] as usize];
        let d = [0, 1, 2].map(|a| e[a] - o[a]);
        let denom = if d[axis] == 0.0 { 1e-12 } else { d[axis] };
        let dist = (t - o[axis]) / denom;
        [0, 1, 2].map(|a| dist * d[a] + o[a])
    };
    let mut faces = kept;
    let first_quad_vertex = vertices.len() as u32;
    let mut second: Vec<[u32; 3]> = Vec::with_capacity(quads.len());
    for (q, (f, out)) in quads.iter().enumerate() {
        let (a, b) = (
            first_quad_vertex + 2 * q as u32,
            first_quad_vertex + 2 * q as u32 + 1,
        );
        vertices.push(crossing(f, (out + 2) % 3));
        vertices.push(crossing(f, *out));
        let (n1, n2) = (f[(out + 1) % 3], f[(out + 2) % 3]);
        faces.push([n1, n2, a]);
        second.push([a, b, n1]);
    }
    faces.extend(second);
    for (f, inn) in &tris {
        let c = vertices.len() as u32;
        vertices.push(crossing(f, *inn));
        vertices.push(crossing(f, (inn + 2) % 3));
        faces.push([f[*inn], c, c + 1]);
    }
    // Used vertices in index order.
    let mut new_id = vec![u32::MAX; vertices.len()];
    for f in &faces {
        for &i in f {
            new_id[i as usize] = 0;
        }
    }
    let mut out_vertices = Vec::new();
    for (i, id) in new_id.iter_mut().enumerate() {
        if *id == 0 {
            *id = out_vertices.len() as u32;
            out_vertices.push(vertices[i]);
        }
    }
    Mesh64 {
        vertices: out_vertices,
        faces: faces
            .iter()
            .map(|f| f.map(|i| new_id[i as usize]))
            .collect(),
    }
}

/// Whether a face lying in the plane is kept: its cross product `(v1 - v0) × (v2 - v1)` is
/// longer than `tol.zero` and points against the plane's normal.
fn faces_against(mesh: &Mesh64, f: &[u32; 3], axis: usize, sign: f64) -> bool {
    let [p0, p1, p2] = f.map(|i| mesh.vertices[i as usize]);
    let a = [0, 1, 2].map(|k| p1[k] - p0[k]);
    let b = [0, 1, 2].map(|k| p2[k] - p1[k]);
    let cross = [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ];
    let norm = (cross[0] * cross[0] + cross[1] * cross[1] + cross[2] * cross[2]).sqrt();
    if norm <= ZERO_NORM {
        return false;
    }
    cross[axis] * (1.0 / norm) * sign < 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two triangles of the unit square in z = 0, normal +z.
    fn square() -> Mesh64 {
        Mesh64 {
            vertices: vec![
                [0.0, 0.0, 0.0],
                [2.0, 0.0, 0.0],
                [2.0, 2.0, 0.0],
                [0.0, 2.0, 0.0],
            ],
            faces: vec![[0, 1, 2], [0, 2, 3]],
        }
    }

    #[test]
    fn a_cut_face_gets_its_own_vertices_and_quads_split_at_the_cut_off_corner() {
        // Keep x >= 0.5: face 0 loses corner 0 (a quad), face 1 keeps only corner 2 (a
        // triangle).
        let s = slice_plane(&square(), 0, 1.0, 0.5);
        assert_eq!(s.faces.len(), 3);
        let tri = |k: usize| s.faces[k].map(|i| s.vertices[i as usize]);
        // Quad [v1, v2, A, B] with A on edge v2 → v0 and B on edge v0 → v1.
        assert_eq!(tri(0), [[2.0, 0.0, 0.0], [2.0, 2.0, 0.0], [0.5, 0.5, 0.0]]);
        assert_eq!(tri(1), [[0.5, 0.5, 0.0], [0.5, 0.0, 0.0], [2.0, 0.0, 0.0]]);
        // Triangle [v2, C, D]: C on edge v2 → v3, D on edge v0 → v2. D is at the same place
        // as A but is a vertex of its own.
        assert_eq!(tri(2), [[2.0, 2.0, 0.0], [0.5, 2.0, 0.0], [0.5, 0.5, 0.0]]);
        assert_eq!(s.vertices.len(), 6);
    }

    #[test]
    fn faces_in_the_plane_go_to_the_side_their_normal_faces_away_from() {
        // Normal +z: kept by the plane with normal -z, dropped by the one with normal +z.
        assert_eq!(slice_plane(&square(), 2, -1.0, 0.0).faces.len(), 2);
        assert!(slice_plane(&square(), 2, 1.0, 0.0).faces.is_empty());
        // Within 1e-8 counts as on the plane.
        assert_eq!(slice_plane(&square(), 2, -1.0, 5e-9).faces.len(), 2);
    }

    #[test]
    fn processing_merges_equal_positions_and_drops_unused_vertices() {
        let m = TriMesh {
            vertices: vec![
                [9.0, 9.0, 9.0],
                [0.0, 0.0, 0.0],
                [1.0, 0.0, 0.0],
                [0.0, 1.0, 0.0],
                [1.0, 0.0, 0.0],
            ],
            faces: vec![[1, 2, 3], [4, 3, 1]],
        };
        let p = Mesh64::processed(&m);
        assert_eq!(
            p.vertices,
            vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
        );
        assert_eq!(p.faces, vec![[0, 1, 2], [1, 2, 0]]);
    }
}

//! Multi-label marching cubes over a label volume: per label, the boundary between its voxels
//! and every other voxel, with vertices at the midpoints of lattice edges between voxel centres,
//! closed at the volume's faces (voxels outside the volume count as background).
//!
//! Why the case table is derived rather than transcribed: each cube's polygons are traced from
//! the segments on its six faces, and an ambiguous face (two diagonal inside corners) always
//! separates the inside corners. Neighbouring cubes decide a shared face identically, so every
//! label's surface is closed (the classic 256-case tables are not, on ambiguous faces).
//!
//! The segmentation meshes no longer use this mesher: zmesh (igneous's `MeshTask`) uses the
//! classic table, whose triangles differ on ambiguous cubes, so `zmesh_simplify` carries its
//! own zmesh-exact marching cubes. `TriMesh` here is the mesh type all encoders share.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The twelve cube edges as (corner, axis): corner bits are x = 1, y = 2, z = 4; the edge runs
/// from the corner along `axis` (0 = x, 1 = y, 2 = z).
const EDGES: [(usize, usize); 12] = [
    (0, 0),
    (2, 0),
    (4, 0),
    (6, 0),
    (0, 1),
    (1, 1),
    (4, 1),
    (5, 1),
    (0, 2),
    (1, 2),
    (2, 2),
    (3, 2),
];

/// Index of the edge joining corners `a` and `b` (adjacent).
fn edge_between(a: usize, b: usize) -> usize {
    let (lo, diff) = (a.min(b), a ^ b);
    let axis = diff.trailing_zeros() as usize;
    EDGES
        .iter()
        .position(|&(c, ax)| c == lo && ax == axis)
        .expect("adjacent corners share an edge")
}

/// The six faces' corners, counter-clockwise seen from outside the cube.
fn faces() -> [[usize; 4]; 6] {
    let corner = |x: usize, y: usize, z: usize| x | (y << 1) | (z << 2);
    [
        // x = 0 (normal -x) and x = 1 (normal +x)
        [
            corner(0, 0, 0),
            corner(0, 0, 1),
            corner(0, 1, 1),
            corner(0, 1, 0),
        ],
        [
            corner(1, 0, 0),
            corner(1, 1, 0),
            corner(1, 1, 1),
            corner(1, 0, 1),
        ],
        // y = 0 (normal -y) and y = 1 (normal +y)
        [
            corner(0, 0, 0),
            corner(1, 0, 0),
            corner(1, 0, 1),
            corner(0, 0, 1),
        ],
        [
            corner(0, 1, 0),
            corner(0, 1, 1),
            corner(1, 1, 1),
            corner(1, 1, 0),
        ],
        // z = 0 (normal -z) and z = 1 (normal +z)
        [
            corner(0, 0, 0),
            corner(0, 1, 0),
            corner(1, 1, 0),
            corner(1, 0, 0),
        ],
        [
            corner(0, 0, 1),
            corner(1, 0, 1),
            corner(1, 1, 1),
            corner(0, 1, 1),
        ],
    ]
}

/// Per inside-corner mask, the surface polygons as loops of edge indices, ordered so that the
/// polygon's normal (right-hand rule) points out of the label.
fn case_table() -> &'static Vec<Vec<Vec<u8>>> {
    static TABLE: OnceLock<Vec<Vec<Vec<u8>>>> = OnceLock::new();
    TABLE.get_or_init(|| (0..256).map(case_loops).collect())
}

fn case_loops(mask: usize) -> Vec<Vec<u8>> {
    let inside = |c: usize| mask & (1 << c) != 0;
    // next[edge] = the edge where the segment starting at `edge` ends.
    let mut next = [usize::MAX; 12];
    for face in faces() {
        for i in 0..4 {
            let (a, b) = (face[i], face[(i + 1) % 4]);
            if !inside(a) || inside(b) {
                continue;
            }
            // Walk back from `a` through the inside run to the edge entering it.
            let mut j = i;
            loop {
                let prev = (j + 3) % 4;
                if !inside(face[prev]) {
                    next[edge_between(a, b)] = edge_between(face[prev], face[j]);
                    break;
                }
                j = prev;
            }
        }
    }
    let mut seen = [false; 12];
    let mut loops = Vec::new();
    for start in 0..12 {
        if next[start] == usize::MAX || seen[start] {
            continue;
        }
        let mut lp = Vec::new();
        let mut e = start;
        while !seen[e] {
            seen[e] = true;
            lp.push(e as u8);
            e = next[e];
        }
        // Traced loops run clockwise around the outward normal; reverse them.
        lp.reverse();
        loops.push(lp);
    }
    loops
}

/// A triangle mesh in f32 coordinates (x, y, z).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TriMesh {
    /// Vertex positions `[x, y, z]` (the mesher emits voxel-centre units).
    pub vertices: Vec<[f32; 3]>,
    /// Triangles, each three 0-based indices into `vertices`.
    pub faces: Vec<[u32; 3]>,
}

impl TriMesh {
    /// Appends `other`, offsetting its indices (no welding, as cloud-volume's concatenate).
    pub fn append(&mut self, other: &TriMesh) {
        let base = self.vertices.len() as u32;
        self.vertices.extend_from_slice(&other.vertices);
        self.faces.extend(
            other
                .faces
                .iter()
                .map(|f| [f[0] + base, f[1] + base, f[2] + base]),
        );
    }

    /// Component-wise minimum and maximum of the vertices (`None` when empty).
    pub fn bounds(&self) -> Option<([f32; 3], [f32; 3])> {
        let first = *self.vertices.first()?;
        let mut lo = first;
        let mut hi = first;
        for v in &self.vertices {
            for a in 0..3 {
                lo[a] = lo[a].min(v[a]);
                hi[a] = hi[a].max(v[a]);
            }
        }
        Some((lo, hi))
    }
}

/// Accumulates the per-label surfaces of a volume meshed region by region, welding vertices
/// across regions by their lattice edge.
#[derive(Default)]
pub struct Mesher {
    labels: HashMap<u32, LabelSurface>,
}

#[derive(Default)]
struct LabelSurface {
    mesh: TriMesh,
    by_edge: HashMap<u64, u32>,
}

/// A region of the label volume with a one-voxel apron: `data` covers voxels
/// `origin - 1 .. origin + size` on each axis (z, y, x C order), voxels outside the volume are 0.
pub struct Region<'a> {
    /// Labels of the region and its apron, `size + 1` voxels per axis, z, y, x C order.
    pub data: &'a [u32],
    /// First cube's lower corner + 1 (voxel coordinates), x, y, z.
    pub origin: [i64; 3],
    /// Cubes along x, y, z; `data` is `size + 1` voxels per axis.
    pub size: [usize; 3],
}

impl Mesher {
    /// Meshes every cube whose lower corner is `origin - 1 + i` (`0 <= i < size`); vertex
    /// coordinates are voxel-centre units (voxel `v`'s centre at `v`).
    ///
    /// # Panics
    /// A region beyond 2²⁰ − 2 voxels on an axis (vertex keys hold 20 bits per axis).
    pub fn mesh_region(&mut self, region: &Region) {
        for a in 0..3 {
            assert!(
                region.origin[a] >= 0 && region.origin[a] + region.size[a] as i64 <= (1 << 20) - 2,
                "volume within the mesher's 2^20 voxel range"
            );
        }
        let table = case_table();
        let [nx, ny, nz] = region.size;
        let (sx, sy) = (nx + 1, ny + 1);
        let at = |x: usize, y: usize, z: usize| region.data[(z * sy + y) * sx + x];
        let mut labels = [0u32; 8];
        for z in 0..nz {
            for y in 0..ny {
                for x in 0..nx {
                    for (c, l) in labels.iter_mut().enumerate() {
                        *l = at(x + (c & 1), y + ((c >> 1) & 1), z + (c >> 2));
                    }
                    if labels.iter().all(|&l| l == labels[0]) {
                        continue;
                    }
                    let lower = [
                        region.origin[0] - 1 + x as i64,
                        region.origin[1] - 1 + y as i64,
                        region.origin[2] - 1 + z as i64,
                    ];
                    for (i, &label) in labels.iter().enumerate() {
                        if label == 0 || labels[..i].contains(&label) {
                            continue;
                        }
                        let mask = labels
                            .iter()
                            .enumerate()
                            .filter(|(_, &l)| l == label)
                            .fold(0usize, |m, (c, _)| m | (1 << c));
                        let surface = self.labels.entry(label).or_default();
                        for lp in &table[mask] {
                            let ids: Vec<u32> = lp
                                .iter()
                                .map(|&e| surface.vertex(lower, e as usize))
                                .collect();
                            for k in 1..ids.len() - 1 {
                                surface.mesh.faces.push([ids[0], ids[k], ids[k + 1]]);
                            }
                        }
                    }
                }
            }
        }
    }

    /// The labels meshed so far and their surfaces, sorted by label.
    pub fn into_meshes(self) -> Vec<(u32, TriMesh)> {
        let mut out: Vec<(u32, TriMesh)> =
            self.labels.into_iter().map(|(l, s)| (l, s.mesh)).collect();
        out.sort_by_key(|(l, _)| *l);
        out
    }
}

impl LabelSurface {
    fn vertex(&mut self, lower: [i64; 3], edge: usize) -> u32 {
        let (corner, axis) = EDGES[edge];
        let p = [
            lower[0] + (corner & 1) as i64,
            lower[1] + ((corner >> 1) & 1) as i64,
            lower[2] + ((corner >> 2) & 1) as i64,
        ];
        // Key: the edge's lower corner (shifted so the -1 apron is non-negative; 20 bits per
        // axis, checked by the caller) and its axis.
        let key = (((p[2] + 1) as u64) << 42)
            | (((p[1] + 1) as u64) << 22)
            | (((p[0] + 1) as u64) << 2)
            | axis as u64;
        let mesh = &mut self.mesh;
        *self.by_edge.entry(key).or_insert_with(|| {
            let mut v = [p[0] as f32, p[1] as f32, p[2] as f32];
            v[axis] += 0.5;
            mesh.vertices.push(v);
            (mesh.vertices.len() - 1) as u32
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Meshes a whole volume (z, y, x) at once, with the zero apron.
    fn mesh_volume(data: &[u32], [nz, ny, nx]: [usize; 3]) -> Vec<(u32, TriMesh)> {
        let (px, py, pz) = (nx + 2, ny + 2, nz + 2);
        let mut padded = vec![0u32; px * py * pz];
        for z in 0..nz {
            for y in 0..ny {
                for x in 0..nx {
                    padded[((z + 1) * py + y + 1) * px + x + 1] = data[(z * ny + y) * nx + x];
                }
            }
        }
        let mut m = Mesher::default();
        m.mesh_region(&Region {
            data: &padded,
            origin: [0, 0, 0],
            size: [nx + 1, ny + 1, nz + 1],
        });
        m.into_meshes()
    }

    /// Every edge used by exactly two faces, in opposite directions (closed, oriented).
    fn assert_closed(mesh: &TriMesh) {
        let mut edges: HashMap<(u32, u32), i32> = HashMap::new();
        for f in &mesh.faces {
            for k in 0..3 {
                *edges.entry((f[k], f[(k + 1) % 3])).or_default() += 1;
            }
        }
        for (&(a, b), &n) in &edges {
            assert_eq!(n, 1, "directed edge {a}->{b} used once");
            assert_eq!(edges.get(&(b, a)), Some(&1), "edge {a}-{b} has its twin");
        }
    }

    fn signed_volume(mesh: &TriMesh) -> f64 {
        mesh.faces
            .iter()
            .map(|f| {
                let [a, b, c] = f.map(|i| mesh.vertices[i as usize].map(f64::from));
                (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0])
                    + a[2] * (b[0] * c[1] - b[1] * c[0]))
                    / 6.0
            })
            .sum()
    }

    #[test]
    fn every_case_closes_its_loops() {
        for mask in 0..256usize {
            let loops = case_loops(mask);
            let n_cross = (0..12)
                .filter(|&e| {
                    let (c, ax) = EDGES[e];
                    (mask >> c & 1) != (mask >> (c | 1 << ax) & 1)
                })
                .count();
            let used: usize = loops.iter().map(Vec::len).sum();
            assert_eq!(used, n_cross, "case {mask:#010b} uses each crossing once");
            assert!(loops.iter().all(|l| l.len() >= 3));
        }
    }

    #[test]
    fn a_single_voxel_is_a_closed_octahedron_around_its_centre() {
        let meshes = mesh_volume(&[7], [1, 1, 1]);
        assert_eq!(meshes.len(), 1);
        let (label, mesh) = &meshes[0];
        assert_eq!(*label, 7);
        assert_eq!((mesh.vertices.len(), mesh.faces.len()), (6, 8));
        assert_closed(mesh);
        let (lo, hi) = mesh.bounds().unwrap();
        assert_eq!((lo, hi), ([-0.5; 3], [0.5; 3]));
        assert!(signed_volume(mesh) > 0.0, "outward normals");
    }

    #[test]
    fn touching_labels_and_diagonal_voxels_give_closed_surfaces() {
        // Two labels side by side, plus two voxels of label 3 touching only along an edge
        // (the ambiguous face case).
        let (nz, ny, nx) = (3, 4, 5);
        let mut data = vec![0u32; nz * ny * nx];
        let idx = |z: usize, y: usize, x: usize| (z * ny + y) * nx + x;
        for z in 0..3 {
            for y in 0..2 {
                data[idx(z, y, 0)] = 1;
                data[idx(z, y, 1)] = 1;
                data[idx(z, y, 2)] = 2;
            }
        }
        data[idx(0, 3, 3)] = 3;
        data[idx(1, 2, 4)] = 3;
        let meshes = mesh_volume(&data, [nz, ny, nx]);
        assert_eq!(meshes.iter().map(|m| m.0).collect::<Vec<_>>(), [1, 2, 3]);
        for (_, m) in &meshes {
            assert_closed(m);
            assert!(signed_volume(m) > 0.0);
        }
        // Label 1 spans voxels x 0..=1, y 0..=1, z 0..=2: its surface lies half a voxel out.
        let (lo, hi) = meshes[0].1.bounds().unwrap();
        assert_eq!((lo, hi), ([-0.5, -0.5, -0.5], [1.5, 1.5, 2.5]));
    }

    #[test]
    fn regions_weld_into_the_same_mesh_as_one_pass() {
        let (nz, ny, nx) = (4, 4, 6);
        let data: Vec<u32> = (0..nz * ny * nx)
            .map(|i| u32::from((i * 7919) % 5 < 2))
            .collect();
        let whole = mesh_volume(&data, [nz, ny, nx]);
        // Two regions split at x = 3 (cube lower corners -1..=2 and 3..=5).
        let voxel = |x: i64, y: i64, z: i64| -> u32 {
            if x < 0 || y < 0 || z < 0 || x >= nx as i64 || y >= ny as i64 || z >= nz as i64 {
                0
            } else {
                data[(z as usize * ny + y as usize) * nx + x as usize]
            }
        };
        let mut m = Mesher::default();
        for (x0, x1) in [(0i64, 4i64), (4, 7)] {
            let size = [(x1 - x0) as usize, ny + 1, nz + 1];
            let mut buf = Vec::new();
            for z in 0..=size[2] as i64 {
                for y in 0..=size[1] as i64 {
                    for x in 0..=size[0] as i64 {
                        buf.push(voxel(x0 - 1 + x, y - 1, z - 1));
                    }
                }
            }
            m.mesh_region(&Region {
                data: &buf,
                origin: [x0, 0, 0],
                size,
            });
        }
        let split = m.into_meshes();
        assert_eq!(split.len(), whole.len());
        for ((_, a), (_, b)) in split.iter().zip(&whole) {
            assert_eq!(a.vertices.len(), b.vertices.len());
            assert_eq!(a.faces.len(), b.faces.len());
            assert_closed(a);
        }
    }
}

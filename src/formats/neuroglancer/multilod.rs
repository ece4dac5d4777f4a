//! Multi-resolution (`neuroglancer_multilod_draco`) mesh data for one segment: the octree of
//! LOD fragments, their Draco encoding in "stored model" coordinates, and the manifest, as
//! igneous's `process_mesh` / `create_octree_level_from_mesh` and cloud-volume's
//! `MultiLevelPrecomputedMeshManifest` lay them out.

use super::draco;
use super::fqmr;
use super::plane_slice::{slice_plane, Mesh64};
use super::trimesh::TriMesh;

/// Bits of the quantized vertex positions (the reference's `vertex_quantization_bits`).
pub const VERTEX_QUANTIZATION_BITS: u8 = 16;

/// The manifest (`.index` content) of a multi-LOD mesh.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Extent `[x, y, z]` of one LOD-0 octree cell, in stored-model coordinates.
    pub chunk_shape: [f32; 3],
    /// Lower corner `[x, y, z]` of the octree grid, in stored-model coordinates.
    pub grid_origin: [f32; 3],
    /// Per LOD: the fragments' octree positions (Z-curve order) and encoded sizes.
    pub fragment_positions: Vec<Vec<[u32; 3]>>,
    /// Per LOD: each fragment's encoded size in bytes, in the order of `fragment_positions`.
    pub fragment_sizes: Vec<Vec<u32>>,
}

impl Manifest {
    /// The binary manifest: chunk shape, grid origin, LOD count, LOD scales `2^i`, zero vertex
    /// offsets, fragment counts, then per LOD the positions (all x, all y, all z) and sizes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let n = self.fragment_positions.len();
        let mut out = Vec::new();
        let f32s = |out: &mut Vec<u8>, v: &[f32]| {
            for x in v {
                out.extend_from_slice(&x.to_le_bytes());
            }
        };
        f32s(&mut out, &self.chunk_shape);
        f32s(&mut out, &self.grid_origin);
        out.extend_from_slice(&(n as u32).to_le_bytes());
        let scales: Vec<f32> = (0..n).map(|i| (1u64 << i) as f32).collect();
        f32s(&mut out, &scales);
        f32s(&mut out, &vec![0.0; 3 * n]);
        for p in &self.fragment_positions {
            out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        }
        for (positions, sizes) in self.fragment_positions.iter().zip(&self.fragment_sizes) {
            for axis in 0..3 {
                for p in positions {
                    out.extend_from_slice(&p[axis].to_le_bytes());
                }
            }
            for s in sizes {
                out.extend_from_slice(&s.to_le_bytes());
            }
        }
        out
    }
}

/// The reference's `determine_chunk_size_for_lod`: power-of-two chunks reaching `max_lod`
/// unless a side would drop below `min_chunk_dim` (then fewer LODs). Returns the actual chunk
/// size `ceil(shape / 2^(lods-1))`, the smallest chunk size, and the LOD count; `None` where
/// the reference fails (a zero side makes its LOD count NaN).
pub fn chunk_size_for_lod(
    mesh_shape: [i64; 3],
    max_lod: u32,
    min_chunk_dim: i64,
) -> Option<([i64; 3], [i64; 3], u32)> {
    let shape = mesh_shape.map(|s| s as f64);
    let chunk_for = |lod: i64| shape.map(|s| (s / 2f64.powi(lod as i32)).log2().floor().exp2());
    let min_log2 = |v: [f64; 3]| v.iter().map(|x| x.log2()).fold(f64::INFINITY, f64::min);
    let mut chunk = chunk_for(i64::from(max_lod));
    if chunk.iter().any(|&c| c < min_chunk_dim as f64) {
        let lod = min_log2(shape.map(|s| s / min_chunk_dim as f64)).max(0.0) as i64;
        chunk = chunk_for(lod);
    }
    let ratios = [0, 1, 2].map(|a| shape[a] / chunk[a]);
    // numpy's min propagates NaN (0 / 0), and the reference's int(NaN) raises.
    if ratios.iter().any(|r| r.is_nan()) {
        return None;
    }
    let ratio = min_log2(ratios);
    let lods = ratio.max(0.0) as u32 + 1;
    let actual = shape.map(|s| (s / 2f64.powi(lods as i32 - 1)).ceil() as i64);
    Some((actual, chunk.map(|c| c as i64), lods))
}

/// The grid origin (floor of the minimum) and shape (ceil of the maximum minus the origin)
/// spanning all LODs (igneous's `determine_mesh_shape_from_lods`).
pub fn mesh_shape_from_lods(lods: &[TriMesh]) -> Option<([f64; 3], [i64; 3])> {
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for m in lods {
        let (l, h) = m.bounds()?;
        for a in 0..3 {
            lo[a] = lo[a].min(f64::from(l[a]));
            hi[a] = hi[a].max(f64::from(h[a]));
        }
    }
    let origin = lo.map(f64::floor);
    let shape = [0, 1, 2].map(|a| (hi[a].ceil() - origin[a]) as i64);
    Some((origin, shape))
}

/// igneous's `process_mesh` for one segment whose vertices are in stored-model units (voxels):
/// the LOD count from `min_chunk_size` (at most `num_lod` + 1 levels), LODs by pyfqmr's
/// decimation to half the faces per level ([`generate_lods`]), then [`encode_lods`]. `None` when the mesh is flat or empty
/// (igneous skips those segments).
pub fn process_mesh(
    mesh: &TriMesh,
    num_lod: u32,
    min_chunk_size: [i64; 3],
) -> Option<(Manifest, Vec<u8>)> {
    let (lo, hi) = mesh.bounds()?;
    let origin = lo.map(|v| f64::from(v).floor());
    let shape = [0, 1, 2].map(|a| (f64::from(hi[a]) - origin[a]) as i64);
    if shape.contains(&0) {
        return None;
    }
    let max_lod = (0..3)
        .map(|a| (shape[a] as f64 / min_chunk_size[a] as f64).log2())
        .fold(f64::INFINITY, f64::min)
        .max(0.0) as u32;
    let max_lod = max_lod.min(num_lod);
    let lods = generate_lods(mesh, max_lod);
    encode_lods(&lods)
}

/// igneous's `generate_lods`: LOD 0 is the mesh; LOD `i` is LOD 0 simplified by pyfqmr's
/// quadric decimation ([`fqmr`], the reference's parameters) to `max(faces / 2^i, 4)` faces.
pub fn generate_lods(mesh: &TriMesh, max_lod: u32) -> Vec<TriMesh> {
    let mut lods = vec![mesh.clone()];
    for i in 1..=max_lod {
        let target = fqmr::lod_target(mesh.faces.len(), i);
        lods.push(fqmr::simplify_mesh(mesh, target));
    }
    lods
}

/// How the grid origin is subtracted from a fragment's float32 vertices before they are
/// scaled to stored-model units (cloud-volume's `to_stored_model_space` subtracts the origin
/// in the origin's own precision).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginPrecision {
    /// igneous's `process_mesh`: the origin is the floor of float32 vertices, a float32, so
    /// the difference is rounded to float32.
    Single,
    /// cryoet-data-portal-neuroglancer's `_process_decimated_mesh`: the origin comes from the
    /// float64 meshes, so the difference is exact in float64.
    Double,
}

/// The octree of `lods` (chunk shape `ceil(shape / 2^(n-1))`), each fragment Draco-encoded in
/// stored-model coordinates; returns the manifest and the concatenated fragment data (LOD 0
/// first). `None` when the grid degenerates or nothing could be encoded.
pub fn encode_lods(lods: &[TriMesh]) -> Option<(Manifest, Vec<u8>)> {
    let (origin, shape) = mesh_shape_from_lods(lods)?;
    encode_lods_in_grid(lods, origin, shape, OriginPrecision::Single)
}

/// [`encode_lods`] on a given grid (origin and shape), which may span more LODs than are
/// encoded: the reference's `_process_decimated_mesh` measures every LOD it is given but
/// encodes only the first `num_lod`.
pub fn encode_lods_in_grid(
    lods: &[TriMesh],
    origin: [f64; 3],
    shape: [i64; 3],
    precision: OriginPrecision,
) -> Option<(Manifest, Vec<u8>)> {
    let (chunk, levels) = octree(lods, origin, shape)?;
    let mut manifest = Manifest {
        chunk_shape: chunk.map(|c| c as f32),
        grid_origin: origin.map(|o| o as f32),
        fragment_positions: Vec::new(),
        fragment_sizes: Vec::new(),
    };
    let mut data = Vec::new();
    for (lod, fragments) in levels.into_iter().enumerate() {
        let scale = chunk.map(|c| c * f64::from(1u32 << lod));
        let mut positions = Vec::new();
        let mut sizes = Vec::new();
        for (pos, frag) in fragments {
            let stored = stored_model(&frag.vertices, origin, scale, pos, precision);
            let bytes = encode_fragment(&stored, &frag.faces);
            sizes.push(bytes.len() as u32);
            positions.push(pos);
            data.extend_from_slice(&bytes);
        }
        manifest.fragment_positions.push(positions);
        manifest.fragment_sizes.push(sizes);
    }
    // igneous leaves out a segment none of whose fragments could be encoded.
    if data.is_empty() {
        return None;
    }
    Some((manifest, data))
}

/// One octree fragment: its position in the LOD's grid and its float32 mesh.
pub type Fragment = ([u32; 3], TriMesh);

/// The octree fragments of `lods` on the grid at `origin` spanning `shape`, before
/// quantization: the chunk shape `ceil(shape / 2^(n-1))` and, per LOD, the fragments' octree
/// positions with their float32 meshes, as igneous's `create_octree_level_from_mesh` makes
/// them. `None` without LODs or when a chunk side is zero.
pub fn octree(
    lods: &[TriMesh],
    origin: [f64; 3],
    shape: [i64; 3],
) -> Option<([f64; 3], Vec<Vec<Fragment>>)> {
    if lods.is_empty() {
        return None;
    }
    let n = lods.len() as u32;
    let chunk = shape.map(|s| (s as f64 / f64::from(1u32 << (n - 1))).ceil());
    if chunk.contains(&0.0) {
        return None;
    }
    let grid_length = shape.map(|s| s as f64);
    let levels = lods
        .iter()
        .enumerate()
        .map(|(lod, mesh)| octree_level(mesh, chunk, lod as u32, n, origin, grid_length))
        .collect();
    Some((chunk, levels))
}

/// cloud-volume's `to_stored_model_space` for a fragment at octree position `pos` of a LOD
/// whose cells measure `scale`: `((v - origin) / scale - pos) · (2^bits - 1)`, rounded half
/// to even, clamped to the quantization range and made integers (cloud-volume returns them as
/// `uint16`, which is what DracoPy is given).
pub fn stored_model(
    vertices: &[[f32; 3]],
    origin: [f64; 3],
    scale: [f64; 3],
    pos: [u32; 3],
    precision: OriginPrecision,
) -> Vec<[u32; 3]> {
    let qmax = f64::from((1u32 << VERTEX_QUANTIZATION_BITS) - 1);
    vertices
        .iter()
        .map(|v| {
            [0, 1, 2].map(|a| {
                let from_origin = match precision {
                    OriginPrecision::Single => f64::from(v[a] - origin[a] as f32),
                    OriginPrecision::Double => f64::from(v[a]) - origin[a],
                };
                let s = (from_origin / scale[a] - f64::from(pos[a])) * qmax;
                s.round_ties_even().clamp(0.0, qmax) as u32
            })
        })
        .collect()
}

/// igneous's Draco call for one fragment of stored positions: DracoPy given the `uint16`
/// positions, 16 quantization bits, compression level 7, quantization origin the smallest
/// position and range the largest extent, `create_metadata=True` (so the positions are stored
/// as integers and decode exactly). No bytes where DracoPy fails and igneous stores an empty
/// fragment: a fragment without faces, or one whose every face has two corners at the same
/// stored position (Draco drops those and refuses a mesh left without triangles).
pub fn encode_fragment(stored: &[[u32; 3]], faces: &[[u32; 3]]) -> Vec<u8> {
    let at = |i: u32| stored[i as usize];
    let all_degenerate = faces
        .iter()
        .all(|f| at(f[0]) == at(f[1]) || at(f[1]) == at(f[2]) || at(f[0]) == at(f[2]));
    if all_degenerate {
        return Vec::new();
    }
    let lo: [u32; 3] = std::array::from_fn(|a| stored.iter().map(|p| p[a]).min().unwrap_or(0));
    let range = (0..3)
        .map(|a| stored.iter().map(|p| p[a] - lo[a]).max().unwrap_or(0))
        .max()
        .unwrap_or(0);
    let quantization = draco::Quantization {
        bits: VERTEX_QUANTIZATION_BITS,
        origin: lo.map(|o| o as f32),
        range: range as f32,
    };
    draco::encode_mesh(stored, faces, &quantization)
}

/// One octree level, as igneous's `create_octree_level_from_mesh`: the mesh (vertices merged,
/// as trimesh builds it) is first, above LOD 0, cut into the cells of the next finer level
/// and put back together (`retriangulate_mesh`), so that no triangle of a coarse fragment
/// straddles a finer cell; the coarsest level is that whole mesh, one fragment at (0, 0, 0);
/// the other levels are cut into cells of `chunk · 2^lod` ([`gridded_submeshes`]), in
/// Z-curve order.
fn octree_level(
    mesh: &TriMesh,
    chunk: [f64; 3],
    lod: u32,
    num_lods: u32,
    origin: [f64; 3],
    grid_length: [f64; 3],
) -> Vec<Fragment> {
    let cells_of = |scale: [f64; 3]| [0, 1, 2].map(|a| (grid_length[a] / scale[a]).ceil() as u32);
    let mut mesh = Mesh64::processed(mesh);
    if lod > 0 {
        let finer = chunk.map(|c| c * f64::from(1u32 << (lod - 1)));
        let mut joined = Mesh64::default();
        for (_, cell) in gridded_submeshes(&mesh, origin, cells_of(finer), finer) {
            joined.append(&cell);
        }
        mesh = joined;
    }
    if lod + 1 == num_lods {
        return vec![([0, 0, 0], mesh.to_f32())];
    }
    let scale = chunk.map(|c| c * f64::from(1u32 << lod));
    let mut cells: Vec<Fragment> = gridded_submeshes(&mesh, origin, cells_of(scale), scale)
        .into_iter()
        .map(|(c, m)| (c, m.to_f32()))
        .collect();
    cells.sort_by_key(|(c, _)| morton(*c));
    cells
}

/// igneous's `generate_gridded_submeshes`: for each cell `(x, y, z)` of the grid (x outermost),
/// the mesh sliced by the cell's six planes (trimesh's `slice_mesh_plane`, lower then upper
/// plane of x, of y, of z; the x slices shared by a column, the y slices by a row). Empty
/// cells and cells whose vertices share two coordinates (a point or a line) are left out.
fn gridded_submeshes(
    mesh: &Mesh64,
    origin: [f64; 3],
    grid: [u32; 3],
    scale: [f64; 3],
) -> Vec<([u32; 3], Mesh64)> {
    let plane = |axis: usize, k: u32| f64::from(k) * scale[axis] + origin[axis];
    let slab = |m: &Mesh64, axis: usize, k: u32| {
        let lower = slice_plane(m, axis, 1.0, plane(axis, k));
        slice_plane(&lower, axis, -1.0, plane(axis, k + 1))
    };
    let mut out = Vec::new();
    for x in 0..grid[0] {
        let mx = slab(mesh, 0, x);
        for y in 0..grid[1] {
            let my = slab(&mx, 1, y);
            for z in 0..grid[2] {
                let mz = slab(&my, 2, z);
                let Some(first) = mz.vertices.first() else {
                    continue;
                };
                let flat = (0..3)
                    .filter(|&a| mz.vertices.iter().all(|v| v[a] == first[a]))
                    .count();
                if flat >= 2 {
                    continue;
                }
                out.push(([x, y, z], mz));
            }
        }
    }
    out
}

/// Z-curve key with x in the lowest bit of each triple (z most significant, as igneous's
/// `cmp_zorder`).
fn morton(c: [u32; 3]) -> u128 {
    let mut key = 0u128;
    for bit in 0..32 {
        for (a, &v) in c.iter().enumerate() {
            key |= u128::from((v >> bit) & 1) << (3 * bit + a);
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cube(lo: f32, hi: f32) -> TriMesh {
        let v = |x: usize, y: usize, z: usize| [x, y, z].map(|c| if c == 0 { lo } else { hi });
        let mut m = TriMesh::default();
        for z in 0..2 {
            for y in 0..2 {
                for x in 0..2 {
                    m.vertices.push(v(x, y, z));
                }
            }
        }
        // 12 outward triangles of the unit-cube corners (index = x + 2y + 4z).
        m.faces = vec![
            [0, 2, 3],
            [0, 3, 1],
            [4, 5, 7],
            [4, 7, 6],
            [0, 1, 5],
            [0, 5, 4],
            [2, 6, 7],
            [2, 7, 3],
            [0, 4, 6],
            [0, 6, 2],
            [1, 3, 7],
            [1, 7, 5],
        ];
        m
    }

    #[test]
    fn manifest_bytes_follow_the_neuroglancer_layout() {
        let m = Manifest {
            chunk_shape: [4.0, 4.0, 8.0],
            grid_origin: [1.0, 2.0, 3.0],
            fragment_positions: vec![vec![[0, 0, 0], [1, 0, 0]], vec![[0, 0, 0]]],
            fragment_sizes: vec![vec![10, 20], vec![30]],
        };
        let b = m.to_bytes();
        let u = |i: usize| u32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().unwrap());
        let f = |i: usize| f32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().unwrap());
        assert_eq!((f(0), f(2), f(3), f(5)), (4.0, 8.0, 1.0, 3.0));
        assert_eq!(u(6), 2);
        assert_eq!((f(7), f(8)), (1.0, 2.0));
        assert!((9..15).all(|i| f(i) == 0.0));
        assert_eq!((u(15), u(16)), (2, 1));
        // LOD 0: x = [0, 1], y = [0, 0], z = [0, 0], sizes [10, 20]; LOD 1: (0,0,0), [30].
        assert_eq!(
            (17..25).map(u).collect::<Vec<_>>(),
            [0, 1, 0, 0, 0, 0, 10, 20]
        );
        assert_eq!((25..29).map(u).collect::<Vec<_>>(), [0, 0, 0, 30]);
        assert_eq!(b.len(), 29 * 4);
    }

    #[test]
    fn lod_chunk_sizes_follow_the_reference() {
        // The reference's result for a 69 x 223 x 30 extent (checked against the library).
        assert_eq!(
            chunk_size_for_lod([69, 223, 30], 2, 16),
            Some(([69, 223, 30], [64, 128, 16], 1))
        );
        assert_eq!(
            chunk_size_for_lod([200, 300, 400], 2, 16),
            Some(([50, 75, 100], [32, 64, 64], 3))
        );
        assert_eq!(
            chunk_size_for_lod([1, 1, 1], 2, 16),
            Some(([1, 1, 1], [1, 1, 1], 1))
        );
        assert_eq!(chunk_size_for_lod([0, 5, 5], 2, 8), None);
    }

    #[test]
    fn morton_order_puts_x_lowest() {
        let mut cells = vec![[1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 0]];
        cells.sort_by_key(|c| morton(*c));
        assert_eq!(
            cells,
            [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1]]
        );
    }

    fn area(m: &TriMesh) -> f64 {
        m.faces
            .iter()
            .map(|f| {
                let [a, b, c] = f.map(|i| m.vertices[i as usize].map(f64::from));
                let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
                let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
                let x = [
                    u[1] * v[2] - u[2] * v[1],
                    u[2] * v[0] - u[0] * v[2],
                    u[0] * v[1] - u[1] * v[0],
                ];
                (x[0] * x[0] + x[1] * x[1] + x[2] * x[2]).sqrt() / 2.0
            })
            .sum()
    }

    /// The cube cut into cells of `scale` and put back together (igneous's retriangulation).
    fn refined(c: &TriMesh, cells: u32, scale: f64) -> TriMesh {
        let mut joined = Mesh64::default();
        let grid = [cells; 3];
        for (_, m) in gridded_submeshes(&Mesh64::processed(c), [0.0; 3], grid, [scale; 3]) {
            joined.append(&m);
        }
        joined.to_f32()
    }

    #[test]
    fn cells_keep_the_surface_and_each_stays_in_its_cell() {
        let c = cube(0.0, 4.0);
        let cells = gridded_submeshes(&Mesh64::processed(&c), [0.0; 3], [2, 2, 2], [2.0; 3]);
        // Every cell but none touches the surface: each holds three 2 × 2 patches.
        assert_eq!(cells.len(), 8);
        let mut total = 0.0;
        for (pos, m) in &cells {
            for v in &m.vertices {
                for a in 0..3 {
                    let lo = f64::from(pos[a]) * 2.0;
                    assert!(
                        v[a] >= lo - 1e-8 && v[a] <= lo + 2.0 + 1e-8,
                        "{pos:?} {v:?}"
                    );
                }
            }
            let part = area(&m.to_f32());
            assert!((part - 12.0).abs() < 1e-9, "{pos:?}: {part}");
            total += part;
        }
        assert!((total - area(&c)).abs() < 1e-9);
    }

    #[test]
    fn lods_form_an_octree_with_one_root_fragment() {
        let fine = refined(&cube(0.0, 16.0), 16, 1.0);
        let lods = generate_lods(&fine, 2);
        assert_eq!(lods.len(), 3);
        let (manifest, data) = encode_lods(&lods).unwrap();
        assert_eq!(manifest.chunk_shape, [4.0, 4.0, 4.0]);
        assert_eq!(manifest.grid_origin, [0.0; 3]);
        assert_eq!(manifest.fragment_positions[2], vec![[0, 0, 0]]);
        // The cube's surface touches 56 of the 64 cells of LOD 0 (not the 8 inner ones).
        assert_eq!(manifest.fragment_positions[0].len(), 56);
        assert!(manifest.fragment_positions[1].len() <= 8);
        let total: u32 = manifest.fragment_sizes.iter().flatten().sum();
        assert_eq!(total as usize, data.len());
        let keys: Vec<u128> = manifest.fragment_positions[0]
            .iter()
            .map(|c| morton(*c))
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
    }
}

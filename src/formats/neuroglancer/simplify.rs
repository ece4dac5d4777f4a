//! Mesh simplification by vertex clustering: vertices in the same cubic cell of a grid merge
//! into their mean; faces that collapse are dropped.
//!
//! This stands in for zmesh's quadric simplifier on LOD 0 of a segmentation's meshes (bounded
//! by `max_simplification_error`): a cell of side `c` moves no vertex further than `c·√3`,
//! which is how the error bound is honoured. Counts differ from zmesh's: clustering keeps more
//! faces on flat areas and less detail on thin ones. The coarser LODs are pyfqmr's
//! ([`super::fqmr`]), as in the reference.

use super::marching_cubes::TriMesh;
use std::collections::HashMap;

/// Clusters `mesh` on a grid of cell side `cell` anchored at the origin.
pub fn cluster(mesh: &TriMesh, cell: f64) -> TriMesh {
    if cell <= 0.0 {
        return mesh.clone();
    }
    let mut cluster_of: HashMap<[i64; 3], u32> = HashMap::new();
    let mut sums: Vec<([f64; 3], u32)> = Vec::new();
    let remap: Vec<u32> = mesh
        .vertices
        .iter()
        .map(|v| {
            let key = [0, 1, 2].map(|a| (f64::from(v[a]) / cell).floor() as i64);
            let id = *cluster_of.entry(key).or_insert_with(|| {
                sums.push(([0.0; 3], 0));
                (sums.len() - 1) as u32
            });
            let s = &mut sums[id as usize];
            for (sum, &c) in s.0.iter_mut().zip(v) {
                *sum += f64::from(c);
            }
            s.1 += 1;
            id
        })
        .collect();
    let mut seen: std::collections::HashSet<[u32; 3]> = std::collections::HashSet::new();
    let mut faces = Vec::new();
    for f in &mesh.faces {
        let g = f.map(|i| remap[i as usize]);
        if g[0] == g[1] || g[1] == g[2] || g[0] == g[2] {
            continue;
        }
        // The same triangle in the same orientation once (rotations are equal).
        let r = g
            .iter()
            .enumerate()
            .min_by_key(|(_, &v)| v)
            .map(|(i, _)| i)
            .unwrap_or(0);
        let key = [g[r], g[(r + 1) % 3], g[(r + 2) % 3]];
        if seen.insert(key) {
            faces.push(g);
        }
    }
    let vertices = sums
        .iter()
        .map(|(s, n)| [0, 1, 2].map(|a| (s[a] / f64::from(*n)) as f32))
        .collect();
    compact(TriMesh { vertices, faces })
}

/// Drops vertices no face uses, keeping the order of the rest.
pub fn compact(mesh: TriMesh) -> TriMesh {
    let mut new_id = vec![u32::MAX; mesh.vertices.len()];
    let mut vertices = Vec::new();
    let faces = mesh
        .faces
        .iter()
        .map(|f| {
            f.map(|i| {
                let slot = &mut new_id[i as usize];
                if *slot == u32::MAX {
                    *slot = vertices.len() as u32;
                    vertices.push(mesh.vertices[i as usize]);
                }
                *slot
            })
        })
        .collect();
    TriMesh { vertices, faces }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid_sheet(n: usize) -> TriMesh {
        let mut m = TriMesh::default();
        for y in 0..=n {
            for x in 0..=n {
                m.vertices.push([x as f32 * 0.5, y as f32 * 0.5, 0.0]);
            }
        }
        let id = |x: usize, y: usize| (y * (n + 1) + x) as u32;
        for y in 0..n {
            for x in 0..n {
                m.faces.push([id(x, y), id(x + 1, y), id(x + 1, y + 1)]);
                m.faces.push([id(x, y), id(x + 1, y + 1), id(x, y + 1)]);
            }
        }
        m
    }

    #[test]
    fn clustering_bounds_vertex_moves_and_drops_collapsed_faces() {
        let sheet = grid_sheet(16);
        let simple = cluster(&sheet, 2.0);
        assert!(simple.faces.len() < sheet.faces.len() / 4);
        assert!(!simple.faces.is_empty());
        // Every original vertex lies within one cell diagonal of its representative's cell.
        let (lo, hi) = simple.bounds().unwrap();
        assert!(lo[0] >= 0.0 && hi[0] <= 8.0);
        for f in &simple.faces {
            assert!(f[0] != f[1] && f[1] != f[2] && f[0] != f[2]);
        }
    }
}

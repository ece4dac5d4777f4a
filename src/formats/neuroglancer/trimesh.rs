//! The triangle mesh every mesh encoder shares, and its clean-up.

/// A triangle mesh in f32 coordinates (x, y, z).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TriMesh {
    /// Vertex positions `[x, y, z]` .
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

/// Drops vertices no face uses, numbering the rest in the order the faces first use them.
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

    #[test]
    fn unused_vertices_are_dropped_in_first_use_order() {
        let mesh = TriMesh {
            vertices: vec![[0.0; 3], [1.0; 3], [2.0; 3], [3.0; 3]],
            faces: vec![[3, 1, 2]],
        };
        let compacted = compact(mesh);
        assert_eq!(compacted.vertices, vec![[3.0; 3], [1.0; 3], [2.0; 3]]);
        assert_eq!(compacted.faces, vec![[0, 1, 2]]);
    }
}

//! Triangular-mesh annotations (spec §7.5): deposited meshes in (OBJ, STL, legacy VTK PolyData,
//! GLB, and EMDB-SFF HDF5 segments for `TriangularMeshGroup`), one binary glTF 2.0 file out
//! (`{prefix}_triangularmesh.glb`).
//!
//! Pure functions over bytes, like the point readers: the caller finds the file, applies
//! `scale_factor` and writes the output. Every reader gives a [`Mesh`] of float64 positions and
//! triangles; polygons are fan-triangulated from their first corner.
//!
//! What ends up in the glb follows what the reference's loader (trimesh) puts there, so vertex
//! and face counts match it:
//! - **STL, OBJ, VTK**: trimesh builds these meshes with `process=True`, which merges vertices
//!   whose positions are equal after rounding to 8 decimals and drops vertices no face uses,
//!   keeping first occurrences in order ([`Mesh::merge_vertices`] does the same). For STL this is
//!   what turns the 3 corners of every facet into shared vertices. One difference: for an OBJ
//!   whose faces give texture coordinates or normals, trimesh keeps a vertex split wherever
//!   its corners carry different ones (it exports those attributes); we write positions only,
//!   so such vertices are merged and our vertex count can be lower (the faces are the same).
//! - **GLB**: trimesh's glTF loader does not merge (its meshes keep every vertex, used or not),
//!   so neither do we; node transforms are applied and all primitives are concatenated.
//!
//! The output ([`glb::write`]) is a minimal glTF: one mesh, one primitive, float32 positions
//! with their bounds and uint32 indices, the same bytes for the same mesh.

pub mod glb;
pub mod hff;
pub mod obj;
pub mod stl;
pub mod vtk;

use crate::formats::FormatError;

/// The `file_format` values of `TriangularMesh` (spec §7.2).
pub const FILE_FORMATS: &[&str] = &["obj", "stl", "vtk", "glb"];

/// A triangle mesh: positions (float64, as the reference's loaders hold them) and triangles
/// indexing them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mesh {
    /// Vertex positions `[x, y, z]`.
    pub positions: Vec<[f64; 3]>,
    /// Triangles, each three 0-based indices into `positions`.
    pub faces: Vec<[u32; 3]>,
}

impl Mesh {
    /// Merges vertices the way trimesh's `merge_vertices` does when it builds a mesh: positions
    /// scaled by 1e8 and rounded (ties to even) to integers are the identity of a vertex; only
    /// vertices some face uses are kept, each at its first occurrence, in index order.
    pub fn merge_vertices(&mut self) {
        let key = |p: &[f64; 3]| p.map(|c| (c * 1e8).round_ties_even() as i64);
        let mut used = vec![false; self.positions.len()];
        for f in &self.faces {
            for &i in f {
                used[i as usize] = true;
            }
        }
        let mut first: std::collections::HashMap<[i64; 3], u32> = Default::default();
        let mut remap = vec![0u32; self.positions.len()];
        let mut kept = Vec::new();
        for (i, p) in self.positions.iter().enumerate() {
            if !used[i] {
                continue;
            }
            let next = kept.len() as u32;
            let new = *first.entry(key(p)).or_insert(next);
            if new == next {
                kept.push(*p);
            }
            remap[i] = new;
        }
        for f in &mut self.faces {
            *f = f.map(|i| remap[i as usize]);
        }
        self.positions = kept;
    }

    /// Appends `other`, its indices shifted past this mesh's vertices.
    pub fn append(&mut self, other: Mesh) {
        let base = self.positions.len() as u32;
        self.positions.extend(other.positions);
        self.faces
            .extend(other.faces.into_iter().map(|f| f.map(|i| i + base)));
    }

    /// Multiplies every coordinate by `factor` (the annotation's `scale_factor`).
    pub fn scale(&mut self, factor: f64) {
        for p in &mut self.positions {
            *p = p.map(|c| c * factor);
        }
    }

    /// Checks what every reader promises: some triangles, indices in range, finite positions.
    fn check(&self, file: &str) -> Result<(), FormatError> {
        if self.faces.is_empty() {
            return Err(FormatError::invalid(
                file,
                None,
                "the mesh has no triangles",
            ));
        }
        let n = self.positions.len();
        if let Some((k, f)) = self
            .faces
            .iter()
            .enumerate()
            .find(|(_, f)| f.iter().any(|&i| i as usize >= n))
        {
            return Err(FormatError::invalid(
                file,
                None,
                format!("triangle {k} uses vertex {f:?}, but there are {n} vertices"),
            ));
        }
        if let Some((k, p)) = self
            .positions
            .iter()
            .enumerate()
            .find(|(_, p)| p.iter().any(|c| !c.is_finite()))
        {
            return Err(FormatError::invalid(
                file,
                None,
                format!("vertex {k} has a non-finite coordinate {p:?}"),
            ));
        }
        Ok(())
    }
}

/// Reads segment `mesh_name` of a `TriangularMeshGroup` source (`hff`), or `None` when no
/// segment has that name (the reference drops such a source as invalid).
///
/// # Errors
/// A malformed file, or a segment without triangles, naming the file.
pub fn read_group(bytes: &[u8], file: &str, mesh_name: &str) -> Result<Option<Mesh>, FormatError> {
    let Some(mesh) = hff::read(bytes, file, mesh_name)? else {
        return Ok(None);
    };
    mesh.check(file)?;
    Ok(Some(mesh))
}

/// Fan-triangulates one polygon (corner indices) onto `faces`: (0, i, i+1) for every i, as
/// trimesh does for polygons.
pub(crate) fn fan(corners: &[u32], faces: &mut Vec<[u32; 3]>) {
    for i in 1..corners.len().saturating_sub(1) {
        faces.push([corners[0], corners[i], corners[i + 1]]);
    }
}

/// Reads a `TriangularMesh` source of `file_format` (`obj`, `stl`, `vtk` or `glb`); `file` names
/// it in errors.
///
/// # Errors
/// An unknown format, a malformed file, or a mesh without triangles, naming the file.
pub fn read(file_format: &str, bytes: &[u8], file: &str) -> Result<Mesh, FormatError> {
    let mut mesh = match file_format {
        "obj" => obj::read(bytes, file)?,
        "stl" => stl::read(bytes, file)?,
        "vtk" => vtk::read(bytes, file)?,
        "glb" => glb::read(bytes, file)?,
        other => {
            return Err(FormatError::invalid(
                file,
                None,
                format!(
                    "file_format {other:?} is not a TriangularMesh format (one of {})",
                    FILE_FORMATS.join(", ")
                ),
            ))
        }
    };
    mesh.check(file)?;
    if file_format != "glb" {
        mesh.merge_vertices();
    }
    Ok(mesh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_follows_trimesh_rounding_and_drops_unused_vertices() {
        let mut m = Mesh {
            positions: vec![
                [9.0, 9.0, 9.0], // unused
                [0.0, 0.0, 0.0],
                [1.0, 0.0, 0.0],
                [0.0, 1.0, 0.0],
                [1.0 + 4e-9, 0.0, -0.0], // rounds to vertex 2 at 8 decimals
                [0.0, 1.0, 0.0],
                [1.0, 1.0, 0.0],
            ],
            faces: vec![[1, 2, 3], [4, 6, 5]],
        };
        m.merge_vertices();
        assert_eq!(
            m.positions,
            vec![
                [0.0, 0.0, 0.0],
                [1.0, 0.0, 0.0],
                [0.0, 1.0, 0.0],
                [1.0, 1.0, 0.0]
            ]
        );
        assert_eq!(m.faces, vec![[0, 1, 2], [1, 3, 2]]);
    }

    #[test]
    fn a_mesh_without_triangles_or_with_bad_indices_is_refused() {
        let empty = Mesh {
            positions: vec![[0.0; 3]],
            faces: vec![],
        };
        assert_eq!(
            empty.check("m.obj").unwrap_err().to_string(),
            "m.obj: the mesh has no triangles"
        );
        let bad = Mesh {
            positions: vec![[0.0; 3]; 3],
            faces: vec![[0, 1, 3]],
        };
        assert!(bad
            .check("m.obj")
            .unwrap_err()
            .to_string()
            .contains("vertex [0, 1, 3]"));
        let nan = Mesh {
            positions: vec![[0.0, f64::NAN, 0.0], [1.0; 3], [2.0; 3]],
            faces: vec![[0, 1, 2]],
        };
        assert!(nan
            .check("m.obj")
            .unwrap_err()
            .to_string()
            .contains("non-finite"));
        assert!(read("ply", b"", "m.ply")
            .unwrap_err()
            .to_string()
            .contains("not a TriangularMesh format"));
    }

    #[test]
    fn fans_start_at_the_first_corner() {
        let mut faces = Vec::new();
        fan(&[4, 5, 6, 7, 8], &mut faces);
        assert_eq!(faces, vec![[4, 5, 6], [4, 6, 7], [4, 7, 8]]);
        fan(&[1, 2], &mut faces);
        assert_eq!(faces.len(), 3);
    }
}

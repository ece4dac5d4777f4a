"""Cuts mesh LODs into igneous's multi-resolution octree and prints the fragments as JSON.

Usage: check_octree.py LODS.bin [--float64-origin]

LODS.bin: little-endian u32 LOD count, then per LOD u32 vertex count, u32 face count, the
vertices as float32 x, y, z and the faces as u32 triples (the LODs igneous's `process_mesh`
has after `generate_lods`, in voxel units).

Runs, with igneous-pipeline's own functions (tests/python/setup_venv.sh pins the reference's
4.30.0), the steps of `process_mesh` between the LODs and Draco: the grid from
`determine_mesh_shape_from_lods` on cloud-volume `Mesh`es, the chunk shape
`ceil(shape / 2^(lods - 1))`, `create_octree_level_from_mesh` for every LOD (trimesh's
`slice_mesh_plane` cuts the cells), then cloud-volume's `to_stored_model_space` at 16 bits for
every fragment. With --float64-origin the grid origin is a float64 (as
cryoet-data-portal-neuroglancer's `_process_decimated_mesh` measures it on float64 meshes).

Prints {"igneous", "trimesh", "grid_origin", "chunk_shape", "lods": [{"positions",
"fragments": [{"vertices" (float32 values, exact through JSON), "faces", "stored"}]}]}.
Test-only: the ingester never runs Python.
"""

import importlib
import importlib.util
import json
import os
import struct
import sys
import types
from importlib.metadata import version

import numpy as np
from cloudvolume import Mesh
from cloudvolume.datasource.precomputed.mesh.multilod import (
    MultiLevelPrecomputedMeshManifest,
    to_stored_model_space,
)


def igneous_multires():
    """igneous.tasks.mesh.multires without running igneous/__init__.py, which imports every
    task family (skeletons, images, ...) and their heavy dependencies; the module itself and
    its sibling draco.py are loaded from the installed package as they are."""
    root = os.path.dirname(importlib.util.find_spec("igneous").origin)
    for name, sub in (("igneous", ""), ("igneous.tasks", "tasks"), ("igneous.tasks.mesh", "tasks/mesh")):
        if name not in sys.modules:
            package = types.ModuleType(name)
            package.__path__ = [os.path.join(root, sub)]
            sys.modules[name] = package
    return importlib.import_module("igneous.tasks.mesh.multires")


def read_lods(path):
    data = open(path, "rb").read()
    (count,) = struct.unpack_from("<I", data)
    at = 4
    lods = []
    for _ in range(count):
        nv, nf = struct.unpack_from("<II", data, at)
        at += 8
        vertices = np.frombuffer(data, "<f4", nv * 3, at).reshape(nv, 3)
        at += nv * 12
        faces = np.frombuffer(data, "<u4", nf * 3, at).reshape(nf, 3)
        at += nf * 12
        lods.append(Mesh(vertices.copy(), faces.copy()))
    return lods


def main():
    multires = igneous_multires()
    lods = read_lods(sys.argv[1])
    grid_origin, mesh_shape = multires.determine_mesh_shape_from_lods(lods)
    if "--float64-origin" in sys.argv[2:]:
        grid_origin = grid_origin.astype(np.float64)
    chunk_shape = np.ceil(mesh_shape / (2 ** (len(lods) - 1)))
    levels = [
        multires.create_octree_level_from_mesh(
            lods[lod], chunk_shape, lod, len(lods), grid_origin, mesh_shape
        )
        for lod in range(len(lods))
    ]
    manifest = MultiLevelPrecomputedMeshManifest(
        segment_id=1,
        chunk_shape=chunk_shape,
        grid_origin=grid_origin,
        num_lods=len(lods),
        lod_scales=[2**i for i in range(len(lods))],
        vertex_offsets=[[0, 0, 0]] * len(lods),
        num_fragments_per_lod=[len(submeshes) for submeshes, _ in levels],
        fragment_positions=[nodes for _, nodes in levels],
        fragment_offsets=[],
    )
    out = []
    for lod, (submeshes, nodes) in enumerate(levels):
        fragments = []
        for frag, submesh in enumerate(submeshes):
            vertices = np.asarray(submesh.vertices, dtype=np.float32)
            stored = to_stored_model_space(
                vertices.copy(), manifest, lod=lod, vertex_quantization_bits=16, frag=frag
            )
            fragments.append(
                {
                    "vertices": vertices.astype(np.float64).tolist(),
                    "faces": np.asarray(submesh.faces).tolist(),
                    "stored": stored.tolist(),
                }
            )
        out.append({"positions": [list(map(int, n)) for n in nodes], "fragments": fragments})
    print(
        json.dumps(
            {
                "igneous": version("igneous-pipeline"),
                "trimesh": version("trimesh"),
                "grid_origin": np.asarray(grid_origin, dtype=np.float64).tolist(),
                "chunk_shape": chunk_shape.tolist(),
                "lods": out,
            }
        )
    )


if __name__ == "__main__":
    main()

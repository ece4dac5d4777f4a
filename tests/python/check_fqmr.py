"""Simplifies a mesh with pyfqmr as the reference does and prints the results as JSON.

Usage: check_fqmr.py MESH.bin TARGET [TARGET ...]

MESH.bin: little-endian u32 vertex count, u32 face count, the vertices as float64 x, y, z, then
the faces as u32 triples. For each target this runs what igneous's `generate_lods` runs (the
reference's segmentation and glb meshes; cryoet-data-portal-neuroglancer's `decimate_mesh`
passes the same aggressiveness for oriented meshes): a new `pyfqmr.Simplify()`,
`setMesh(vertices, faces)`, `simplify_mesh(target_count=TARGET, aggressiveness=5.5,
preserve_border=True, verbose=False)` (pyfqmr's defaults otherwise), `getMesh()`. Prints
{"pyfqmr": version, "results": [{"target", "vertices" (float64, exact through JSON), "faces"}]}.
Test-only: the ingester never runs Python.
"""

import json
import struct
import sys
from importlib.metadata import version

import numpy as np
import pyfqmr


def main():
    data = open(sys.argv[1], "rb").read()
    nv, nf = struct.unpack_from("<II", data)
    # Copies: pyfqmr takes writable arrays (float64 vertices; faces it casts to int32).
    vertices = np.frombuffer(data, "<f8", nv * 3, 8).reshape(nv, 3).astype(np.float64)
    faces = np.frombuffer(data, "<u4", nf * 3, 8 + nv * 24).reshape(nf, 3).astype(np.uint32)
    results = []
    for target in map(int, sys.argv[2:]):
        simplifier = pyfqmr.Simplify()
        simplifier.setMesh(vertices, faces)
        simplifier.simplify_mesh(
            target_count=target, aggressiveness=5.5, preserve_border=True, verbose=False
        )
        v, f, _ = simplifier.getMesh()
        results.append({"target": target, "vertices": v.tolist(), "faces": f.tolist()})
    print(json.dumps({"pyfqmr": version("pyfqmr"), "results": results}))


if __name__ == "__main__":
    main()

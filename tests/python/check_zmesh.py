"""Meshes a label mask with zmesh as igneous 4.30.0's MeshTask does for the portal and prints
JSON, for tests/zmesh_parity.rs to compare with src/formats/neuroglancer/zmesh_simplify.rs.

usage: check_zmesh.py MASK.json
  MASK.json: {"shape_xyz": [sx, sy, sz], "data": [... x fastest ...], "resolution": r,
              "reduction_factor": 100, "max_error": 2 * r}

One task covers the whole mask: igneous adds a zero plane on the low side where the task
touches the dataset boundary and reads one zero plane past the volume on the high side
(high_padding 1), renumbers labels 1.. in memory (Fortran) order (fastremap.renumber), meshes
the Fortran-ordered block, and per label in `mesher.ids()` order calls
`get(label, reduction_factor=100, max_error=..., voxel_centered=True)`, then adds
`(offset - left_bound_offset) * resolution` (here -resolution) to the vertices.
Output: [{"label", "vertices", "faces"}, ...] in that order.
"""
import json
import sys

import numpy as np
import zmesh


def renumber(a):
    """fastremap.renumber(a, preserve_zero=True) for a Fortran-ordered array."""
    flat = a.ravel(order="K")
    values, first = np.unique(flat, return_index=True)
    order = [v for _, v in sorted(zip(first, values)) if v != 0]
    mapping = {int(v): i + 1 for i, v in enumerate(order)}
    lut = np.zeros(int(values.max()) + 1, dtype=a.dtype)
    for v, n in mapping.items():
        lut[v] = n
    return np.asfortranarray(lut[a]), {n: v for v, n in mapping.items()}


def main():
    spec = json.load(open(sys.argv[1]))
    sx, sy, sz = spec["shape_xyz"]
    data = np.asarray(spec["data"], dtype=np.uint32).reshape((sx, sy, sz), order="F")
    res = float(spec["resolution"])
    padded = np.zeros((sx + 2, sy + 2, sz + 2), dtype=np.uint32, order="F")
    padded[1:-1, 1:-1, 1:-1] = data
    padded, original = renumber(padded)
    mesher = zmesh.Mesher((res, res, res))
    mesher.mesh(padded)
    offset = np.zeros(3, dtype=np.float32) - np.ones(3, dtype=np.int64) * np.full(3, res)
    out = []
    for obj in mesher.ids():
        mesh = mesher.get(
            obj,
            reduction_factor=spec.get("reduction_factor", 100),
            max_error=spec.get("max_error", 2 * res),
            voxel_centered=True,
        )
        mesher.erase(obj)
        mesh.vertices[:] += offset
        out.append(
            {
                "label": int(original[obj]),
                "vertices": mesh.vertices.tolist(),
                "faces": mesh.faces.tolist(),
            }
        )
    print(json.dumps(out))


main()

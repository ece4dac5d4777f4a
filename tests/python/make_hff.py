"""Writes an EMDB-SFF segmentation (.hff) with h5py, laid out as sfftk and the reference
ingester's test generator write it: `segment_list/{id}/biological_annotation/name` and
`segment_list/{id}/mesh_list/{m}/{vertices,triangles}/{data,mode}`, `data` being the base64 of
the raw numpy array and `mode` its dtype name.

Usage: make_hff.py OUT.hff SPEC.json
SPEC: {"segments": [{"id": "1", "name": "...", "meshes": [{"vertices": [[x, y, z], ...],
       "triangles": [[i, j, k], ...]}, ...]}, ...]}
Test-only: the ingester never runs Python.
"""

import base64
import json
import sys

import h5py
import numpy as np


def main(out, spec_path):
    with open(spec_path) as fh:
        spec = json.load(fh)
    with h5py.File(out, "w") as fp:
        fp.create_dataset("version", data="0.8.0.dev1")
        for seg in spec["segments"]:
            root = f"segment_list/{seg['id']}"
            fp.create_group(f"{root}/biological_annotation")
            fp[f"{root}/biological_annotation"].create_dataset("name", data=seg["name"])
            for m, mesh in enumerate(seg["meshes"]):
                for part, dtype in (("vertices", np.float64), ("triangles", np.int64)):
                    array = np.asarray(mesh[part], dtype=dtype)
                    group = f"{root}/mesh_list/{m}/{part}"
                    fp.create_group(group)
                    fp[group].create_dataset("data", data=base64.b64encode(array))
                    fp[group].create_dataset("mode", data=array.dtype.name)
            fp[root].create_dataset("colour", data=np.array([0.5, 0.5, 0.5, 1.0]))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

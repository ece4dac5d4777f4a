"""Compares our Draco mesh encodings with DracoPy's, called as igneous's `process_mesh` calls it
for a multi-resolution fragment, by decoding both with DracoPy.

Usage: check_draco.py CASES.json
CASES.json is a list of {"name", "stored", "faces", "ours"}: "stored" are the fragment's integer
stored-model positions (what cloud-volume's `to_stored_model_space` returns, as uint16), "ours"
the path of our encoding; with "reference": false only ours is decoded (for meshes DracoPy
refuses to encode) and the reference fields are null. The reference is
DracoPy.encode(stored as uint16, faces, quantization_bits=16, compression_level=7,
quantization_range=largest extent, quantization_origin=smallest position, create_metadata=True)
with origin and range measured here on the uint16 array, as igneous does. Both files are
decoded and compared exactly (decoded float values, no rounding): positions as a multiset and
triangles as a multiset of position triples rotated to start at the smallest position (so
orientation counts).
Prints one JSON list on stdout: [{"name", "ours_points", "ref_points", "ours_faces",
"ref_faces", "same_positions", "same_triangles", "ours_integer", "ref_integer", "ours_bytes",
"ref_bytes", "identical_bytes", "ours_method", "ref_method"}, ...] where *_integer says every
decoded coordinate is an integer.
Test-only: the ingester never runs Python.
"""

import json
import sys

import DracoPy
import numpy as np


def decoded(mesh):
    points = np.asarray(mesh.points, dtype=np.float64).reshape(-1, 3)
    faces = np.asarray(mesh.faces, dtype=np.int64).reshape(-1, 3)
    return points, faces


def triangles(points, faces):
    out = []
    for f in faces:
        tri = [tuple(points[i].tolist()) for i in f]
        k = tri.index(min(tri))
        out.append(tuple(tri[k:] + tri[:k]))
    return sorted(out)


def igneous_encode(stored, faces):
    vertices = np.asarray(stored, dtype=np.int64)
    assert vertices.min() >= 0 and vertices.max() <= 0xFFFF, "stored positions are uint16"
    vertices = vertices.astype(np.uint16)
    minpt = np.min(vertices, axis=0)
    quantization_range = np.max(np.max(vertices, axis=0) - minpt)
    return DracoPy.encode(
        vertices,
        np.asarray(faces, dtype=np.uint32),
        quantization_bits=16,
        compression_level=7,
        quantization_range=quantization_range,
        quantization_origin=minpt,
        create_metadata=True,
    )


def main(path):
    with open(path) as fh:
        cases = json.load(fh)
    out = []
    for case in cases:
        with open(case["ours"], "rb") as fh:
            ours_bytes = fh.read()
        po, fo = decoded(DracoPy.decode(ours_bytes))
        row = {
            "name": case["name"],
            "ours_points": int(len(po)),
            "ours_faces": int(len(fo)),
            "ours_integer": bool(np.all(po == np.round(po))),
            "ours_bytes": len(ours_bytes),
            "ours_method": ours_bytes[8],
        }
        if case.get("reference", True):
            ref_bytes = igneous_encode(case["stored"], case["faces"])
            pr, fr = decoded(DracoPy.decode(ref_bytes))
            row.update(
                {
                    "ref_points": int(len(pr)),
                    "ref_faces": int(len(fr)),
                    "ref_integer": bool(np.all(pr == np.round(pr))),
                    "same_positions": sorted(map(tuple, po.tolist()))
                    == sorted(map(tuple, pr.tolist())),
                    "same_triangles": triangles(po, fo) == triangles(pr, fr),
                    "ref_bytes": len(ref_bytes),
                    "identical_bytes": ours_bytes == ref_bytes,
                    "ref_method": ref_bytes[8],
                }
            )
        out.append(row)
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])

"""Compares our Draco mesh encodings with DracoPy's (the encoder igneous uses for multi-resolution
mesh fragments) by decoding both with DracoPy.

Usage: check_draco.py CASES.json
CASES.json is a list of {"name", "vertices", "faces", "bits", "origin", "range", "ours"} where
"ours" is the path of our encoding of that mesh; with "reference": false only ours is decoded
(for meshes DracoPy refuses to encode) and the reference fields are null. For each case the input is also encoded with
DracoPy.encode at compression level 7 and the same quantization; both files are decoded and
compared as quantized positions (a multiset) and triangles (a multiset of position triples,
rotated to start at the smallest position, so orientation counts).
Prints one JSON list on stdout: [{"name", "ours_points", "ref_points", "ours_faces", "ref_faces",
"same_positions", "same_triangles", "ours_bytes", "ref_bytes", "identical_bytes", "ours_method",
"ref_method"}, ...].
Test-only: the ingester never runs Python.
"""

import json
import sys

import DracoPy
import numpy as np


def quantized(mesh, bits, origin, rng):
    pts = np.asarray(mesh.points, dtype=np.float64).reshape(-1, 3)
    step = rng / ((1 << bits) - 1)
    return np.rint((pts - np.asarray(origin, dtype=np.float64)) / step).astype(np.int64)


def triangles(mesh, q):
    faces = np.asarray(mesh.faces, dtype=np.int64).reshape(-1, 3)
    out = []
    for f in faces:
        tri = [tuple(q[i]) for i in f]
        k = tri.index(min(tri))
        out.append(tuple(tri[k:] + tri[:k]))
    return sorted(out)


def main(path):
    with open(path) as fh:
        cases = json.load(fh)
    out = []
    for case in cases:
        bits, origin, rng = case["bits"], case["origin"], case["range"]
        with open(case["ours"], "rb") as fh:
            ours_bytes = fh.read()
        ours = DracoPy.decode(ours_bytes)
        qo = quantized(ours, bits, origin, rng)
        row = {
            "name": case["name"],
            "ours_points": int(len(qo)),
            "ours_faces": int(len(np.asarray(ours.faces).reshape(-1, 3))),
            "ours_bytes": len(ours_bytes),
            "ours_method": ours_bytes[8],
        }
        if case.get("reference", True):
            ref_bytes = DracoPy.encode(
                np.asarray(case["vertices"], dtype=np.float32),
                np.asarray(case["faces"], dtype=np.uint32),
                quantization_bits=bits,
                compression_level=7,
                quantization_range=rng,
                quantization_origin=origin,
            )
            ref = DracoPy.decode(ref_bytes)
            qr = quantized(ref, bits, origin, rng)
            row.update(
                {
                    "ref_points": int(len(qr)),
                    "ref_faces": int(len(np.asarray(ref.faces).reshape(-1, 3))),
                    "same_positions": sorted(map(tuple, qo.tolist()))
                    == sorted(map(tuple, qr.tolist())),
                    "same_triangles": triangles(ours, qo) == triangles(ref, qr),
                    "ref_bytes": len(ref_bytes),
                    "identical_bytes": ours_bytes == ref_bytes,
                    "ref_method": ref_bytes[8],
                }
            )
        out.append(row)
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])

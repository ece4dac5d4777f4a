"""Reads a precomputed segmentation (and its multi-resolution meshes) with cloud-volume and
DracoPy, the readers the reference library itself writes through, and reports what they see.

Usage: check_segmentation.py PRECOMPUTED_DIR [ZARR_DIR]
       check_segmentation.py PRECOMPUTED_DIR --segments ID[,ID...]
Prints one JSON object: the info, whether the decoded volume equals the zarr's level 0 (as
uint32, the reference's astype), and per segment id and LOD the vertex/face counts and bounds
(physical units) from cloud-volume, plus the number of fragments DracoPy decoded. With
`--segments` (a standalone mesh, which has no volume data) only the named segments' meshes
are read.
Test-only: the ingester never runs Python.
"""

import json
import os
import sys

import DracoPy
import numpy as np
from cloudvolume import CloudVolume


def main(path, zarr_dir=None, segments=None):
    path = os.path.abspath(path)
    cv = CloudVolume(f"precomputed://file://{path}", mip=0, progress=False)
    out = {"info": cv.info}
    if segments is not None:
        out["labels"] = [int(s) for s in segments.split(",")]
    else:
        vol = np.asarray(cv[:, :, :])[..., 0]  # x, y, z
        out["shape_xyz"] = list(vol.shape)
    if zarr_dir:
        import zarr

        level0 = np.asarray(zarr.open(os.path.join(zarr_dir, "0"), mode="r")[:])
        expected = level0.astype(np.uint32).transpose(2, 1, 0)
        out["volume_equal"] = bool(np.array_equal(vol, expected))
        out["labels"] = [int(v) for v in np.unique(expected) if v != 0]
    meshes = {}
    if "mesh" in cv.info:
        mesh_dir = os.path.join(path, cv.info["mesh"])
        shard_bytes = {
            f: open(os.path.join(mesh_dir, f), "rb").read()
            for f in os.listdir(mesh_dir)
            if f.endswith(".shard")
        }
        for label in out.get("labels", []):
            manifest = cv.mesh.get_manifest(label)
            if manifest is None:
                meshes[str(label)] = None
                continue
            sizes = [int(np.sum(s)) for s in manifest.fragment_offsets]
            start = manifest.shard_offset - sum(sizes)
            shard = shard_bytes[os.path.basename(manifest.path)]
            decoded = 0
            pos = start
            for lod_sizes in manifest.fragment_offsets:
                for size in lod_sizes:
                    frag = DracoPy.decode(shard[pos : pos + int(size)])
                    assert len(frag.points) > 0 and len(frag.faces) > 0
                    decoded += 1
                    pos += int(size)
            lods = []
            for lod in range(manifest.num_lods):
                m = cv.mesh.get(label, lod=lod)[label]
                lods.append(
                    {
                        "vertices": int(len(m.vertices)),
                        "faces": int(len(m.faces)),
                        "min": m.vertices.min(axis=0).tolist(),
                        "max": m.vertices.max(axis=0).tolist(),
                    }
                )
            meshes[str(label)] = {
                "num_lods": int(manifest.num_lods),
                "fragments_per_lod": [int(n) for n in manifest.num_fragments_per_lod],
                "fragments_decoded": decoded,
                "chunk_shape": [float(c) for c in manifest.chunk_shape],
                "lods": lods,
            }
    out["meshes"] = meshes
    print(json.dumps(out))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[2] == "--segments":
        main(sys.argv[1], segments=sys.argv[3])
    else:
        main(*sys.argv[1:])

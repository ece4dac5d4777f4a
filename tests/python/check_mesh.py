"""Loads .glb files with trimesh, the library the reference ingester converts meshes with, the way
its tests load them (`trimesh.load(path, force="mesh")`), and reports what trimesh sees.

Usage: check_mesh.py PATH...
Prints one JSON list on stdout: [{"path", "vertices", "faces", "volume", "bounds"}, ...].
Test-only: the ingester never runs Python.
"""

import json
import sys

import trimesh


def main(paths):
    out = []
    for path in paths:
        mesh = trimesh.load(path, force="mesh")
        out.append(
            {
                "path": path,
                "vertices": int(len(mesh.vertices)),
                "faces": int(len(mesh.faces)),
                "volume": float(mesh.volume),
                "bounds": mesh.bounds.tolist(),
            }
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])

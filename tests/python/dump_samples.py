"""Prints what the `starfile` and `imodmodel` packages read from their own sample files.

Usage: dump_samples.py SAMPLE_DATA_DIR
SAMPLE_DATA_DIR is `$venv/sample-data` (made by setup_venv.sh): the unpacked sdists
`starfile-0.5.13/` and `imodmodel-0.1.0/`.

Prints one JSON object on stdout:
  {"star": {NAME: {"blocks": [{"name": str, "kind": "loop" | "pairs", "columns": [str],
                               "rows": int, "coordinates": [[x, y, z]] | null,
                               "strings": {COLUMN: [str]}}]}
                  | {"error": str}},
   "mod":  {NAME: {"points": [[x, y, z]], "objects": [int], "contours": [int],
                   "slicer_centers": [[x, y, z]] | null, "slicer_error": str | null}
                  | {"error": str}}}
NAME is the path relative to the package's test-data folder. `coordinates` are the
rlnCoordinateX/Y/Z columns as starfile types them (null when a block lacks one of them);
`strings` holds the columns starfile kept as text (not a numeric dtype), which is what a
string filter is compared with. Test-only: the ingester never runs Python.
"""

import json
import math
import sys
from pathlib import Path

import imodmodel
import pandas as pd
import starfile

COORDS = ["rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ"]


def number(v):
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"non-finite value {v!r}")
    return v


def star_block(name, block):
    if isinstance(block, pd.DataFrame):
        columns = [str(c) for c in block.columns]
        coordinates = None
        if all(c in block.columns for c in COORDS):
            coordinates = [[number(v) for v in row] for row in block[COORDS].to_numpy()]
        strings = {
            str(c): [str(v) for v in block[c]]
            for c in block.columns
            if not pd.api.types.is_numeric_dtype(block[c])
        }
        return {"name": name, "kind": "loop", "columns": columns, "rows": len(block),
                "coordinates": coordinates, "strings": strings}
    # starfile reads `_key value` blocks as a dict.
    return {"name": name, "kind": "pairs", "columns": [str(k) for k in block], "rows": 1,
            "coordinates": None, "strings": {}}


def dump_star(root):
    out = {}
    for path in sorted(root.rglob("*.star")):
        name = path.relative_to(root).as_posix()
        try:
            blocks = starfile.read(path, always_dict=True)
            out[name] = {"blocks": [star_block(k, v) for k, v in blocks.items()]}
        except Exception as e:  # noqa: BLE001 - reported, the test decides
            out[name] = {"error": f"{type(e).__name__}: {e}"}
    return out


def dump_mod(root):
    out = {}
    for path in sorted(root.rglob("*.mod")):
        name = path.relative_to(root).as_posix()
        try:
            df = imodmodel.read(path)
        except Exception as e:  # noqa: BLE001
            out[name] = {"error": f"{type(e).__name__}: {e}"}
            continue
        entry = {
            "points": [[number(v) for v in row] for row in df[["x", "y", "z"]].to_numpy()],
            "objects": [int(v) for v in df["object_id"]],
            "contours": [int(v) for v in df["contour_id"]],
            "slicer_centers": None,
            "slicer_error": None,
        }
        try:
            s = imodmodel.read(path, annotation="slicer_angles")
            entry["slicer_centers"] = [
                [number(v) for v in row]
                for row in s[["center_x", "center_y", "center_z"]].to_numpy()
            ]
        except ValueError as e:
            entry["slicer_error"] = str(e)
        out[name] = entry
    return out


def main():
    base = Path(sys.argv[1])
    result = {
        "star": dump_star(base / "starfile-0.5.13" / "tests" / "data"),
        "mod": dump_mod(base / "imodmodel-0.1.0" / "tests" / "test_data"),
    }
    json.dump(result, sys.stdout, allow_nan=False)
    print()


if __name__ == "__main__":
    main()

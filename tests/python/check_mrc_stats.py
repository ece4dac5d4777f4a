"""Compares the dmean and rms of MRC headers with the reference's own arithmetic.

Usage: check_mrc_stats.py FILE.mrc [FILE.mrc ...]

The reference writes every MRC with `mrcfile.new(path, data)`, whose `update_header_stats`
sets `dmean = data.mean(dtype=np.float32)`, then overwrites
`rms = np.sqrt(np.mean((data - np.mean(data)) ** 2))`. This recomputes both from the file's
data with the reference's pins (numpy 1.26.4, mrcfile 1.5.4: the `reference-numerics` venv of
tests/python/setup_venv.sh) and prints one JSON object per file: the header's values, the
reference's, and whether their float32 bits are equal. Test-only.
"""

import json
import sys

import mrcfile
import numpy as np


def bits(value):
    return int(np.float32(value).view(np.uint32))


def main():
    report = {"numpy": np.__version__, "mrcfile": mrcfile.__version__, "files": []}
    for path in sys.argv[1:]:
        with mrcfile.open(path, permissive=True) as m:
            data = np.asarray(m.data)
            header = m.header
            ours = {"dmean": float(header.dmean), "rms": float(header.rms)}
        ref = {
            "dmean": data.mean(dtype=np.float32),
            "rms": np.sqrt(np.mean((data - np.mean(data)) ** 2)),
        }
        report["files"].append(
            {
                "path": path,
                "dtype": str(data.dtype),
                "shape": list(data.shape),
                "ours": ours,
                "reference": {k: float(np.float32(v)) for k, v in ref.items()},
                "equal": {k: bits(ours[k]) == bits(ref[k]) for k in ref},
            }
        )
    print(json.dumps(report))


if __name__ == "__main__":
    main()

"""Compares the pyramid levels of a standardized volume, bit for bit, with the reference's.

Usage: check_block_reduce.py SOURCE.mrc OUT.zarr BZ

The reference reads the source as float32 and makes each level from the one before with
`skimage.measure.block_reduce(level, (bz, 2, 2), np.mean)` (cval 0), on float32. This runs that
with the reference's pins (numpy 1.26.4, scikit-image 0.22.0: the `reference-numerics` venv of
tests/python/setup_venv.sh) and prints one JSON object: per level its shape and the number of
voxels whose float32 bits differ. Test-only: the ingester never runs Python.
"""

import json
import sys

import mrcfile
import numpy as np
import skimage
import zarr
from skimage.measure import block_reduce


def main():
    source, out, bz = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with mrcfile.open(source, permissive=True) as m:
        level = np.asarray(m.data).astype(np.float32)
    group = zarr.open_group(out, mode="r")
    levels = []
    for i in range(3):
        ours = group[str(i)][...]
        report = {"shape": list(level.shape), "dtype": str(ours.dtype)}
        if ours.shape == level.shape and ours.dtype == np.float32:
            report["differing"] = int((ours.view(np.uint32) != level.view(np.uint32)).sum())
        else:
            report["differing"] = None
        levels.append(report)
        level = block_reduce(level, (bz, 2, 2), np.mean)
        assert level.dtype == np.float32, level.dtype
    print(json.dumps({"numpy": np.__version__, "skimage": skimage.__version__, "levels": levels}))


if __name__ == "__main__":
    main()

"""Contrast limits of a float32 volume by the portal's GMM rule, computed with numpy and
scikit-learn themselves, to check src/formats/neuroglancer/contrast.rs.

    python gmm_contrast.py RAW Z Y X     (RAW: little-endian float32, C order)

Prints the two limits as JSON. The rule (spec §10.2, cryoet-data-portal-neuroglancer 1.7.1):
keep the sections within 15 of the central one, sample int(0.3 * voxels) of them without
replacement with default_rng(42) when fewer than kept, fit 1..3-component mixtures and keep the
lowest BIC, then mean - a*sd, mean + b*sd of the component nearest the sample mean.
"""
import json
import math
import sys

import numpy as np
from sklearn.mixture import GaussianMixture

raw, z, y, x = sys.argv[1], *map(int, sys.argv[2:5])
vol = np.fromfile(raw, dtype="<f4").reshape(z, y, x)
centre = 0.5 * z - 0.5
lo_z = max(0, int(math.ceil(centre - 15)))
hi_z = min(z, int(math.floor(centre + 15) + 1))
kept = vol[lo_z:hi_z].flatten()
wanted = int(np.prod(vol.shape) * 0.3)
if wanted <= kept.size:
    kept = np.random.default_rng(42).choice(kept, wanted, replace=False)
col = kept.reshape(-1, 1)


def mixture(k, iters):
    return GaussianMixture(
        n_components=k, covariance_type="full", max_iter=iters, random_state=42,
        init_params="k-means++",
    ).fit(col)


bics = []
for k in (1, 2, 3):
    try:
        bics.append(mixture(k, 100).bic(col))
    except ValueError:
        bics.append(np.inf)
best = int(np.argmin(bics)) + 1
g = mixture(best, 300)
means = g.means_.flatten()
sds = np.sqrt(g.covariances_.flatten())
i = int(np.argmin(np.abs(means - np.mean(kept))))
a, b = {1: (2.0, 0.5), 2: (2.2, 0.65), 3: (3.0, 0.8)}[best]
low = float(max(means[i] - a * sds[i], np.min(kept)))
high = float(min(means[i] + b * sds[i], np.max(kept)))
print(json.dumps({"limits": [low, high], "components": best}))

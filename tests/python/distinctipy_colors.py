"""Prints, as JSON, what distinctipy (and the portal's filter over it) returns for the cases on
stdin, for tests/palette.rs to compare with src/volume/palette.rs exactly.

stdin: {"distinctipy": [{"n", "exclude" (list or null), "seed"}],
        "portal": [{"n", "exclude", "seed"}],
        "seeds": [hash input objects]}
The portal filter and seed are restated from the spec (§10.2), not imported from the reference.
"""
import colorsys
import hashlib
import json
import sys

import distinctipy


def portal(n, exclude, seed):
    if n > 20:
        base = portal(20, exclude, seed)
        return [base[i % 20] for i in range(n)]
    colors = distinctipy.get_colors(n, exclude_colors=exclude, rng=seed)
    keep = []
    for c in colors:
        _, s, v = colorsys.rgb_to_hsv(*c)
        if s > 0.15 and v > 0.25:
            keep.append(c)
    if len(keep) < n:
        return keep + portal(n - len(keep), exclude + colors, seed)
    return keep


def tuples(xs):
    return None if xs is None else [tuple(x) for x in xs]


cases = json.load(sys.stdin)
out = {
    "distinctipy": [
        [list(c) for c in distinctipy.get_colors(k["n"], exclude_colors=tuples(k["exclude"]), rng=k["seed"])]
        for k in cases["distinctipy"]
    ],
    "portal": [[list(c) for c in portal(k["n"], tuples(k["exclude"]), k["seed"])] for k in cases["portal"]],
    "seeds": [
        int(hashlib.md5(json.dumps(h, sort_keys=True).encode("utf-8")).hexdigest(), 16) % (2**32 - 1)
        for h in cases["seeds"]
    ],
}
json.dump(out, sys.stdout)

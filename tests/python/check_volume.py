"""Checks a standardized volume with the ecosystem's own readers (zarr-python 2.18, mrcfile).

Usage: check_volume.py SPEC.json
SPEC: {"source": source.mrc, "zarr": out.zarr | null, "mrc": out.mrc | null,
       "kind": "tomogram" | "tiltseries" | "semantic" | "instance",
       "voxel_spacing": float, "label": int, "threshold": float | null}

Prints one JSON object on stdout: {"ok": bool, "errors": [...], "facts": {...}}; exit code 0 when
every check passed. Test-only: the ingester never runs Python.
"""

import io
import json
import sys

import mrcfile
import numpy as np
import zarr


def source_level0(spec):
    with mrcfile.open(spec["source"], permissive=True) as m:
        data = np.asarray(m.data)
        dmax = float(m.header.dmax)
    if data.dtype == np.int8 and dmax > 127:
        data = np.where(data < 0, 128 + data.astype(np.int16), -128 + data.astype(np.int16))
    data = data.astype(np.float32)
    kind = spec["kind"]
    if kind == "semantic":
        if spec.get("threshold") is not None:
            return (data >= np.float32(spec["threshold"])).astype(np.int8)
        return (data == spec["label"]).astype(np.int8)
    if kind == "instance":
        return data.astype(np.uint16)
    return data


def block_mean(a, block):
    pad = [(0, (-n) % b) for n, b in zip(a.shape, block)]
    p = np.pad(a.astype(np.float64), pad, constant_values=0)
    s = p.shape
    r = p.reshape(s[0] // block[0], block[0], s[1] // block[1], block[1], s[2] // block[2], block[2])
    return r.mean(axis=(1, 3, 5))


def next_level(a, kind, block):
    if kind == "instance":
        return a[:: block[0], ::2, ::2]
    m = block_mean(a, block)
    if kind == "semantic":
        return (m > 0).astype(np.int8)
    return m.astype(np.float32)


def main():
    spec = json.load(open(sys.argv[1]))
    errors = []
    facts = {}

    def check(cond, msg):
        if not cond:
            errors.append(msg)

    kind = spec["kind"]
    zs = 1 if kind == "tiltseries" else 2
    block = (zs, 2, 2)
    vs = spec["voxel_spacing"]
    want_dtype = {"semantic": np.int8, "instance": np.uint16}.get(kind, np.float32)
    want_chunks = [1, 1024, 1024] if kind == "tiltseries" else [256, 256, 256]

    levels = [source_level0(spec)]
    for _ in range(2):
        levels.append(next_level(levels[-1], kind, block))

    if spec.get("zarr"):
        g = zarr.open_group(spec["zarr"], mode="r")
        facts["zarr_arrays"] = sorted(g.array_keys())
        check(facts["zarr_arrays"] == ["0", "1", "2"], f"arrays {facts['zarr_arrays']}")
        ms = g.attrs["multiscales"]
        facts["multiscales"] = ms
        check(len(ms) == 1 and ms[0]["version"] == "0.4" and ms[0]["name"] == "/", "multiscales header")
        check([a["name"] for a in ms[0]["axes"]] == ["z", "y", "x"], "axes")
        check(all(a["type"] == "space" and a["unit"] == "angstrom" for a in ms[0]["axes"]), "axis units")
        facts["shapes"] = []
        for i in range(3):
            a = g[str(i)]
            facts["shapes"].append(list(a.shape))
            c = a.compressor
            check(a.dtype == want_dtype, f"level {i} dtype {a.dtype}")
            check(list(a.chunks) == want_chunks, f"level {i} chunks {a.chunks}")
            check(
                c.codec_id == "blosc" and c.cname == "lz4" and c.clevel == 5 and c.shuffle == 1 and c.blocksize == 0,
                f"level {i} compressor {c}",
            )
            check(a.fill_value == 0 and a.order == "C" and a.filters is None, f"level {i} fill/order/filters")
            # zarr-python spells the default fill as 0.0 for float arrays and 0 for ints.
            with open(f"{spec['zarr']}/{i}/.zarray") as f:
                raw_fill = json.load(f)["fill_value"]
            want_fill = float if want_dtype == np.float32 else int
            check(type(raw_fill) is want_fill, f"level {i} .zarray fill_value {raw_fill!r}")
            check(a._dimension_separator == "/", f"level {i} separator {a._dimension_separator}")
            ds = ms[0]["datasets"][i]
            want_scale = [vs * zs**i, vs * 2**i, vs * 2**i]
            got_scale = ds["coordinateTransformations"][0]["scale"]
            check(ds["path"] == str(i) and np.allclose(got_scale, want_scale), f"level {i} scale {got_scale}")
            data = a[...]
            ref = levels[i]
            check(data.shape == ref.shape, f"level {i} shape {data.shape} vs {ref.shape}")
            if data.shape == ref.shape:
                if want_dtype == np.float32:
                    same = np.allclose(data, ref, rtol=1e-5, atol=1e-5)
                else:
                    same = np.array_equal(data, ref)
                check(bool(same), f"level {i} values differ from the numpy reference")
        if kind == "instance":
            labels = [int(v) for v in np.unique(levels[0]) if v > 0]
            # Where the reference's ome-zarr writer puts it: multiscales[0].metadata.
            check("image-label" not in g.attrs, "image-label at the top of .zattrs")
            metadata = g.attrs["multiscales"][0].get("metadata", {})
            colors = metadata.get("image-label", {}).get("colors", [])
            facts["label_values"] = [c["label-value"] for c in colors]
            check(facts["label_values"] == labels, f"image-label {facts['label_values']} vs {labels}")

    if spec.get("mrc"):
        out = io.StringIO()
        valid = mrcfile.validate(spec["mrc"], print_file=out)
        facts["mrc_validate"] = bool(valid)
        facts["mrc_validate_output"] = out.getvalue()
        check(valid, "mrcfile.validate failed: " + out.getvalue())
        with mrcfile.open(spec["mrc"], permissive=False) as m:
            h = m.header
            facts["mrc_mode"] = int(h.mode)
            facts["mrc_voxel_size"] = [float(m.voxel_size.x), float(m.voxel_size.y), float(m.voxel_size.z)]
            facts["mrc_ispg"] = int(h.ispg)
            facts["mrc_label0"] = h.label[0].decode(errors="replace")
            check(np.isclose(float(m.voxel_size.y), vs, rtol=1e-6), f"voxel size {m.voxel_size}")
            data = np.asarray(m.data)
            ref = levels[0]
            check(data.dtype == want_dtype, f"mrc dtype {data.dtype}")
            check(data.shape == ref.shape and np.array_equal(data, ref), "mrc data differs from level 0")
            d64 = ref.astype(np.float64)
            check(np.isclose(h.dmin, d64.min()) and np.isclose(h.dmax, d64.max()), "dmin/dmax")
            check(np.isclose(h.dmean, d64.mean(), rtol=1e-5, atol=1e-5), f"dmean {h.dmean} vs {d64.mean()}")
            check(np.isclose(h.rms, d64.std(), rtol=1e-5, atol=1e-5), f"rms {h.rms} vs {d64.std()}")
            check(h.label[0].startswith(b"Validated by cryoET data portal."), "label 0")
            check(int(h.nlabl) == 1, f"nlabl {h.nlabl}")
            # What mrcfile.new writes (mrcfile 1.5.4, the reference's).
            facts["mrc_nversion"] = int(h.nversion)
            check(int(h.nversion) == 20141, f"nversion {h.nversion}")

    print(json.dumps({"ok": not errors, "errors": errors, "facts": facts}))
    sys.exit(0 if not errors else 1)


if __name__ == "__main__":
    main()

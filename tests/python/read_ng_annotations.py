"""Reads a neuroglancer precomputed annotation directory and prints it as JSON.

Written from neuroglancer's format description (src/datasource/precomputed/annotations.md):
each annotation is its float32le geometry, then its properties grouped by decreasing
alignment (uint32/int32/float32, then uint16/int16, then uint8/int8/rgb/rgba; in info order
within a group), then zero padding to 4 bytes. The sharded `by_id` index is unpacked by
cloud-volume's own ShardReader (`neuroglancer_uint64_sharded_v1`, gzip), and the dimensions are
parsed by neuroglancer's CoordinateSpace.

    read_ng_annotations.py DIR [--ndjson FILE]   # print {info, files, by_id, spatial, ...}
    read_ng_annotations.py compare DIR_A DIR_B   # exit 1 unless both decode to the same content

With --ndjson of instance points, `instance_set_order` is list({d["instance_id"] for d in records}) as this
Python iterates it (the order the portal's colours and enum values follow).
"""

import json
import os
import struct
import sys

import neuroglancer
from cloudvolume.datasource.precomputed.sharding import ShardingSpecification, ShardReader

# type: (struct code, count, alignment group)
TYPES = {
    "uint32": ("<I", 1, 4), "int32": ("<i", 1, 4), "float32": ("<f", 1, 4),
    "uint16": ("<H", 1, 2), "int16": ("<h", 1, 2),
    "uint8": ("<B", 1, 1), "int8": ("<b", 1, 1), "rgb": ("<3B", 3, 1), "rgba": ("<4B", 4, 1),
}
GEOMETRY_POINTS = {"point": 1, "line": 2, "axis_aligned_bounding_box": 2, "ellipsoid": 2}


def layout(info):
    """(geometry float count, [(property id, struct code, offset)], record size)."""
    rank = len(info["dimensions"])
    geometry = rank * GEOMETRY_POINTS[info["annotation_type"].lower()]
    offset = 4 * geometry
    fields = []
    for group in (4, 2, 1):
        for prop in info["properties"]:
            code, _, align = TYPES[prop["type"]]
            if align == group:
                fields.append((prop["id"], code, offset))
                offset += struct.calcsize(code)
    size = (offset + 3) // 4 * 4
    return geometry, fields, size


def decode_record(data, geometry, fields):
    out = {"geometry": list(struct.unpack_from(f"<{geometry}f", data, 0)), "props": {}}
    for pid, code, offset in fields:
        values = struct.unpack_from(code, data, offset)
        out["props"][pid] = list(values) if len(values) > 1 else values[0]
    return out


def read(path):
    with open(os.path.join(path, "info")) as f:
        info = json.load(f)
    space = neuroglancer.CoordinateSpace(info["dimensions"])
    geometry, fields, size = layout(info)
    files = sorted(
        os.path.relpath(os.path.join(d, n), path) for d, _, names in os.walk(path) for n in names
    )

    by_id = {}
    by_id_meta = info["by_id"]
    by_id_dir = os.path.join(path, by_id_meta["key"])
    if "sharding" in by_id_meta:
        reader = ShardReader(None, None, ShardingSpecification.from_dict(by_id_meta["sharding"]))
        for name in sorted(os.listdir(by_id_dir)):
            with open(os.path.join(by_id_dir, name), "rb") as f:
                for label, blob in reader.disassemble_shard(f.read()).items():
                    if len(blob) != size:
                        raise ValueError(f"by_id {label}: {len(blob)} bytes, expected {size}")
                    by_id[int(label)] = decode_record(blob, geometry, fields)
    else:
        for name in os.listdir(by_id_dir):
            with open(os.path.join(by_id_dir, name), "rb") as f:
                by_id[int(name)] = decode_record(f.read(), geometry, fields)

    spatial = []
    for level in info["spatial"]:
        level_dir = os.path.join(path, level["key"])
        for name in sorted(os.listdir(level_dir)):
            with open(os.path.join(level_dir, name), "rb") as f:
                blob = f.read()
            (count,) = struct.unpack_from("<Q", blob, 0)
            if len(blob) != 8 + count * (size + 8):
                raise ValueError(f"{level['key']}/{name}: {len(blob)} bytes for {count} records")
            ids = struct.unpack_from(f"<{count}Q", blob, 8 + count * size)
            records = [
                decode_record(blob[8 + i * size: 8 + (i + 1) * size], geometry, fields)
                for i in range(count)
            ]
            spatial.append({"key": level["key"], "cell": name, "ids": list(ids), "records": records})
    return {
        "info": info,
        "rank": space.rank,
        "scales": [float(s) for s in space.scales],
        "units": list(space.units),
        "files": files,
        "record_size": size,
        "by_id": {str(k): v for k, v in sorted(by_id.items())},
        "spatial": spatial,
    }


def main(argv):
    if argv[0] == "compare":
        a, b = read(argv[1]), read(argv[2])
        for key in a:
            if a[key] != b[key]:
                print(f"differ in {key}:\n{json.dumps(a[key])[:2000]}\n{json.dumps(b[key])[:2000]}")
                return 1
        print(f"same: {len(a['by_id'])} annotations, files {a['files']}")
        return 0
    out = read(argv[0])
    if "--ndjson" in argv:
        with open(argv[argv.index("--ndjson") + 1]) as f:
            records = [json.loads(line) for line in f if line.strip()]
        if all("instance_id" in d for d in records):
            out["instance_set_order"] = list({d["instance_id"] for d in records})
    json.dump(out, sys.stdout, allow_nan=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env bash
# Creates the Python venv used by the integration tests to check outputs with the ecosystem's
# own readers (zarr-python, mrcfile). Python is a test-only dependency, never a runtime one.
# It also unpacks the source distributions of `starfile` and `imodmodel` into
# `$venv/sample-data/` (their test data: STAR tables and IMOD models that tests/package_samples.rs
# reads in place and compares with what those packages read; the wheels ship no samples).
#
#   tests/python/setup_venv.sh            # venv at <repo>/.venv
#   CRYOET_TEST_VENV=/path tests/python/setup_venv.sh
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${CRYOET_TEST_VENV:-$repo/.venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
# Pinned to the reference's lock where it matters (zarr v2 reader; spec header; trimesh, which
# the reference converts meshes with and whose loader checks our glb files; h5py, which writes
# the EMDB-SFF .hff test inputs as the reference's generator does). moto's server is the
# S3-compatible server the S3 tests start on 127.0.0.1 (listings with ETags, multipart,
# If-None-Match / If-Match). distinctipy is the reference's annotation colour generator, which
# src/volume/palette.rs reproduces. neuroglancer (the reference's pin), cloud-volume and
# DracoPy (the reference's lock) read the neuroglancer precomputed outputs (annotations,
# sharded indices, segmentations, Draco mesh fragments) back.
# scikit-learn (the reference's lock: 1.8.0) fits the
# Gaussian mixtures the neuroglancer contrast limits come from, which
# src/formats/neuroglancer/contrast.rs reproduces. neuroglancer 2.41.2 (the reference's lock)
# ships the built viewer client under neuroglancer/static/client, which the screenshot test
# serves on 127.0.0.1 to load our states in headless Chromium. zmesh 1.9.0 (the reference's
# lock) is igneous's mesher: tests/zmesh_parity.rs compares our LOD 0 meshes with its output.
# pyfqmr 0.5.0 (the reference's lock) is the quadric decimation of the mesh LODs, which
# src/formats/neuroglancer/fqmr.rs reproduces; tests/fqmr_parity.rs compares the two.
# shapely (the reference's lock: 2.1.2) is what trimesh's plane slicing imports; with
# mapbuffer 1.1.0 and task-queue 2.14.3 (the reference's lock) it lets igneous's
# multi-resolution mesher run (below).
"$venv/bin/python" -m pip install --quiet \
    "zarr==2.18.7" \
    "numcodecs" \
    "mrcfile" \
    "numpy" \
    "trimesh==4.10.1" \
    "h5py==3.15.1" \
    "moto[server]==5.1.*" \
    "starfile==0.5.13" \
    "imodmodel==0.1.0" \
    "distinctipy==1.3.4" \
    "neuroglancer==2.41.2" \
    "scikit-learn==1.8.0" \
    "cloud-volume==10.5.0" \
    "DracoPy==1.5.0" \
    "zmesh==1.9.0" \
    "pyfqmr==0.5.0" \
    "shapely==2.1.2" \
    "mapbuffer==1.1.0" \
    "task-queue==2.14.3"
# igneous-pipeline 4.30.0 (the reference's lock) cuts the multi-resolution mesh octree
# (tests/octree_parity.rs runs its create_octree_level_from_mesh against
# src/formats/neuroglancer/multilod.rs). Without its dependencies: the test imports only
# igneous.tasks.mesh.multires, whose imports the line above provides; the rest of igneous
# (skeletons, image tasks) would pull OpenCV, kimimaro and more.
"$venv/bin/python" -m pip install --quiet --no-deps "igneous-pipeline==4.30.0"

# A second venv, inside the first, pinned to the reference's numerics (its lock: numpy 1.26.4,
# scikit-image 0.22.0, zarr 2.18.7, numcodecs 0.15.1, mrcfile 1.5.4): the float pyramid levels
# must equal its float32 `block_reduce` bit for bit (tests/pyramid_parity.rs), and numpy's
# summation order is what decides the last bit. Apart because the main venv's pandas (starfile,
# imodmodel) needs numpy 2.
numerics="$venv/reference-numerics"
if [ ! -x "$numerics/bin/python" ]; then
    "$python" -m venv "$numerics"
fi
"$numerics/bin/python" -m pip install --quiet --upgrade pip
"$numerics/bin/python" -m pip install --quiet \
    "numpy==1.26.4" \
    "scikit-image==0.22.0" \
    "zarr==2.18.7" \
    "numcodecs==0.15.1" \
    "mrcfile==1.5.4"

# The sample files of the packages above: only their sdists carry them. Unpacked once; a
# folder already there is kept as it is.
samples="$venv/sample-data"
mkdir -p "$samples"
need=()
for pkg in starfile-0.5.13 imodmodel-0.1.0; do
    [ -d "$samples/$pkg" ] || need+=("${pkg%-*}==${pkg##*-}")
done
if [ "${#need[@]}" -gt 0 ]; then
    sdists="$(mktemp -d)"
    trap 'rm -rf "$sdists"' EXIT
    "$venv/bin/python" -m pip download --quiet --no-deps --no-binary :all: \
        "${need[@]}" -d "$sdists"
    for archive in "$sdists"/*.tar.gz; do
        name="$(basename "$archive" .tar.gz)"
        # Unpack beside, then move into place, so an interrupted run leaves no half folder.
        tar -xzf "$archive" -C "$sdists"
        mv "$sdists/$name" "$samples/$name"
    done
fi
"$venv/bin/python" - <<'PY'
import importlib.metadata as md
import zarr, numcodecs, mrcfile, numpy, trimesh, h5py, moto, starfile, imodmodel, distinctipy
import neuroglancer, cloudvolume, DracoPy, sklearn, pyfqmr, shapely, mapbuffer, taskqueue
print("venv ready:", "zarr", zarr.__version__, "numcodecs", numcodecs.__version__,
      "mrcfile", mrcfile.__version__, "numpy", numpy.__version__, "trimesh", trimesh.__version__,
      "h5py", h5py.__version__, "moto", moto.__version__,
      "starfile", md.version("starfile"), "imodmodel", md.version("imodmodel"), "distinctipy", md.version("distinctipy"),
      "neuroglancer", md.version("neuroglancer"), "cloud-volume", md.version("cloud-volume"),
      "scikit-learn", sklearn.__version__, "pyfqmr", md.version("pyfqmr"),
      "igneous-pipeline", md.version("igneous-pipeline"))
PY
"$numerics/bin/python" -c 'import numpy, skimage, zarr; print("reference-numerics ready: numpy", numpy.__version__, "scikit-image", skimage.__version__, "zarr", zarr.__version__)'

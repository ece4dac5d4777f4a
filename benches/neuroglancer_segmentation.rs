//! One-shot timing of `encode_segmentation` (compressed_segmentation chunks, marching cubes,
//! multi-LOD meshes, shards) on a 256×512×512 uint16 instance mask with a dozen spheres,
//! written first by the project's own volume writer.
//!
//! `cargo bench --bench neuroglancer_segmentation` (plain harness). Environment:
//! `NG_BENCH_DIR` (default a temporary folder) keeps the mask zarr and the output there, so
//! other tools can be timed on the same mask; `NG_BENCH_ZARR` encodes an existing mask zarr
//! instead of generating one; `NG_BENCH_RES` is the resolution in nm (default 1.348).

use cryoet_ingest::formats::mrc::MrcHeader;
use cryoet_ingest::formats::neuroglancer::segmentation::encode_segmentation;
use cryoet_ingest::volume::{standardize, VolumeKind, VolumeOptions, VolumeSource};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

const SHAPE: [usize; 3] = [256, 512, 512];
const OBJECTS: usize = 12;

/// Writes the mask MRC section by section: `OBJECTS` seeded spheres, radius 20–60 voxels.
fn make_mask_mrc(path: &Path) {
    let [nz, ny, nx] = SHAPE;
    let mut s = 12345u64;
    let mut next = |m: usize| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % m as u64) as i64
    };
    let spheres: Vec<([i64; 3], i64)> = (0..OBJECTS)
        .map(|_| ([next(nz), next(ny), next(nx)], 20 + next(40)))
        .collect();
    let h = MrcHeader::for_volume(SHAPE, 6, 13.48);
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut head = h.to_bytes().to_vec();
    head.resize(1024 + h.nsymbt.max(0) as usize, 0);
    f.write_all(&head).unwrap();
    let mut section = vec![0u8; ny * nx * 2];
    for z in 0..nz as i64 {
        section.fill(0);
        for (i, (c, r)) in spheres.iter().enumerate() {
            let dz = z - c[0];
            if dz.abs() >= *r {
                continue;
            }
            for y in 0..ny as i64 {
                for x in 0..nx as i64 {
                    let (dy, dx) = (y - c[1], x - c[2]);
                    if dz * dz + dy * dy + dx * dx < r * r {
                        let at = (y as usize * nx + x as usize) * 2;
                        section[at..at + 2].copy_from_slice(&(i as u16 + 1).to_le_bytes());
                    }
                }
            }
        }
        f.write_all(&section).unwrap();
    }
    f.flush().unwrap();
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument other than ours skips the run.
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && a != "neuroglancer_segmentation")
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir =
        std::env::var_os("NG_BENCH_DIR").map_or_else(|| tmp.path().to_path_buf(), PathBuf::from);
    std::fs::create_dir_all(&dir).unwrap();
    let res: f64 = std::env::var("NG_BENCH_RES")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1.348);
    let zarr = match std::env::var_os("NG_BENCH_ZARR") {
        Some(z) => PathBuf::from(z),
        None => {
            let t = Instant::now();
            // Not `mask.mrc`: standardize clears `{stem}.mrc` from the folder it writes into.
            let mrc = dir.join("mask_source.mrc");
            make_mask_mrc(&mrc);
            let file = std::fs::File::open(&mrc).unwrap();
            let mut opts = VolumeOptions::new("mask");
            opts.write_mrc = false;
            let out = standardize(
                &VolumeSource::Mrc(&file),
                "mask_source.mrc",
                VolumeKind::InstanceMask,
                &opts,
                &dir,
            )
            .unwrap();
            std::fs::remove_file(&mrc).unwrap();
            eprintln!(
                "mask {SHAPE:?} with {OBJECTS} objects written in {:.2?}",
                t.elapsed()
            );
            dir.join(out.zarr_dir.unwrap())
        }
    };
    let out = dir.join("segmentation");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let t = Instant::now();
    encode_segmentation(&zarr, &out, res).unwrap();
    let elapsed = t.elapsed();
    let shard_bytes: u64 = std::fs::read_dir(out.join("mesh"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    println!(
        "encode_segmentation {}: {:.2?} (mesh/ {} bytes)",
        zarr.display(),
        elapsed,
        shard_bytes
    );
}

//! Volume kernels: pooling one 256³ chunk, Blosc-lz4 encoding one chunk, the end-to-end
//! `standardize` of a 256×512×512 float32 tomogram, and the "floor" it is judged against (read
//! the same input bytes, Blosc-lz4 compress them in 64 MiB pieces on all cores, write them).
//!
//! `cargo bench --bench volume_kernels` runs the criterion groups. For a one-shot timing with
//! peak RSS (Linux `VmHWM`) of a given shape, without criterion's repetitions:
//! `VOLUME_BENCH_ONCE=256x512x512 cargo bench --bench volume_kernels` (`VOLUME_BENCH_ROUNDS`
//! rounds, default 5; input in `VOLUME_BENCH_DIR`, default /tmp).

use criterion::{criterion_group, Criterion, Throughput};
use cryoet_ingest::formats::mrc::MrcHeader;
use cryoet_ingest::formats::omezarr::{encode_chunk, ZarrDtype};
use cryoet_ingest::volume::pyramid::{pool_chunk_into, SumOrder};
use cryoet_ingest::volume::{standardize, VolumeKind, VolumeOptions, VolumeSource};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

#[path = "common/floor.rs"]
mod floor;
use floor::floor;

const C: usize = 256;

/// Noise-like float32 data (what tomograms look like to a compressor).
fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 4.0
        })
        .collect()
}

/// Writes a float32 MRC of `shape` section by section (bounded memory).
fn make_mrc(path: &Path, shape: [usize; 3]) {
    let [nz, ny, nx] = shape;
    let h = MrcHeader::for_volume(shape, 2, 10.0);
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    f.write_all(&h.to_bytes()).unwrap();
    for z in 0..nz {
        let sec = noise(ny * nx, z as u64 + 1);
        let bytes: Vec<u8> = sec.iter().flat_map(|v| v.to_le_bytes()).collect();
        f.write_all(&bytes).unwrap();
    }
    f.flush().unwrap();
}

fn run_standardize(src: &Path, staging: &Path) {
    let f = std::fs::File::open(src).unwrap();
    let opts = VolumeOptions::new("tomo");
    standardize(
        &VolumeSource::Mrc(&f),
        "bench.mrc",
        VolumeKind::Tomogram,
        &opts,
        staging,
    )
    .unwrap();
}

fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn bench_kernels(c: &mut Criterion) {
    let src = noise(C * C * C, 1);
    let mut dst = vec![0f32; C * C * C];
    let mut g = c.benchmark_group("kernels");
    g.sample_size(10);
    g.throughput(Throughput::Bytes((C * C * C * 4) as u64));
    g.bench_function("pool_chunk_f32_256", |b| {
        b.iter(|| pool_chunk_into(&src, [C, C, C], 2, &mut dst, [128, 0, 128], SumOrder::Pairs))
    });
    let bytes: Vec<u8> = src.iter().flat_map(|v| v.to_le_bytes()).collect();
    g.bench_function("encode_chunk_f32_256_blosc_lz4", |b| {
        b.iter(|| encode_chunk(&bytes, ZarrDtype::F4, 1, "bench").unwrap())
    });
    g.finish();
}

fn bench_end_to_end(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in.mrc");
    make_mrc(&src, [256, 512, 512]);
    let mut g = c.benchmark_group("tomogram_256x512x512_f32");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Bytes(256 * 512 * 512 * 4));
    g.bench_function("floor_read_compress_write", |b| {
        b.iter(|| {
            let out = tempfile::tempdir_in(dir.path()).unwrap();
            floor(&src, out.path())
        })
    });
    g.bench_function("standardize_mrc_and_3_level_zarr", |b| {
        b.iter(|| {
            let out = tempfile::tempdir_in(dir.path()).unwrap();
            run_standardize(&src, out.path())
        })
    });
    g.finish();
}

criterion_group!(benches, bench_kernels, bench_end_to_end);

fn main() {
    if let Ok(shape) = std::env::var("VOLUME_BENCH_ONCE") {
        let dims: Vec<usize> = shape.split('x').map(|d| d.parse().unwrap()).collect();
        let shape = [dims[0], dims[1], dims[2]];
        let dir = tempfile::tempdir_in(
            std::env::var("VOLUME_BENCH_DIR").unwrap_or_else(|_| "/tmp".into()),
        )
        .unwrap();
        let src = dir.path().join("in.mrc");
        make_mrc(&src, shape);
        let rss_before = peak_rss_mib();
        let mut ratios = Vec::new();
        let rounds: usize = std::env::var("VOLUME_BENCH_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(5);
        for round in 0..rounds {
            let out = tempfile::tempdir_in(dir.path()).unwrap();
            let t = Instant::now();
            let bytes = floor(&src, out.path());
            let floor_s = t.elapsed().as_secs_f64();
            drop(out);
            let out = tempfile::tempdir_in(dir.path()).unwrap();
            let t = Instant::now();
            run_standardize(&src, out.path());
            let std_s = t.elapsed().as_secs_f64();
            println!(
                "round {round}: shape {shape:?}: floor {floor_s:.3} s ({} MiB compressed), standardize {std_s:.3} s, ratio {:.2}",
                bytes >> 20,
                std_s / floor_s
            );
            ratios.push((std_s, floor_s));
        }
        ratios.sort_by(|a, b| a.0.total_cmp(&b.0));
        let best_floor = ratios.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
        println!(
            "best standardize {:.3} s, best floor {:.3} s, ratio of bests {:.2}",
            ratios[0].0,
            best_floor,
            ratios[0].0 / best_floor
        );
        println!(
            "peak RSS: {:.0} MiB (after generating the input: {:.0} MiB)",
            peak_rss_mib().unwrap_or(f64::NAN),
            rss_before.unwrap_or(f64::NAN)
        );
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

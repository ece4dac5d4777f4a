//! Draco encoding of one ~100k-face mesh (marching cubes of a ball, as segmentation meshes
//! are made): the edgebreaker form fragments are written in against the sequential form they
//! were written in before. Prints both sizes once, then criterion times both.
//!
//! `cargo bench --bench draco_encode` (add `--profile dev` to reuse the test build).

use criterion::{criterion_group, criterion_main, Criterion};
use cryoet_ingest::formats::neuroglancer::draco::{encode_mesh, encode_sequential, Quantization};
use cryoet_ingest::formats::neuroglancer::zmesh_simplify::{mesh_block, ZmeshParams};

/// The marching-cubes mesh of a ball of radius 52 voxels in a 132³ block, in 16-bit stored
/// units (the block spans the range).
fn ball() -> (Vec<[u32; 3]>, Vec<[u32; 3]>) {
    let n = 132usize;
    let c = n as f32 / 2.0;
    let mut data = vec![0u32; n * n * n];
    for z in 0..n {
        for y in 0..n {
            for x in 0..n {
                let d = [x, y, z].map(|p| p as f32 - c);
                if d.iter().map(|v| v * v).sum::<f32>() < 52.0 * 52.0 {
                    data[(z * n + y) * n + x] = 1;
                }
            }
        }
    }
    let params = ZmeshParams {
        resolution: [1.0; 3],
        reduction_factor: 0,
        max_error: 0.0,
    };
    let (_, mesh) = mesh_block(&data, [n; 3], &params).remove(0);
    let stored = mesh
        .vertices
        .iter()
        .map(|v| v.map(|c| (f64::from(c) / n as f64 * 65535.0).round() as u32))
        .collect();
    (stored, mesh.faces)
}

fn bench(c: &mut Criterion) {
    let (v, f) = ball();
    let q = Quantization {
        bits: 16,
        origin: [0.0; 3],
        range: 65535.0,
    };
    let eb = encode_mesh(&v, &f, &q);
    let seq = encode_sequential(&v, &f, &q);
    println!(
        "{} vertices, {} faces: edgebreaker {} bytes, sequential {} bytes ({:.2}x)",
        v.len(),
        f.len(),
        eb.len(),
        seq.len(),
        seq.len() as f64 / eb.len() as f64
    );
    let mut g = c.benchmark_group("draco_encode_100k_faces");
    g.sample_size(20);
    g.bench_function("edgebreaker", |b| b.iter(|| encode_mesh(&v, &f, &q)));
    g.bench_function("sequential", |b| b.iter(|| encode_sequential(&v, &f, &q)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

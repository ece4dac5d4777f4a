//! A small, deterministic deposition source tree: the bundled demo (`dataset_configs/demo_source`)
//! and the fixture of the integration tests and benches.
//!
//! Files are written the way the producing software writes them: MRC2014 volumes, SerialEM
//! mdocs, IMOD `.xf`/`.tlt`/`.rawtlt`, CTFFIND4 text. Contents come from a seeded generator, so
//! the same arguments always give the same bytes.

use crate::formats::mrc::{DataStats, MrcHeader};
use std::fmt::Write as _;
use std::path::Path;

/// Shape of a generated deposition.
#[derive(Debug, Clone)]
pub struct DemoSpec {
    /// Run names.
    pub runs: Vec<String>,
    /// Tomogram shape (z, y, x).
    pub tomogram_shape: [usize; 3],
    /// Tilt angles (one tilt-series section and one frame per angle).
    pub tilts: Vec<f64>,
    /// Tilt-series image shape (y, x).
    pub tilt_shape: [usize; 2],
    /// Voxel spacing in Å.
    pub voxel_spacing: f32,
}

impl Default for DemoSpec {
    fn default() -> Self {
        DemoSpec {
            runs: vec!["TS_01".into(), "TS_02".into()],
            tomogram_shape: [16, 32, 32],
            tilts: vec![-6.0, -3.0, 0.0, 3.0, 6.0],
            tilt_shape: [32, 32],
            voxel_spacing: 13.48,
        }
    }
}

/// A tiny deterministic generator (SplitMix64): good enough for test data, no dependency.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// An MRC2014 file (mode 2, float32) holding `data` of shape (z, y, x), with its statistics.
pub fn mrc_bytes(shape: [usize; 3], voxel: f32, data: &[f32], ispg: i32) -> Vec<u8> {
    assert_eq!(
        data.len(),
        shape.iter().product::<usize>(),
        "data matches shape"
    );
    let stats = DataStats::from_values(data);
    let mut h = MrcHeader::for_volume(shape, 2, voxel);
    h.ispg = ispg;
    h.dmin = stats.min as f32;
    h.dmax = stats.max as f32;
    h.dmean = stats.mean as f32;
    h.rms = stats.std() as f32;
    let mut out = h.to_bytes().to_vec();
    out.reserve(data.len() * 4);
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// An int8 (mode 0) MRC of labels, as segmentation tools write them.
pub fn labels_mrc_bytes(shape: [usize; 3], voxel: f32, labels: &[i8]) -> Vec<u8> {
    assert_eq!(
        labels.len(),
        shape.iter().product::<usize>(),
        "labels match shape"
    );
    let stats = DataStats::from_values(&labels.iter().map(|&v| f64::from(v)).collect::<Vec<_>>());
    let mut h = MrcHeader::for_volume(shape, 0, voxel);
    h.dmin = stats.min as f32;
    h.dmax = stats.max as f32;
    h.dmean = stats.mean as f32;
    h.rms = stats.std() as f32;
    let mut out = h.to_bytes().to_vec();
    out.extend(labels.iter().map(|&v| v as u8));
    out
}

/// Labels 1..=n for `n` spheres placed by `rng` in a volume of `shape` (z, y, x).
fn spheres(rng: &mut Rng, shape: [usize; 3], n: i8) -> Vec<i8> {
    let [nz, ny, nx] = shape;
    let mut labels = vec![0i8; nz * ny * nx];
    for label in 1..=n {
        let r = 2.0 + 2.0 * f64::from(rng.next_f32());
        let c = [nz, ny, nx].map(|d| r + f64::from(rng.next_f32()) * (d as f64 - 2.0 * r));
        for z in 0..nz {
            for y in 0..ny {
                for x in 0..nx {
                    let d2 = [z, y, x]
                        .iter()
                        .zip(c)
                        .map(|(&p, c)| (p as f64 - c).powi(2))
                        .sum::<f64>();
                    if d2 <= r * r {
                        labels[(z * ny + y) * nx + x] = label;
                    }
                }
            }
        }
    }
    labels
}

/// A small gray gradient PNG (4:3), standing in for a deposition's key photo.
fn gradient_png(width: usize) -> Vec<u8> {
    let height = width * 3 / 4;
    let pixels: Vec<u8> = (0..height)
        .flat_map(|y| (0..width).map(move |x| ((x + y) * 255 / (width + height)) as u8))
        .collect();
    crate::key_image::encode_png(&crate::key_image::Gray {
        width,
        height,
        data: pixels,
    })
    .expect("a PNG of valid dimensions encodes")
}

fn noise(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.next_f32() * 2.0 - 1.0).collect()
}

fn write(root: &Path, rel: &str, bytes: &[u8]) -> std::io::Result<()> {
    let p = root.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(p, bytes)
}

/// A SerialEM `.mdoc` for a tilt series with one frame stack per tilt.
pub fn mdoc_text(run: &str, tilts: &[f64], voxel: f32) -> String {
    let mut s = format!(
        "PixelSpacing = {voxel}\nImageFile = {run}.mrc\nImageSize = 32 32\nDataMode = 1\n\n[T = SerialEM: Digitized on EMBL Krios]\n\n"
    );
    // Acquisition order: from 0 outwards, as a dose-symmetric scheme does.
    let mut order: Vec<usize> = (0..tilts.len()).collect();
    order.sort_by(|&a, &b| tilts[a].abs().total_cmp(&tilts[b].abs()).then(a.cmp(&b)));
    for (z, &i) in order.iter().enumerate() {
        let _ = write!(
            s,
            "[ZValue = {z}]\nTiltAngle = {:.2}\nStagePosition = 10.5 -3.2\nMagnification = 42000\nExposureTime = {:.2}\nSubFramePath = X:\\frames\\{run}_{i:03}.mrc\nDateTime = 01-Apr-23  10:{:02}:00\n\n",
            tilts[i],
            1.0 + 0.01 * z as f64,
            z
        );
    }
    s
}

/// Writes the source tree of `spec` under `root` (seeded by `seed`).
///
/// # Errors
/// I/O errors.
pub fn write_source_tree(root: &Path, spec: &DemoSpec, seed: u64) -> std::io::Result<()> {
    let mut rng = Rng::new(seed);
    let [tz, ty, tx] = spec.tomogram_shape;
    let [sy, sx] = spec.tilt_shape;
    let n = spec.tilts.len();
    write(
        root,
        "frames/gain_ref.gain",
        &mrc_bytes([1, 4, 4], 1.0, &[1.0; 16], 0),
    )?;
    for (name, width) in [("snapshot", 64), ("thumbnail", 32)] {
        write(
            root,
            &format!("key_photos/deposition_{name}.png"),
            &gradient_png(width),
        )?;
    }
    for run in &spec.runs {
        // Particle picks in voxels of the tomogram, as a picker's CSV export (x,y,z).
        let picks: String = (0..12)
            .map(|_| {
                let [z, y, x] = spec
                    .tomogram_shape
                    .map(|d| f64::from(rng.next_f32()) * d as f64);
                format!("{x:.2},{y:.2},{z:.2}\n")
            })
            .collect();
        write(
            root,
            &format!("particles/{run}_ribosomes.csv"),
            picks.as_bytes(),
        )?;
        let labels = spheres(&mut rng, spec.tomogram_shape, 2);
        write(
            root,
            &format!("labels/{run}_labels.mrc"),
            &labels_mrc_bytes(spec.tomogram_shape, spec.voxel_spacing, &labels),
        )?;
        let tomo = noise(&mut rng, tz * ty * tx);
        write(
            root,
            &format!("tomograms/{run}.mrc"),
            &mrc_bytes(spec.tomogram_shape, spec.voxel_spacing, &tomo, 1),
        )?;
        let ts = noise(&mut rng, n * sy * sx);
        write(
            root,
            &format!("tiltseries/{run}.mrc"),
            &mrc_bytes([n, sy, sx], spec.voxel_spacing / 4.0, &ts, 0),
        )?;
        let angles: String = spec.tilts.iter().map(|a| format!("{a:.2}\n")).collect();
        write(root, &format!("metadata/{run}.rawtlt"), angles.as_bytes())?;
        write(root, &format!("metadata/{run}.tlt"), angles.as_bytes())?;
        let xf: String = (0..n)
            .map(|i| {
                format!(
                    "{:>12.7}{:>12.7}{:>12.7}{:>12.7}{:>12.3}{:>12.3}\n",
                    0.9995,
                    -0.0316,
                    0.0316,
                    0.9995,
                    (i as f64) * 1.5 - 3.0,
                    2.0 - i as f64
                )
            })
            .collect();
        write(root, &format!("metadata/{run}.xf"), xf.as_bytes())?;
        write(
            root,
            &format!("metadata/{run}.mdoc"),
            mdoc_text(run, &spec.tilts, spec.voxel_spacing).as_bytes(),
        )?;
        let mut ctf = String::from(
            "# Output from CTFFind version 4.1.14\n# Columns: #1 - micrograph number; #2 - defocus 1 [Angstroms]; #3 - defocus 2; #4 - azimuth of astigmatism; #5 - additional phase shift [radians]; #6 - cross correlation; #7 - spacing (in Angstroms) up to which CTF rings were fit successfully\n",
        );
        for i in 0..n {
            let _ = writeln!(
                ctf,
                "{:.6} {:.6} {:.6} {:.6} {:.6} {:.6} {:.6}",
                (i + 1) as f64,
                30000.0 + 100.0 * i as f64,
                29500.0 + 100.0 * i as f64,
                45.0,
                0.0,
                0.05,
                8.5
            );
        }
        write(root, &format!("metadata/{run}_ctf.txt"), ctf.as_bytes())?;
        for i in 0..n {
            // Small stand-ins for frame stacks: the ingester copies them as they are.
            let frame = noise(&mut rng, 8 * 8);
            write(
                root,
                &format!("frames/{run}_{i:03}.mrc"),
                &mrc_bytes([1, 8, 8], 1.0, &frame, 0),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        write_source_tree(a.path(), &DemoSpec::default(), 7).unwrap();
        write_source_tree(b.path(), &DemoSpec::default(), 7).unwrap();
        let read = |d: &Path| std::fs::read(d.join("tomograms/TS_02.mrc")).unwrap();
        assert_eq!(read(a.path()), read(b.path()));
        assert_eq!(read(a.path()).len(), 1024 + 16 * 32 * 32 * 4);
    }

    #[test]
    fn mdoc_lists_every_tilt_once() {
        let text = mdoc_text("TS_01", &[-3.0, 0.0, 3.0], 13.48);
        assert_eq!(text.matches("[ZValue =").count(), 3);
        assert!(text.contains("TiltAngle = 0.00"));
        assert!(text.contains("SubFramePath = X:\\frames\\TS_01_001.mrc"));
    }
}

//! Resizing a source volume to another grid on the fly: the mask `rescale` of spec §7.4.
//!
//! Two resamplers, the ones the reference uses:
//! - [`Method::LocalMean`] is skimage's `resize_local_mean` (grid mode, `preserve_range`): every
//!   output voxel is the mean of the source voxels its box overlaps, weighted by the overlap.
//!   Along an axis of `old` source and `new` output voxels, output `j` spans
//!   `[j·old/new, (j+1)·old/new)` of the source (the last end is exactly `old`), and source `i`
//!   spans `[i, i+1)`; the weights are the overlap lengths, divided by their sum. It is
//!   separable, so it is applied per axis (an axis whose size does not change is left alone,
//!   as skimage does). Semantic masks use it (threshold after, or binarise before and `> 0`
//!   after; see [`super::run`]).
//! - [`Method::Nearest`] is scipy's `ndimage.zoom(order=0)` with its defaults (`grid_mode=False`,
//!   `mode="constant"`, `cval=0`): output `k` samples source `floor(k·(old−1)/(new−1) + 0.5)`
//!   (source 0 when `new` is 1). Like scipy, a coordinate that floating point puts past
//!   `old − 1` (it happens for the last output of some size pairs, e.g. 8 → 26) is outside the
//!   input and gives 0. Instance masks use it.
//!
//! Arithmetic is float64 inside a section and float32 between sections and in the result (the
//! rows the pipeline streams are float32); skimage works in float32 for float32 data and in
//! float64 otherwise, so results can differ from the reference in the last bits, which matters
//! only for a value that falls exactly on a threshold.
//!
//! Streaming: the pipeline asks for one chunk row (z range × y range, all of x) at a time; the
//! source sections it depends on are read a slab at a time (bounded memory), each resampled in
//! x and y in parallel, and accumulated into the output sections along z.

use super::{RowSource, VolumeError};
use rayon::prelude::*;
use std::ops::Range;
use std::sync::RwLock;

/// How to resample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// skimage `resize_local_mean` (area-weighted mean).
    LocalMean,
    /// scipy `ndimage.zoom(order=0)` (nearest neighbour).
    Nearest,
}

/// Source indices and weights of every output index along one axis.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Axis {
    taps: Vec<Vec<(usize, f64)>>,
    identity: bool,
}

impl Axis {
    pub(crate) fn new(method: Method, old: usize, new: usize) -> Self {
        if old == new {
            return Axis {
                taps: (0..new).map(|i| vec![(i, 1.0)]).collect(),
                identity: true,
            };
        }
        let taps = match method {
            Method::LocalMean => local_mean_taps(old, new),
            Method::Nearest => nearest_taps(old, new),
        };
        Axis {
            taps,
            identity: false,
        }
    }

    /// The source indices that outputs `range` read, ascending and distinct.
    fn sources(&self, range: Range<usize>) -> Vec<usize> {
        let mut s: Vec<usize> = self.taps[range]
            .iter()
            .flat_map(|t| t.iter().map(|&(i, _)| i))
            .collect();
        s.sort_unstable();
        s.dedup();
        s
    }

    /// Resamples `src` (samples at source indices `first..`, each a run of `lanes` values)
    /// into `out` for outputs `range` (each a run of `lanes` values).
    fn apply(&self, src: &[f64], first: usize, lanes: usize, range: Range<usize>, out: &mut [f64]) {
        for (o, j) in range.enumerate() {
            let row = &mut out[o * lanes..(o + 1) * lanes];
            row.fill(0.0);
            for &(i, w) in &self.taps[j] {
                let s = &src[(i - first) * lanes..(i - first + 1) * lanes];
                for (a, &b) in row.iter_mut().zip(s) {
                    *a += w * b;
                }
            }
        }
    }
}

/// skimage `_local_mean_weights(old, new, grid_mode=True)`, keeping the non-zero weights.
fn local_mean_taps(old: usize, new: usize) -> Vec<Vec<(usize, f64)>> {
    // numpy.linspace(0, old, new + 1): j * (old / new), and exactly `old` at the end.
    let step = old as f64 / new as f64;
    let brk = |j: usize| {
        if j == new {
            old as f64
        } else {
            j as f64 * step
        }
    };
    (0..new)
        .map(|j| {
            let (lo, hi) = (brk(j), brk(j + 1));
            let first = (lo.floor() as usize).min(old - 1);
            let last = (hi.ceil() as usize).clamp(first + 1, old);
            let mut taps: Vec<(usize, f64)> = (first..last)
                .map(|i| (i, (hi.min((i + 1) as f64) - lo.max(i as f64)).max(0.0)))
                .filter(|&(_, w)| w > 0.0)
                .collect();
            let sum: f64 = taps.iter().map(|&(_, w)| w).sum();
            for t in &mut taps {
                t.1 /= sum;
            }
            taps
        })
        .collect()
}

/// scipy `zoom(order=0, grid_mode=False, mode="constant")` along one axis.
fn nearest_taps(old: usize, new: usize) -> Vec<Vec<(usize, f64)>> {
    // scipy: zoom = (in − 1) / (out − 1), or 1 when out is 1.
    let zoom = if new > 1 {
        (old - 1) as f64 / (new - 1) as f64
    } else {
        1.0
    };
    let last = (old - 1) as f64;
    (0..new)
        .map(|k| {
            let cc = k as f64 * zoom;
            if cc > last {
                Vec::new() // outside the input: the constant 0
            } else {
                vec![((cc + 0.5).floor() as usize, 1.0)]
            }
        })
        .collect()
}

/// Source sections read per slab are capped at about this many bytes.
const SLAB_BYTES: usize = 256 << 20;

/// A row source resized from `inner` to `shape`.
pub(crate) struct Resized<'a> {
    inner: &'a dyn RowSource,
    src_shape: [usize; 3],
    shape: [usize; 3],
    axes: [Axis; 3],
    /// Applied to source values before resampling (binarising a semantic mask).
    pre: Option<Box<dyn Fn(f32) -> f32 + Sync + 'a>>,
    region: RwLock<(Range<usize>, Range<usize>, Vec<f32>)>,
}

impl<'a> Resized<'a> {
    pub(crate) fn new(
        inner: &'a dyn RowSource,
        src_shape: [usize; 3],
        shape: [usize; 3],
        method: Method,
        pre: Option<Box<dyn Fn(f32) -> f32 + Sync + 'a>>,
    ) -> Self {
        let axes = [0, 1, 2].map(|a| Axis::new(method, src_shape[a], shape[a]));
        Self {
            inner,
            src_shape,
            shape,
            axes,
            pre,
            region: RwLock::new((0..0, 0..0, Vec::new())),
        }
    }

    /// One source section's rows `ys` resampled in x and y to output rows `y` (all of x).
    fn plane(
        &self,
        z: usize,
        ys: &Range<usize>,
        y: &Range<usize>,
    ) -> Result<Vec<f32>, VolumeError> {
        let snx = self.src_shape[2];
        let nx = self.shape[2];
        let mut raw = vec![0f32; ys.len() * snx];
        self.inner.read_rows(z, ys.clone(), &mut raw)?;
        if let Some(pre) = &self.pre {
            raw.iter_mut().for_each(|v| *v = pre(*v));
        }
        if self.axes[1].identity && self.axes[2].identity {
            let off = (y.start - ys.start) * nx;
            return Ok(raw[off..off + y.len() * nx].to_vec());
        }
        // x: within each source row (one lane, samples contiguous).
        let raw: Vec<f64> = raw.into_iter().map(f64::from).collect();
        let mut rows = vec![0f64; ys.len() * nx];
        for (src, out) in raw.chunks_exact(snx).zip(rows.chunks_exact_mut(nx)) {
            self.axes[2].apply(src, 0, 1, 0..nx, out);
        }
        // y: rows are the samples, x the lanes.
        let mut out = vec![0f64; y.len() * nx];
        self.axes[1].apply(&rows, ys.start, nx, y.clone(), &mut out);
        Ok(out.into_iter().map(|v| v as f32).collect())
    }
}

impl RowSource for Resized<'_> {
    fn prepare(&self, z: Range<usize>, y: Range<usize>) -> Result<(), VolumeError> {
        let nx = self.shape[2];
        let snx = self.src_shape[2];
        let plane_len = y.len() * nx;
        let ys_list = self.axes[1].sources(y.clone());
        let ys = match (ys_list.first(), ys_list.last()) {
            (Some(&a), Some(&b)) => a..b + 1,
            _ => 0..0,
        };
        let zs = self.axes[0].sources(z.clone());
        let per_section = (ys.len() * snx * 4).max(1);
        let slab = (SLAB_BYTES / per_section).max(1);
        let mut out = vec![0f32; z.len() * plane_len];
        // Slabs of consecutive needed sections.
        let mut at = 0;
        while at < zs.len() {
            let mut end = at + 1;
            while end < zs.len() && end - at < slab && zs[end] == zs[end - 1] + 1 {
                end += 1;
            }
            let group = &zs[at..end];
            self.inner
                .prepare(group[0]..group[group.len() - 1] + 1, ys.clone())?;
            let planes: Vec<Vec<f32>> = group
                .par_iter()
                .map(|&sz| self.plane(sz, &ys, &y))
                .collect::<Result<_, _>>()?;
            out.par_chunks_mut(plane_len.max(1))
                .enumerate()
                .for_each(|(dz, o)| {
                    for &(sz, w) in &self.axes[0].taps[z.start + dz] {
                        if let Ok(p) = group.binary_search(&sz) {
                            let w = w as f32;
                            for (a, &b) in o.iter_mut().zip(&planes[p]) {
                                *a += w * b;
                            }
                        }
                    }
                });
            at = end;
        }
        *self.region.write().expect("region lock") = (z, y, out);
        Ok(())
    }

    fn read_rows(&self, z: usize, y: Range<usize>, out: &mut [f32]) -> Result<(), VolumeError> {
        let g = self.region.read().expect("region lock");
        let (rz, ry, data) = &*g;
        debug_assert!(rz.contains(&z) && ry.start <= y.start && y.end <= ry.end);
        let nx = self.shape[2];
        let start = ((z - rz.start) * ry.len() + (y.start - ry.start)) * nx;
        out.copy_from_slice(&data[start..start + y.len() * nx]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_mean_weights_are_overlap_fractions() {
        // 3 → 2: output 0 covers [0, 1.5): all of 0 and half of 1.
        assert_eq!(
            local_mean_taps(3, 2),
            vec![
                vec![(0, 1.0 / 1.5), (1, 0.5 / 1.5)],
                vec![(1, 0.5 / 1.5), (2, 1.0 / 1.5)]
            ]
        );
        // 2 → 4: every output lies inside one source voxel.
        assert_eq!(
            local_mean_taps(2, 4),
            vec![
                vec![(0, 1.0)],
                vec![(0, 1.0)],
                vec![(1, 1.0)],
                vec![(1, 1.0)]
            ]
        );
        // 4 → 2: pairs.
        assert_eq!(
            local_mean_taps(4, 2),
            vec![vec![(0, 0.5), (1, 0.5)], vec![(2, 0.5), (3, 0.5)]]
        );
        // 2 → 3: the middle output straddles both sources.
        let t = local_mean_taps(2, 3);
        assert_eq!(t[0], vec![(0, 1.0)]);
        assert_eq!(t[1].len(), 2);
        assert!((t[1][0].1 - 0.5).abs() < 1e-15 && (t[1][1].1 - 0.5).abs() < 1e-15);
        assert_eq!(t[2], vec![(1, 1.0)]);
    }

    #[test]
    fn nearest_follows_scipy_zoom_order_0() {
        let idx = |old, new| -> Vec<Option<usize>> {
            nearest_taps(old, new)
                .iter()
                .map(|t| t.first().map(|&(i, _)| i))
                .collect()
        };
        // 2 → 4: coordinates 0, 1/3, 2/3, 1 → 0, 0, 1, 1.
        assert_eq!(idx(2, 4), vec![Some(0), Some(0), Some(1), Some(1)]);
        // 5 → 3: 0, 2, 4.
        assert_eq!(idx(5, 3), vec![Some(0), Some(2), Some(4)]);
        // 4 → 3: 0, 1.5 → 2 (halves round up), 3.
        assert_eq!(idx(4, 3), vec![Some(0), Some(2), Some(3)]);
        // One output samples the first voxel.
        assert_eq!(idx(7, 1), vec![Some(0)]);
        // 8 → 26: 25 · (7/25) is just above 7 in floating point, so scipy gives 0 there.
        let t = idx(8, 26);
        assert_eq!(t[24], Some(7));
        assert_eq!(t[25], None);
    }
}

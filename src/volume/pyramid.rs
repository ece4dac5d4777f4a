//! Pyramid geometry and the pooling kernels (spec §6.2).
//!
//! Level k+1 is level k pooled over blocks of (bz, 2, 2) with zero padding, so shapes are
//! `ceil(n / b)`. The streaming pipeline works on chunk-shaped buffers whose padding is zero, and
//! chunk sizes are multiples of the block, so pooling a child chunk into its octant (quadrant) of
//! the parent chunk gives exactly the zero-padded block reduction of the whole array.
//!
//! Float levels are bit-for-bit what the reference computes: skimage's
//! `block_reduce(level, block, np.mean)` on float32, i.e. `np.mean` over the block axes of a
//! `view_as_blocks` view of the zero-padded level. numpy sums float32 in float32, walking the
//! view in memory order: its inner loop is the run of a block's values that are contiguous in
//! memory (an x pair, or more when the level is a single block wide), summed from 0 left to
//! right (pairwise as a tree when the run has 8 values), and the runs are added to an
//! accumulator that starts at 0; the sum is then divided by the block size. [`SumOrder`] names
//! the three run layouts that occur.

use crate::formats::mrc::MrcElem;
use crate::formats::omezarr::ZarrDtype;
use std::borrow::Cow;

/// Number of levels written (base + 2), spec §6.2.
pub const LEVELS: usize = 3;

/// An output voxel type, with its pooling rule.
pub trait VoxelType: MrcElem + Default + PartialEq + std::fmt::Debug {
    /// The zarr data type this voxel type is stored as.
    const DTYPE: ZarrDtype;
    /// Whether [`VoxelType::label`] is meaningful (masks).
    const LABELS: bool;
    /// Pools one output row from the `2·bz` input rows covering it (each twice as long), adding
    /// a block's values in `order` (floats only; other types do not add).
    fn pool_row(rows: &[&[Self]], out: &mut [Self], order: SumOrder);
    /// The value as a label (0 = background).
    fn label(self) -> u16;
    /// Little-endian bytes of a buffer.
    fn le_bytes(values: &[Self]) -> Cow<'_, [u8]>;
    /// Converts source values (float32) with `map`: in place when `Self` is f32, else into
    /// `scratch`.
    fn map_slice<'a>(
        values: &'a mut [f32],
        map: &impl Fn(f32) -> Self,
        scratch: &'a mut Vec<Self>,
    ) -> &'a [Self] {
        scratch.clear();
        scratch.extend(values.iter().map(|&v| map(v)));
        scratch
    }
}

/// The bytes of a float32 buffer, for reading native little-endian data straight into it.
pub fn f32_bytes_mut(values: &mut [f32]) -> &mut [u8] {
    bytemuck::cast_slice_mut(values)
}

/// The order in which numpy adds the values of one block (the runs of values contiguous in the
/// padded level), which decides the last bit of a float32 block mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SumOrder {
    /// The usual case: each x pair is one run; the pairs are added in (z, y) order:
    /// `(((a0+a1) + (b0+b1)) + (c0+c1)) + (d0+d1)`.
    Pairs,
    /// The pooled level is one voxel wide (the padded level is 2 wide): each z plane of the
    /// block (2×2 values) is one run summed left to right, `((a0+a1)+b0)+b1`, and the planes are
    /// added in z order.
    Planes,
    /// The pooled level is one voxel wide and tall with a z block of 2: the block's 8 values are
    /// one run, which numpy sums as a tree, `((a0+a1)+(b0+b1)) + ((c0+c1)+(d0+d1))`.
    Tree,
}

impl SumOrder {
    /// The order numpy uses when pooling into a level of shape `pooled` (z, y, x) with a z block
    /// of `bz`.
    pub fn for_level(pooled: [usize; 3], bz: usize) -> SumOrder {
        match (pooled[1], pooled[2]) {
            (1, 1) if bz == 2 => SumOrder::Tree,
            (_, 1) => SumOrder::Planes,
            _ => SumOrder::Pairs,
        }
    }
}

/// Tomograms and tilt series: block mean (zeros included), spec §6.2, added in numpy's order.
/// The `+ 0.0` stands for numpy's accumulator starting at 0: it only turns a `-0.0` sum into
/// `0.0`, as numpy's does.
impl VoxelType for f32 {
    const DTYPE: ZarrDtype = ZarrDtype::F4;
    const LABELS: bool = false;
    fn pool_row(rows: &[&[f32]], out: &mut [f32], order: SumOrder) {
        match (rows, order) {
            ([a, b], SumOrder::Pairs | SumOrder::Tree) => {
                for ((o, a), b) in out.iter_mut().zip(a.chunks_exact(2)).zip(b.chunks_exact(2)) {
                    *o = ((a[0] + a[1]) + (b[0] + b[1]) + 0.0) * 0.25;
                }
            }
            ([a, b], SumOrder::Planes) => {
                for ((o, a), b) in out.iter_mut().zip(a.chunks_exact(2)).zip(b.chunks_exact(2)) {
                    *o = (a[0] + a[1] + b[0] + b[1] + 0.0) * 0.25;
                }
            }
            ([a, b, c, d], _) => {
                let it = out
                    .iter_mut()
                    .zip(a.chunks_exact(2))
                    .zip(b.chunks_exact(2))
                    .zip(c.chunks_exact(2).zip(d.chunks_exact(2)));
                for (((o, a), b), (c, d)) in it {
                    let sum = match order {
                        SumOrder::Pairs => {
                            (a[0] + a[1]) + (b[0] + b[1]) + (c[0] + c[1]) + (d[0] + d[1])
                        }
                        SumOrder::Planes => {
                            (a[0] + a[1] + b[0] + b[1]) + (c[0] + c[1] + d[0] + d[1])
                        }
                        SumOrder::Tree => {
                            ((a[0] + a[1]) + (b[0] + b[1])) + ((c[0] + c[1]) + (d[0] + d[1]))
                        }
                    };
                    *o = (sum + 0.0) * 0.125;
                }
            }
            _ => {
                let scale = 1.0 / (2 * rows.len()) as f32;
                for (i, o) in out.iter_mut().enumerate() {
                    let sum = rows
                        .iter()
                        .fold(0.0f32, |acc, r| acc + (r[2 * i] + r[2 * i + 1]));
                    *o = sum * scale;
                }
            }
        }
    }
    fn label(self) -> u16 {
        0
    }
    fn map_slice<'a>(
        values: &'a mut [f32],
        map: &impl Fn(f32) -> f32,
        _scratch: &'a mut Vec<f32>,
    ) -> &'a [f32] {
        values.iter_mut().for_each(|v| *v = map(*v));
        values
    }
    fn le_bytes(values: &[f32]) -> Cow<'_, [u8]> {
        #[cfg(target_endian = "little")]
        return Cow::Borrowed(bytemuck::cast_slice(values));
        #[cfg(not(target_endian = "little"))]
        return Cow::Owned(values.iter().flat_map(|v| v.to_le_bytes()).collect());
    }
}

/// Semantic masks: `(mean > 0)` of 0/1 data, i.e. OR-pooling.
impl VoxelType for i8 {
    const DTYPE: ZarrDtype = ZarrDtype::I1;
    const LABELS: bool = true;
    fn pool_row(rows: &[&[i8]], out: &mut [i8], _order: SumOrder) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = i8::from(rows.iter().any(|r| r[2 * i] > 0 || r[2 * i + 1] > 0));
        }
    }
    fn label(self) -> u16 {
        self.max(0) as u16
    }
    fn le_bytes(values: &[i8]) -> Cow<'_, [u8]> {
        Cow::Owned(values.iter().map(|&v| v as u8).collect())
    }
}

/// Instance masks: striding, the first voxel of each block.
impl VoxelType for u16 {
    const DTYPE: ZarrDtype = ZarrDtype::U2;
    const LABELS: bool = true;
    fn pool_row(rows: &[&[u16]], out: &mut [u16], _order: SumOrder) {
        for (o, v) in out.iter_mut().zip(rows[0].iter().step_by(2)) {
            *o = *v;
        }
    }
    fn label(self) -> u16 {
        self
    }
    fn le_bytes(values: &[u16]) -> Cow<'_, [u8]> {
        #[cfg(target_endian = "little")]
        return Cow::Borrowed(bytemuck::cast_slice(values));
        #[cfg(not(target_endian = "little"))]
        return Cow::Owned(values.iter().flat_map(|v| v.to_le_bytes()).collect());
    }
}

/// Pools a child chunk (`dims` = chunk shape z,y,x) into the parent chunk buffer (same shape) at
/// voxel offset `off`. `bz` is the z block (2 for volumes, 1 for tilt series); y and x are
/// halved. Dims must be multiples of the block. `order` is [`SumOrder::for_level`] of the
/// parent level.
pub fn pool_chunk_into<T: VoxelType>(
    src: &[T],
    dims: [usize; 3],
    bz: usize,
    dst: &mut [T],
    off: [usize; 3],
    order: SumOrder,
) {
    let [cz, cy, cx] = dims;
    debug_assert!(cz.is_multiple_of(bz) && cy.is_multiple_of(2) && cx.is_multiple_of(2));
    let (nz, ny, nx) = (cz / bz, cy / 2, cx / 2);
    let mut rows: Vec<&[T]> = Vec::with_capacity(2 * bz);
    for z in 0..nz {
        for y in 0..ny {
            rows.clear();
            for dz in 0..bz {
                for dy in 0..2 {
                    let start = ((z * bz + dz) * cy + 2 * y + dy) * cx;
                    rows.push(&src[start..start + cx]);
                }
            }
            let o = ((off[0] + z) * cy + off[1] + y) * cx + off[2];
            T::pool_row(&rows, &mut dst[o..o + nx], order);
        }
    }
}

/// [`pool_chunk_into`] with the output planes spread over the rayon pool.
pub fn pool_chunk_into_par<T: VoxelType>(
    src: &[T],
    dims: [usize; 3],
    bz: usize,
    dst: &mut [T],
    off: [usize; 3],
    order: SumOrder,
) {
    use rayon::prelude::*;
    let [cz, cy, cx] = dims;
    let plane = cy * cx;
    dst.par_chunks_mut(plane)
        .skip(off[0])
        .take(cz / bz)
        .enumerate()
        .for_each(|(z, dst_plane)| {
            let src_planes = &src[z * bz * plane..(z + 1) * bz * plane];
            pool_chunk_into(
                src_planes,
                [bz, cy, cx],
                bz,
                dst_plane,
                [0, off[1], off[2]],
                order,
            );
        });
}

/// Shape of the next level: ceil division by the block.
pub fn next_shape(shape: [usize; 3], bz: usize) -> [usize; 3] {
    [
        shape[0].div_ceil(bz),
        shape[1].div_ceil(2),
        shape[2].div_ceil(2),
    ]
}

/// The shapes of all levels and the chunking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
    /// Shape of each level, z,y,x.
    pub shapes: Vec<[usize; 3]>,
    /// Chunk shape (all levels).
    pub chunk: [usize; 3],
    /// Z block size (2 volumes, 1 tilt series).
    pub bz: usize,
}

impl Geometry {
    /// Volumes: chunks 256³, block (2,2,2). Tilt series: chunks (1,1024,1024), block (1,2,2).
    pub fn new(shape0: [usize; 3], tilt_series: bool) -> Self {
        let (chunk, bz) = if tilt_series {
            ([1, 1024, 1024], 1)
        } else {
            ([256, 256, 256], 2)
        };
        Self::with_chunk(shape0, chunk, bz)
    }

    /// Any chunking (tests use small chunks); chunk dims must be multiples of the block.
    pub fn with_chunk(shape0: [usize; 3], chunk: [usize; 3], bz: usize) -> Self {
        assert!(
            chunk[0].is_multiple_of(bz) && chunk[1].is_multiple_of(2) && chunk[2].is_multiple_of(2)
        );
        let mut shapes = vec![shape0];
        for _ in 1..LEVELS {
            shapes.push(next_shape(*shapes.last().unwrap(), bz));
        }
        Self { shapes, chunk, bz }
    }

    /// Number of chunks along each axis at `level`.
    pub fn grid(&self, level: usize) -> [usize; 3] {
        let s = self.shapes[level];
        [
            s[0].div_ceil(self.chunk[0]),
            s[1].div_ceil(self.chunk[1]),
            s[2].div_ceil(self.chunk[2]),
        ]
    }

    /// Elements per chunk.
    pub fn chunk_len(&self) -> usize {
        self.chunk.iter().product()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: zero-padded block mean of a whole C-order array.
    fn block_mean(a: &[f32], s: [usize; 3], b: [usize; 3]) -> (Vec<f32>, [usize; 3]) {
        let o = [
            s[0].div_ceil(b[0]),
            s[1].div_ceil(b[1]),
            s[2].div_ceil(b[2]),
        ];
        let mut out = vec![0f32; o.iter().product()];
        for z in 0..o[0] {
            for y in 0..o[1] {
                for x in 0..o[2] {
                    let mut sum = 0f64;
                    for dz in 0..b[0] {
                        for dy in 0..b[1] {
                            for dx in 0..b[2] {
                                let (iz, iy, ix) = (z * b[0] + dz, y * b[1] + dy, x * b[2] + dx);
                                if iz < s[0] && iy < s[1] && ix < s[2] {
                                    sum += f64::from(a[(iz * s[1] + iy) * s[2] + ix]);
                                }
                            }
                        }
                    }
                    out[(z * o[1] + y) * o[2] + x] = (sum / (b[0] * b[1] * b[2]) as f64) as f32;
                }
            }
        }
        (out, o)
    }

    #[test]
    fn pyramid_shapes_use_ceil() {
        let ts = Geometry::new([4, 10, 20], true);
        assert_eq!(ts.shapes, vec![[4, 10, 20], [4, 5, 10], [4, 3, 5]]);
        let tomo = Geometry::new([10, 8, 6], false);
        assert_eq!(tomo.shapes, vec![[10, 8, 6], [5, 4, 3], [3, 2, 2]]);
        assert_eq!(ts.chunk, [1, 1024, 1024]);
        assert_eq!(tomo.chunk, [256, 256, 256]);
        assert_eq!(tomo.grid(0), [1, 1, 1]);
        let big = Geometry::new([300, 513, 256], false);
        assert_eq!(big.grid(0), [2, 3, 1]);
        assert_eq!(big.grid(1), [1, 2, 1]);
    }

    #[test]
    fn pooled_chunk_is_the_zero_padded_block_mean() {
        // A 3x5x7 array in one 4x6x8 chunk (padding zero), pooled (2,2,2).
        let s = [3, 5, 7];
        let a: Vec<f32> = (0..105).map(|i| (i * 7 % 11) as f32 + 0.5).collect();
        let dims = [4, 6, 8];
        let mut chunk = vec![0f32; 192];
        for z in 0..3 {
            for y in 0..5 {
                for x in 0..7 {
                    chunk[(z * 6 + y) * 8 + x] = a[(z * 5 + y) * 7 + x];
                }
            }
        }
        let mut parent = vec![0f32; 192];
        pool_chunk_into(&chunk, dims, 2, &mut parent, [2, 0, 4], SumOrder::Pairs);
        let (want, o) = block_mean(&a, s, [2, 2, 2]);
        assert_eq!(o, [2, 3, 4]);
        for z in 0..2 {
            for y in 0..3 {
                for x in 0..4 {
                    let got = parent[((2 + z) * 6 + y) * 8 + 4 + x];
                    let w = want[(z * 3 + y) * 4 + x];
                    assert!((got - w).abs() <= 1e-5 * w.abs().max(1.0), "{got} vs {w}");
                }
            }
        }
        // Edge blocks include zeros: z=1 block has only one real slice (z=2), x=3 only x=6.
        let e = (a[(2 * 5 + 4) * 7 + 6]) / 8.0;
        assert!((parent[((2 + 1) * 6 + 2) * 8 + 4 + 3] - e).abs() < 1e-6);
        // Outside the octant stays untouched.
        assert_eq!(parent[0], 0.0);
    }

    #[test]
    fn parallel_pooling_equals_sequential() {
        let dims = [8, 6, 10];
        let src: Vec<f32> = (0..480).map(|i| ((i * 31) % 17) as f32).collect();
        for (bz, off) in [(2, [4, 3, 5]), (1, [0, 0, 5])] {
            let mut a = vec![0f32; 480];
            let mut b = vec![0f32; 480];
            for order in [SumOrder::Pairs, SumOrder::Planes, SumOrder::Tree] {
                pool_chunk_into(&src, dims, bz, &mut a, off, order);
                pool_chunk_into_par(&src, dims, bz, &mut b, off, order);
                assert_eq!(a, b);
            }
            assert_eq!(a, b);
            assert!(a.iter().any(|&v| v != 0.0));
        }
    }

    /// numpy's float32 `np.mean` over the block axes of skimage's `block_reduce`, written
    /// plainly over a whole C-order array: a block's values in memory order, cut into the runs
    /// that are contiguous in the padded array, each run summed from 0 (8 values as numpy's
    /// pairwise tree), the runs added to an accumulator from 0, then divided by the block size.
    fn numpy_block_mean(a: &[f32], s: [usize; 3], b: [usize; 3]) -> (Vec<f32>, [usize; 3]) {
        let o = [
            s[0].div_ceil(b[0]),
            s[1].div_ceil(b[1]),
            s[2].div_ceil(b[2]),
        ];
        let mut run_len = b[2];
        if o[2] == 1 {
            run_len *= b[1];
            if o[1] == 1 {
                run_len *= b[0];
            }
        }
        let get = |z: usize, y: usize, x: usize| {
            if z < s[0] && y < s[1] && x < s[2] {
                a[(z * s[1] + y) * s[2] + x]
            } else {
                0.0
            }
        };
        let mut out = vec![0f32; o.iter().product()];
        for z in 0..o[0] {
            for y in 0..o[1] {
                for x in 0..o[2] {
                    let mut block = Vec::new();
                    for dz in 0..b[0] {
                        for dy in 0..b[1] {
                            for dx in 0..b[2] {
                                block.push(get(z * b[0] + dz, y * b[1] + dy, x * b[2] + dx));
                            }
                        }
                    }
                    let mut acc = 0f32;
                    for run in block.chunks(run_len) {
                        let sum = if run.len() == 8 {
                            let p = |i: usize| run[i] + run[i + 1];
                            (p(0) + p(2)) + (p(4) + p(6))
                        } else {
                            run.iter().fold(0f32, |r, v| r + v)
                        };
                        acc += sum;
                    }
                    out[(z * o[1] + y) * o[2] + x] = acc / block.len() as f32;
                }
            }
        }
        (out, o)
    }

    /// Pools a whole array level by level through chunk buffers, as the pipeline does.
    fn pool_level_chunked(a: &[f32], s: [usize; 3], bz: usize, chunk: [usize; 3]) -> Vec<f32> {
        let o = next_shape(s, bz);
        let order = SumOrder::for_level(o, bz);
        let mut out = vec![0f32; o.iter().product()];
        let grid = [
            s[0].div_ceil(chunk[0]),
            s[1].div_ceil(chunk[1]),
            s[2].div_ceil(chunk[2]),
        ];
        for cz in 0..grid[0] {
            for cy in 0..grid[1] {
                for cx in 0..grid[2] {
                    let mut src = vec![0f32; chunk.iter().product()];
                    for z in 0..chunk[0] {
                        for y in 0..chunk[1] {
                            for x in 0..chunk[2] {
                                let (iz, iy, ix) =
                                    (cz * chunk[0] + z, cy * chunk[1] + y, cx * chunk[2] + x);
                                if iz < s[0] && iy < s[1] && ix < s[2] {
                                    src[(z * chunk[1] + y) * chunk[2] + x] =
                                        a[(iz * s[1] + iy) * s[2] + ix];
                                }
                            }
                        }
                    }
                    let mut dst = vec![0f32; chunk.iter().product()];
                    pool_chunk_into_par(&src, chunk, bz, &mut dst, [0, 0, 0], order);
                    let half = [chunk[0] / bz, chunk[1] / 2, chunk[2] / 2];
                    for z in 0..half[0] {
                        for y in 0..half[1] {
                            for x in 0..half[2] {
                                let (iz, iy, ix) =
                                    (cz * half[0] + z, cy * half[1] + y, cx * half[2] + x);
                                if iz < o[0] && iy < o[1] && ix < o[2] {
                                    out[(iz * o[1] + iy) * o[2] + ix] =
                                        dst[(z * chunk[1] + y) * chunk[2] + x];
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn chunked_float_pooling_adds_in_numpys_order_bit_for_bit() {
        // Values of mixed magnitudes make the order show in the last bits; sizes cover odd
        // edges and levels one voxel wide or tall, where numpy's runs get longer.
        let mut seed = 0x2545_f491_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let m = (seed >> 40) as f32 / (1u64 << 24) as f32;
            (m - 0.5) * [1.0, 1e3, 1e-3, 7.0][(seed & 3) as usize]
        };
        let mut differ_from_tree = 0;
        for (s, bz) in [
            ([9, 11, 13], 2),
            ([5, 7, 3], 2),
            ([6, 2, 9], 2),
            ([6, 9, 2], 2),
            ([7, 2, 1], 2),
            ([3, 10, 14], 1),
            ([2, 5, 2], 1),
            ([3, 1, 1], 1),
        ] {
            let a: Vec<f32> = (0..s.iter().product::<usize>()).map(|_| next()).collect();
            let (want, _) = numpy_block_mean(&a, s, [bz, 2, 2]);
            for chunk in [[4, 4, 4], [2 * bz, 6, 2]] {
                let chunk = [chunk[0] / 2 * bz, chunk[1], chunk[2]];
                let got = pool_level_chunked(&a, s, bz, chunk);
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&got),
                    bits(&want),
                    "shape {s:?} bz {bz} chunk {chunk:?}"
                );
            }
            let (tree, _) = block_mean(&a, s, [bz, 2, 2]);
            differ_from_tree += want.iter().zip(&tree).filter(|(w, t)| w != t).count();
        }
        // The data do tell orders apart (an f64 mean rounded once differs somewhere).
        assert!(differ_from_tree > 0);
        // A block of negative zeros means 0.0, as numpy's accumulator starts at 0.
        let zeros = vec![-0.0f32; 8];
        let got = pool_level_chunked(&zeros, [2, 2, 2], 2, [2, 2, 2]);
        assert_eq!(got[0].to_bits(), 0.0f32.to_bits());
    }

    #[test]
    fn sum_order_follows_the_pooled_level_shape() {
        assert_eq!(SumOrder::for_level([5, 6, 7], 2), SumOrder::Pairs);
        assert_eq!(SumOrder::for_level([5, 1, 7], 2), SumOrder::Pairs);
        assert_eq!(SumOrder::for_level([5, 6, 1], 2), SumOrder::Planes);
        assert_eq!(SumOrder::for_level([5, 1, 1], 2), SumOrder::Tree);
        assert_eq!(SumOrder::for_level([5, 1, 1], 1), SumOrder::Planes);
    }

    #[test]
    fn tilt_series_pooling_keeps_z() {
        let dims = [1, 4, 4];
        let src: Vec<f32> = (0..16).map(|v| v as f32).collect();
        let mut dst = vec![0f32; 16];
        pool_chunk_into(&src, dims, 1, &mut dst, [0, 2, 0], SumOrder::Pairs);
        // block (0,0): 0,1,4,5 → 2.5
        assert_eq!(&dst[8..10], &[2.5, 4.5]);
        assert_eq!(&dst[12..14], &[10.5, 12.5]);
        assert!(dst[..8].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn semantic_masks_or_pool() {
        let mut src = vec![0i8; 2 * 2 * 4];
        src[(2 + 1) * 4 + 3] = 1; // z=1,y=1,x=3 → block x=1
        let mut dst = vec![0i8; 16];
        pool_chunk_into(&src, [2, 2, 4], 2, &mut dst, [0, 0, 0], SumOrder::Pairs);
        assert_eq!(&dst[..2], &[0, 1]);
        // A single voxel in a block of 8 still counts (mean 1/8 > 0).
        assert_eq!(dst.iter().filter(|&&v| v == 1).count(), 1);
    }

    #[test]
    fn instance_masks_take_the_first_voxel() {
        let src: Vec<u16> = (0..32).collect(); // dims 2x4x4
        let mut dst = vec![0u16; 32];
        pool_chunk_into(&src, [2, 4, 4], 2, &mut dst, [0, 0, 0], SumOrder::Pairs);
        assert_eq!(&dst[..2], &[0, 2]);
        assert_eq!(&dst[4..6], &[8, 10]);
        // z block of 2 → only z=0 sampled
        assert!(dst[16..].iter().all(|&v| v == 0));
    }

    #[test]
    fn le_bytes_are_little_endian() {
        assert_eq!(f32::le_bytes(&[1.0]).as_ref(), &1.0f32.to_le_bytes());
        assert_eq!(u16::le_bytes(&[258]).as_ref(), &[2, 1]);
        assert_eq!(i8::le_bytes(&[-1]).as_ref(), &[255]);
    }
}

//! Key images (spec §9): the four `key-photo-{name}.png` previews of a tomogram.
//!
//! Why a [`KeySlab`]: the preview is the sum of the central 40 sections, and the streaming
//! conversion sees every section anyway, so `standardize` can return the summed slab and the key
//! images need no second read of the volume. Rendering follows the reference's contract (sizes,
//! crop and rotation rules, mean ± 3σ clipping, anti-aliased bilinear resize); pixel parity with
//! matplotlib is not a goal. Annotation overlays ([`Overlay`]) are composed onto the gray preview
//! in RGB before the post-processing, which then runs per channel.

use crate::formats::mrc::MrcError;

/// Why key images cannot be made; each names the volume.
#[derive(Debug, thiserror::Error)]
pub enum KeyImageError {
    /// The MRC they are read from cannot be read.
    #[error(transparent)]
    Mrc(#[from] MrcError),
    /// The MRC is not standardized, or a PNG cannot be encoded.
    #[error("{name}: key image: {message}")]
    Render {
        /// The volume's name.
        name: String,
        /// What went wrong.
        message: String,
    },
}
use std::ops::Range;

/// Depth of the projected slab.
pub const SLAB_DEPTH: i64 = 40;

/// The central slab of a volume summed over z, row-major `height × width`.
#[derive(Debug, Clone, PartialEq)]
pub struct KeySlab {
    /// Plane width in voxels (the volume's x size).
    pub width: usize,
    /// Plane height in voxels (the volume's y size).
    pub height: usize,
    /// Sections summed (Python slice semantics of the reference, see [`slab_range`]).
    pub z_range: Range<usize>,
    /// Sections of the whole volume, which the slab's raw bounds follow ([`KeySlab::bounds`]).
    pub depth: usize,
    /// Per-pixel sum over `z_range`, row-major `height × width` (index `y * width + x`).
    pub sum: Vec<f64>,
}

/// Sums consecutive sections of `plane_len` values into one plane (f64 accumulation).
fn sum_sections(sections: &[f32], plane_len: usize) -> Vec<f64> {
    let mut sum = vec![0f64; plane_len];
    for plane in sections.chunks_exact(plane_len.max(1)) {
        for (a, &v) in sum.iter_mut().zip(plane) {
            *a += f64::from(v);
        }
    }
    sum
}

/// Sections `[Z//2 − 20, Z//2 + 20)` with Python slicing: a negative start counts from the end
/// (the reference's quirk for Z < 40), bounds are clamped, an inverted range is empty.
pub fn slab_range(nz: usize) -> Range<usize> {
    let n = nz as i64;
    let (z_min, z_max) = slab_bounds(nz);
    let norm = |i: i64| if i < 0 { (i + n).max(0) } else { i.min(n) };
    let (s, e) = (norm(z_min), norm(z_max));
    s as usize..e.max(s) as usize
}

/// The slab's raw bounds `(Z//2 − 20, Z//2 + 20)` before Python slicing (the start may be
/// negative): points are kept when `z_min <= z <= z_max`, as the reference compares them.
pub fn slab_bounds(nz: usize) -> (i64, i64) {
    let z_min = nz as i64 / 2 - SLAB_DEPTH / 2;
    (z_min, z_min + SLAB_DEPTH)
}

impl KeySlab {
    /// The slab's raw bounds, for keeping points (see [`slab_bounds`]).
    pub fn bounds(&self) -> (i64, i64) {
        slab_bounds(self.depth)
    }

    /// Sums the slab from a whole level-0 volume in memory (z,y,x, C order), for when the
    /// streaming conversion did not produce it.
    pub fn from_volume(data: &[f32], shape_zyx: [usize; 3]) -> Self {
        let [nz, ny, nx] = shape_zyx;
        let z_range = slab_range(nz);
        let sections = &data[z_range.start * ny * nx..z_range.end * ny * nx];
        Self {
            width: nx,
            height: ny,
            sum: sum_sections(sections, ny * nx),
            z_range,
            depth: nz,
        }
    }

    /// Sums the slab from a written standardized MRC (level 0), reading only the slab's
    /// sections: they are contiguous in an MRC, where a 256-deep zarr chunk would have to be
    /// decompressed whole.
    ///
    /// # Errors
    /// Header and read errors, naming the file.
    pub fn from_mrc(
        src: &dyn crate::storage::ByteSource,
        name: &str,
    ) -> Result<Self, KeyImageError> {
        use crate::formats::mrc::{decode_to_f32, read_header};
        let info = read_header(src, name)?;
        if !info.is_standard_order() {
            return Err(KeyImageError::Render {
                name: name.to_string(),
                message: "expected a standardized MRC (mapc/mapr/maps 1,2,3)".into(),
            });
        }
        let [nz, ny, nx] = info.shape_zyx;
        let z_range = slab_range(nz);
        let plane = ny * nx;
        let elem = info.mode.elem_size();
        let mut raw = vec![0u8; z_range.len() * plane * elem];
        let offset = info.data_offset + (z_range.start * plane * elem) as u64;
        src.read_at(offset, &mut raw).map_err(|e| MrcError::Io {
            name: name.to_string(),
            source: e,
        })?;
        let mut data = vec![0f32; z_range.len() * plane];
        decode_to_f32(info.mode, info.big_endian, &raw, &mut data);
        Ok(Self {
            width: nx,
            height: ny,
            sum: sum_sections(&data, plane),
            z_range,
            depth: nz,
        })
    }

    /// The gray preview: clip to mean ± 3σ, scale to 0–255, then map to 8 bits as an
    /// autoscaled gray colormap does (256 levels over the data range).
    pub fn preview(&self) -> Gray {
        let n = self.sum.len().max(1) as f64;
        let mean = self.sum.iter().sum::<f64>() / n;
        let var = self
            .sum
            .iter()
            .map(|v| (v - mean) * (v - mean))
            .sum::<f64>()
            / n;
        let (lo, hi) = (mean - 3.0 * var.sqrt(), mean + 3.0 * var.sqrt());
        let scaled: Vec<f64> = self
            .sum
            .iter()
            .map(|&v| {
                if hi > lo {
                    255.0 * (v.clamp(lo, hi) - lo) / (hi - lo)
                } else {
                    0.0
                }
            })
            .collect();
        let (mn, mx) = scaled
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let data = scaled
            .iter()
            .map(|&v| {
                if mx > mn {
                    ((v - mn) / (mx - mn) * 256.0).floor().clamp(0.0, 255.0) as u8
                } else {
                    0
                }
            })
            .collect();
        Gray {
            width: self.width,
            height: self.height,
            data,
        }
    }
}

/// An 8-bit gray image, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gray {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Pixel values, row-major `height × width` (index `y * width + x`).
    pub data: Vec<u8>,
}

/// The four key images of spec §9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyImage {
    /// `original`: the whole preview, resized to the tomogram's x size, no crop or rotation.
    Original,
    /// `snapshot`: 4:3 centre crop (rotated first when taller than wide), 512 wide.
    Snapshot,
    /// `thumbnail`: 4:3 centre crop (rotated first when taller than wide), 134 wide.
    Thumbnail,
    /// `expanded`: 4:3 centre crop (rotated first when taller than wide), 1024 wide.
    Expanded,
}

impl KeyImage {
    /// The four images, in the order of the reference's default literal.
    pub const ALL: [KeyImage; 4] = [
        KeyImage::Original,
        KeyImage::Snapshot,
        KeyImage::Thumbnail,
        KeyImage::Expanded,
    ];
    /// Instance name (`key-photo-{name}.png`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Original => "original",
            Self::Snapshot => "snapshot",
            Self::Thumbnail => "thumbnail",
            Self::Expanded => "expanded",
        }
    }
    /// Target width of the cropped images (`None`: original size, no crop).
    pub fn width(self) -> Option<usize> {
        match self {
            Self::Original => None,
            Self::Snapshot => Some(512),
            Self::Thumbnail => Some(134),
            Self::Expanded => Some(1024),
        }
    }
    /// File name.
    pub fn file_name(self) -> String {
        format!("key-photo-{}.png", self.name())
    }
}

impl Gray {
    /// `np.rot90`: 90° counter-clockwise.
    pub fn rot90(&self) -> Gray {
        let (h, w) = (self.height, self.width);
        let mut data = vec![0u8; h * w];
        for i in 0..w {
            for j in 0..h {
                data[i * h + j] = self.data[j * w + (w - 1 - i)];
            }
        }
        Gray {
            width: h,
            height: w,
            data,
        }
    }

    /// Centre crop.
    pub fn crop(&self, x0: usize, y0: usize, w: usize, h: usize) -> Gray {
        let mut data = Vec::with_capacity(w * h);
        for y in y0..y0 + h {
            data.extend_from_slice(&self.data[y * self.width + x0..y * self.width + x0 + w]);
        }
        Gray {
            width: w,
            height: h,
            data,
        }
    }

    /// Anti-aliased bilinear resize, as `skimage.transform.resize(anti_aliasing=True,
    /// preserve_range=True)` then a truncating cast: Gaussian prefilter with σ = (factor−1)/2 per
    /// axis (mirror edges, truncated at 4σ), then bilinear sampling at pixel centres.
    pub fn resize(&self, width: usize, height: usize) -> Gray {
        let src: Vec<f64> = self.data.iter().map(|&v| f64::from(v)).collect();
        let (fy, fx) = (
            self.height as f64 / height as f64,
            self.width as f64 / width as f64,
        );
        let blurred = gaussian_2d(
            &src,
            self.width,
            self.height,
            ((fx - 1.0) / 2.0).max(0.0),
            ((fy - 1.0) / 2.0).max(0.0),
        );
        let sample = |o: usize, f: f64, n: usize| -> (usize, usize, f64) {
            let c = ((o as f64 + 0.5) * f - 0.5).clamp(0.0, (n - 1) as f64);
            let i0 = c.floor() as usize;
            let i1 = (i0 + 1).min(n - 1);
            (i0, i1, c - i0 as f64)
        };
        let mut data = Vec::with_capacity(width * height);
        for oy in 0..height {
            let (y0, y1, ty) = sample(oy, fy, self.height);
            for ox in 0..width {
                let (x0, x1, tx) = sample(ox, fx, self.width);
                let p = |y: usize, x: usize| blurred[y * self.width + x];
                let top = p(y0, x0) * (1.0 - tx) + p(y0, x1) * tx;
                let bot = p(y1, x0) * (1.0 - tx) + p(y1, x1) * tx;
                data.push((top * (1.0 - ty) + bot * ty).clamp(0.0, 255.0) as u8);
            }
        }
        Gray {
            width,
            height,
            data,
        }
    }

    /// Gray → interleaved RGB (all channels equal).
    pub fn to_rgb(&self) -> Vec<u8> {
        self.data.iter().flat_map(|&v| [v, v, v]).collect()
    }
}

/// Mirror index (`d c b | a b c d | c b a`).
fn mirror(i: i64, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n as i64 - 1);
    let m = i.rem_euclid(period);
    (if m >= n as i64 { period - m } else { m }) as usize
}

fn kernel(sigma: f64) -> Vec<f64> {
    let r = (4.0 * sigma + 0.5) as i64;
    let w: Vec<f64> = (-r..=r)
        .map(|i| (-0.5 * (i * i) as f64 / (sigma * sigma)).exp())
        .collect();
    let s: f64 = w.iter().sum();
    w.into_iter().map(|v| v / s).collect()
}

/// A separable Gaussian blur: one 1-D pass along x, then one along y (mirrored edges).
fn gaussian_2d(src: &[f64], w: usize, h: usize, sx: f64, sy: f64) -> Vec<f64> {
    let along_x = blur_axis(src, w, h, sx, true);
    blur_axis(&along_x, w, h, sy, false)
}

/// One 1-D Gaussian pass along x (`along_x`) or y; `sigma <= 0` leaves the image as it is.
fn blur_axis(src: &[f64], w: usize, h: usize, sigma: f64, along_x: bool) -> Vec<f64> {
    if sigma <= 0.0 {
        return src.to_vec();
    }
    let k = kernel(sigma);
    let r = (k.len() / 2) as i64;
    let mut out = vec![0.0; src.len()];
    for y in 0..h {
        for x in 0..w {
            out[y * w + x] = k
                .iter()
                .enumerate()
                .map(|(j, kv)| {
                    let at = if along_x {
                        y * w + mirror(x as i64 + j as i64 - r, w)
                    } else {
                        mirror(y as i64 + j as i64 - r, h) * w + x
                    };
                    kv * src[at]
                })
                .sum();
        }
    }
    out
}

/// Applies the §9 post-processing of one key image to the preview.
pub fn process(preview: &Gray, which: KeyImage) -> Gray {
    let Some(width) = which.width() else {
        // Original: width = the tomogram's X, which the preview already has.
        return preview.clone();
    };
    let img = if preview.height > preview.width {
        preview.rot90()
    } else {
        preview.clone()
    };
    let k = img.width.min(img.height) / 4;
    let (w, h) = (4 * k, 3 * k);
    let cropped = img.crop((img.width - w) / 2, (img.height - h) / 2, w, h);
    if w == 0 {
        return cropped;
    }
    let height = (h as f64 * (width as f64 / w as f64)).round_ties_even() as usize;
    cropped.resize(width, height)
}

/// Encodes an 8-bit RGB PNG.
pub fn encode_png(img: &Gray) -> Result<Vec<u8>, png::EncodingError> {
    encode_interleaved(img.width, img.height, &img.to_rgb())
}

fn encode_interleaved(
    width: usize,
    height: usize,
    rgb: &[u8],
) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        // fdeflate's PNG-tuned mode: the default deflate level took ~75% of key-image time, and
        // only decoded pixels are compared with the reference, not bytes.
        enc.set_compression(png::Compression::Fast);
        let mut w = enc.write_header()?;
        w.write_image_data(rgb)?;
        w.finish()?;
    }
    Ok(out)
}

/// Opacity of a mask overlay.
pub const MASK_ALPHA: f64 = 0.1;
/// Opacity of a point marker (face and edge).
pub const POINT_ALPHA: f64 = 0.8;

/// One annotation overlay of spec §9 step 2, in the preview's pixel grid.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    /// A binarised mask slab (row-major `height × width`, drawn from the top-left corner).
    Mask {
        /// RGB colour of the annotation.
        color: [u8; 3],
        /// Mask width in pixels.
        width: usize,
        /// Mask height in pixels.
        height: usize,
        /// `true` where the mask is drawn, row-major (index `y * width + x`).
        mask: Vec<bool>,
    },
    /// Point centres `(x, y, z)` in voxels; only points with `z` in the slab bounds are drawn.
    Points {
        /// RGB colour of the annotation (marker face).
        color: [u8; 3],
        /// Point centres as `[x, y, z]` in voxels.
        points: Vec<[f64; 3]>,
    },
}

/// An 8-bit RGB image as three planes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rgb8 {
    /// The red, green and blue planes, all of one size.
    pub planes: [Gray; 3],
}

impl Rgb8 {
    fn width(&self) -> usize {
        self.planes[0].width
    }
    fn height(&self) -> usize {
        self.planes[0].height
    }
    /// The pixel at `(x, y)`.
    pub fn at(&self, x: usize, y: usize) -> [u8; 3] {
        let i = y * self.width() + x;
        [
            self.planes[0].data[i],
            self.planes[1].data[i],
            self.planes[2].data[i],
        ]
    }
    fn interleaved(&self) -> Vec<u8> {
        let [r, g, b] = &self.planes;
        r.data
            .iter()
            .zip(&g.data)
            .zip(&b.data)
            .flat_map(|((&r, &g), &b)| [r, g, b])
            .collect()
    }
}

/// Composes the overlays onto the gray preview (spec §9 step 2): masks in order at
/// [`MASK_ALPHA`], then point markers in the reference's z-order (annotation order plus the
/// point's z): filled circles of area `x_size / 10` px² with a white edge of width area / 100,
/// at [`POINT_ALPHA`]. `bounds` are the slab's raw `(z_min, z_max)` ([`slab_bounds`]).
pub fn compose(preview: &Gray, overlays: &[Overlay], bounds: (i64, i64), x_size: usize) -> Rgb8 {
    let (w, h) = (preview.width, preview.height);
    let mut px: Vec<[f64; 3]> = preview.data.iter().map(|&v| [f64::from(v); 3]).collect();
    let blend = |p: &mut [f64; 3], c: [u8; 3], a: f64| {
        for k in 0..3 {
            p[k] = p[k] * (1.0 - a) + f64::from(c[k]) * a;
        }
    };
    let mut markers: Vec<(f64, [u8; 3], [f64; 2])> = Vec::new();
    let n_masks = overlays
        .iter()
        .filter(|o| matches!(o, Overlay::Mask { .. }))
        .count();
    let mut plot_z = n_masks as f64 + 1.0;
    for o in overlays {
        match o {
            Overlay::Mask {
                color,
                width,
                height,
                mask,
            } => {
                for y in 0..(*height).min(h) {
                    for x in 0..(*width).min(w) {
                        if mask[y * width + x] {
                            blend(&mut px[y * w + x], *color, MASK_ALPHA);
                        }
                    }
                }
            }
            Overlay::Points { color, points } => {
                for &[x, y, z] in points {
                    if (bounds.0 as f64) <= z && z <= bounds.1 as f64 {
                        markers.push((plot_z + z, *color, [x, y]));
                    }
                }
                plot_z += 1.0;
            }
        }
    }
    markers.sort_by(|a, b| a.0.total_cmp(&b.0));
    let area = x_size as f64 / 10.0;
    let radius = (area / std::f64::consts::PI).sqrt();
    let edge = area / 100.0;
    let (inner, outer) = (radius - edge / 2.0, radius + edge / 2.0);
    for (_, color, [cx, cy]) in markers {
        let x0 = (cx - outer).floor().max(0.0) as usize;
        let y0 = (cy - outer).floor().max(0.0) as usize;
        let x1 = ((cx + outer).ceil().max(-1.0) + 1.0).min(w as f64) as usize;
        let y1 = ((cy + outer).ceil().max(-1.0) + 1.0).min(h as f64) as usize;
        for y in y0..y1 {
            for x in x0..x1 {
                let d = ((x as f64 - cx).powi(2) + (y as f64 - cy).powi(2)).sqrt();
                if d <= inner {
                    blend(&mut px[y * w + x], color, POINT_ALPHA);
                } else if d <= outer {
                    blend(&mut px[y * w + x], [255; 3], POINT_ALPHA);
                }
            }
        }
    }
    let plane = |k: usize| Gray {
        width: w,
        height: h,
        data: px
            .iter()
            .map(|p| p[k].round().clamp(0.0, 255.0) as u8)
            .collect(),
    };
    Rgb8 {
        planes: [plane(0), plane(1), plane(2)],
    }
}

/// [`process`] per channel (once when the channels are equal, as without overlays).
pub fn process_rgb(img: &Rgb8, which: KeyImage) -> Rgb8 {
    let [r, g, b] = &img.planes;
    if r == g && g == b {
        let p = process(r, which);
        return Rgb8 {
            planes: [p.clone(), p.clone(), p],
        };
    }
    Rgb8 {
        planes: [process(r, which), process(g, which), process(b, which)],
    }
}

/// Encodes an 8-bit RGB PNG from three planes.
pub fn encode_png_rgb(img: &Rgb8) -> Result<Vec<u8>, png::EncodingError> {
    encode_interleaved(img.width(), img.height(), &img.interleaved())
}

/// Renders the four key images as PNG bytes, in §9 order, without overlays.
pub fn render_key_images(
    slab: &KeySlab,
    name: &str,
) -> Result<Vec<(KeyImage, Vec<u8>)>, KeyImageError> {
    render_key_images_with(slab, &[], (0, 0), name)
}

/// Renders the four key images with annotation overlays ([`compose`]), in §9 order.
pub fn render_key_images_with(
    slab: &KeySlab,
    overlays: &[Overlay],
    bounds: (i64, i64),
    name: &str,
) -> Result<Vec<(KeyImage, Vec<u8>)>, KeyImageError> {
    let preview = compose(&slab.preview(), overlays, bounds, slab.width);
    KeyImage::ALL
        .into_iter()
        .map(|which| {
            let png = encode_png_rgb(&process_rgb(&preview, which)).map_err(|e| {
                KeyImageError::Render {
                    name: name.to_string(),
                    message: e.to_string(),
                }
            })?;
            Ok((which, png))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slab_from_an_mrc_equals_slab_from_the_volume() {
        use crate::formats::mrc::MrcHeader;
        let shape = [50, 3, 4];
        let data: Vec<f32> = (0..50 * 12).map(|i| (i % 17) as f32 - 8.0).collect();
        let mut bytes = MrcHeader::for_volume(shape, 2, 1.0).to_bytes().to_vec();
        bytes.extend(data.iter().flat_map(|v| v.to_le_bytes()));
        let from_mrc = KeySlab::from_mrc(&bytes, "t.mrc").unwrap();
        assert_eq!(from_mrc, KeySlab::from_volume(&data, shape));
        assert_eq!(from_mrc.z_range, 5..45);
    }

    fn png_size(bytes: &[u8]) -> (u32, u32, png::ColorType) {
        let dec = png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = dec.read_info().unwrap();
        let info = reader.info();
        (info.width, info.height, info.color_type)
    }

    #[test]
    fn slab_range_follows_python_slicing() {
        assert_eq!(slab_range(100), 30..70);
        assert_eq!(slab_range(41), 0..40);
        // Z = 30: start −5 → 25, end 35 → 30 (the reference quirk).
        assert_eq!(slab_range(30), 25..30);
        assert_eq!(slab_range(10), 0..10);
        assert_eq!(slab_range(1), 0..1);
    }

    #[test]
    fn slab_sums_the_central_sections() {
        let shape = [50, 2, 3];
        let data: Vec<f32> = (0..300).map(|i| (i / 6) as f32).collect(); // value = z
        let s = KeySlab::from_volume(&data, shape);
        assert_eq!(s.z_range, 5..45);
        let want: f64 = (5..45).map(f64::from).sum();
        assert!(s.sum.iter().all(|&v| v == want));
    }

    #[test]
    fn preview_clips_and_spans_the_gray_range() {
        let mut sum: Vec<f64> = (0..100).map(f64::from).collect();
        sum[0] = -1e6; // outlier, clipped to mean − 3σ
        let slab = KeySlab {
            width: 10,
            height: 10,
            z_range: 0..1,
            depth: 1,
            sum,
        };
        let g = slab.preview();
        assert_eq!(g.data[0], 0);
        assert_eq!(*g.data.iter().max().unwrap(), 255);
        assert!(g.data[1..].windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn sizes_crops_and_rotation_follow_the_contract() {
        // Wider than tall: 1000 x 600 → k = 150, crop 600 x 450.
        let wide = Gray {
            width: 1000,
            height: 600,
            data: vec![100; 600_000],
        };
        let sizes: Vec<(usize, usize)> = KeyImage::ALL
            .iter()
            .map(|&k| {
                let g = process(&wide, k);
                (g.width, g.height)
            })
            .collect();
        assert_eq!(
            sizes,
            vec![(1000, 600), (512, 384), (134, 100), (1024, 768)]
        );
        // A constant image stays constant through blur and resize.
        assert!(process(&wide, KeyImage::Thumbnail)
            .data
            .iter()
            .all(|&v| v == 100));

        // Taller than wide: rotated first, so the result is still landscape.
        let mut tall = Gray {
            width: 300,
            height: 500,
            data: vec![0; 150_000],
        };
        tall.data[0] = 255; // top-left corner → bottom-left after a CCW turn
        let r = tall.rot90();
        assert_eq!((r.width, r.height), (500, 300));
        assert_eq!(r.data[299 * 500], 255);
        let s = process(&tall, KeyImage::Snapshot);
        assert_eq!((s.width, s.height), (512, 384));
    }

    #[test]
    fn resize_is_anti_aliased() {
        // A one-pixel checkerboard averages to mid-gray when shrunk 8x.
        let data: Vec<u8> = (0..64 * 64)
            .map(|i| if (i / 64 + i % 64) % 2 == 0 { 0 } else { 255 })
            .collect();
        let g = Gray {
            width: 64,
            height: 64,
            data,
        };
        let r = g.resize(8, 8);
        assert!(
            r.data.iter().all(|&v| (100..=155).contains(&v)),
            "{:?}",
            r.data
        );
    }

    /// A 200×120 slab of the 40 central sections of a 41-deep volume, holding a repeating
    /// pattern of sums (0..=100).
    fn patterned_slab() -> KeySlab {
        KeySlab {
            width: 200,
            height: 120,
            z_range: 0..40,
            depth: 41,
            sum: (0..24_000).map(|i| ((i * 37) % 101) as f64).collect(),
        }
    }

    #[test]
    fn renders_four_rgb_pngs() {
        let slab = patterned_slab();
        let images = render_key_images(&slab, "tomo.mrc").unwrap();
        let names: Vec<String> = images.iter().map(|(which, _)| which.file_name()).collect();
        assert_eq!(
            names,
            vec![
                "key-photo-original.png",
                "key-photo-snapshot.png",
                "key-photo-thumbnail.png",
                "key-photo-expanded.png"
            ]
        );
        let sizes: Vec<(u32, u32)> = images
            .iter()
            .map(|(_, bytes)| {
                let (w, h, c) = png_size(bytes);
                assert_eq!(c, png::ColorType::Rgb);
                (w, h)
            })
            .collect();
        assert_eq!(sizes, vec![(200, 120), (512, 384), (134, 100), (1024, 768)]);
    }

    fn flat(width: usize, height: usize, v: u8) -> Gray {
        Gray {
            width,
            height,
            data: vec![v; width * height],
        }
    }

    #[test]
    fn mask_pixels_get_the_blended_colour() {
        let gray = flat(4, 3, 100);
        let mut mask = vec![false; 12];
        mask[5] = true; // (x 1, y 1)
        let ov = Overlay::Mask {
            color: [255, 0, 50],
            width: 4,
            height: 3,
            mask,
        };
        let img = compose(&gray, &[ov], (0, 40), 4);
        // 100·0.9 + c·0.1
        assert_eq!(img.at(1, 1), [116, 90, 95]);
        assert_eq!(img.at(0, 0), [100, 100, 100]);
        assert_eq!(img.at(2, 1), [100, 100, 100]);
    }

    #[test]
    fn a_point_draws_a_circle_of_the_expected_area() {
        // X = 2000: marker area 200 px², edge width 2 px.
        let gray = flat(2000, 60, 0);
        let color = [0, 200, 0];
        let ov = Overlay::Points {
            color,
            points: vec![[30.0, 30.0, 10.0]],
        };
        let img = compose(&gray, &[ov], (0, 40), 2000);
        let (mut face, mut edge) = (0usize, 0usize);
        for y in 0..60 {
            for x in 0..2000 {
                match img.at(x, y) {
                    [0, 0, 0] => {}
                    [0, 160, 0] => face += 1,     // 200 · 0.8
                    [204, 204, 204] => edge += 1, // white · 0.8
                    other => panic!("unexpected pixel {other:?} at {x},{y}"),
                }
            }
        }
        let r = (200.0 / std::f64::consts::PI).sqrt();
        let want_face = std::f64::consts::PI * (r - 1.0) * (r - 1.0);
        let want_all = std::f64::consts::PI * (r + 1.0) * (r + 1.0);
        assert!(
            (face as f64 - want_face).abs() / want_face < 0.1,
            "{face} vs {want_face}"
        );
        let all = (face + edge) as f64;
        assert!(
            (all - want_all).abs() / want_all < 0.1,
            "{all} vs {want_all}"
        );
        assert_eq!(img.at(30, 30), [0, 160, 0]);
    }

    #[test]
    fn points_outside_the_slab_are_not_drawn() {
        let gray = flat(100, 50, 10);
        let ov = Overlay::Points {
            color: [255, 0, 0],
            points: vec![[20.0, 20.0, -6.0], [60.0, 20.0, 36.0], [80.0, 20.0, 35.0]],
        };
        // Bounds of Z = 30: (−5, 35), inclusive at both ends.
        let img = compose(&gray, &[ov], slab_bounds(30), 100);
        assert_eq!(slab_bounds(30), (-5, 35));
        assert_eq!(img.at(20, 20), [10, 10, 10]);
        assert_eq!(img.at(60, 20), [10, 10, 10]);
        assert_eq!(img.at(80, 20), [206, 2, 2]);
    }

    #[test]
    fn no_overlays_render_the_same_gray_images() {
        let slab = patterned_slab();
        let preview = slab.preview();
        for (which, png) in render_key_images(&slab, "t").unwrap() {
            let want = encode_png(&process(&preview, which)).unwrap();
            assert_eq!(png, want, "{}", which.name());
        }
    }

    #[test]
    fn overlays_survive_post_processing_in_colour() {
        let slab = KeySlab {
            width: 200,
            height: 120,
            z_range: 0..40,
            depth: 41,
            sum: vec![1.0; 24_000],
        };
        let ov = Overlay::Mask {
            color: [255, 0, 0],
            width: 200,
            height: 120,
            mask: vec![true; 24_000],
        };
        for (which, png) in render_key_images_with(&slab, &[ov], (0, 40), "t").unwrap() {
            let (w, h, c) = png_size(&png);
            assert_eq!(c, png::ColorType::Rgb);
            let mut reader = png::Decoder::new(std::io::Cursor::new(&png))
                .read_info()
                .unwrap();
            let mut buf = vec![0; reader.output_buffer_size().unwrap()];
            reader.next_frame(&mut buf).unwrap();
            // gray 0 → 0.9·0 + 0.1·255 in red only.
            assert_eq!(&buf[..3], &[26, 0, 0], "{} {w}x{h}", which.name());
        }
    }
}

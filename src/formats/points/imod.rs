//! IMOD binary models (`.mod`): contour points, and slicer angles from `SLAN` chunks.
//!
//! The layout (IMOD's "binary model file format", all big-endian): `IMOD` + version (`V1.2`),
//! a 232-byte model header, then tagged chunks up to `IEOF`. `OBJT` (176-byte object header),
//! `CONT` (point count, flags, time, surface, then x, y, z `f32` triples) and `MESH` (vertex
//! and index counts, flags, time, surface, then the data) carry their own shapes; every other
//! chunk (`IMAT`, `VIEW`, `MINX`, `SIZE`, `SLAN`, `OLBL`, ...) is a 4-byte tag, an `i32` byte
//! count, and that many bytes, so unknown ones can be skipped. A `SLAN` entry is 60 bytes:
//! `time` (i32), angles x, y, z (f32, degrees), center x, y, z (f32), a 32-byte label.
//!
//! Coordinates are the model's raw point values (no scale or offset applied), widened exactly
//! from `f32` as the reference's pandas frame does. Errors name the byte offset.

use super::{rotation, Oriented};
use crate::formats::FormatError;

const MODEL_HEADER: usize = 232;
const OBJT_BODY: usize = 176;
const SLAN_ENTRY: usize = 60;

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    file: &'a str,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], FormatError> {
        match self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
        {
            Some(end) => {
                let s = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(FormatError::malformed(
                self.file,
                None,
                format!("{n} bytes of {what} at byte {}", self.pos),
                format!(
                    "end of file after {} bytes",
                    self.bytes.len() - self.pos.min(self.bytes.len())
                ),
            )),
        }
    }

    fn i32(&mut self, what: &str) -> Result<i32, FormatError> {
        let b = self.take(4, what)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f32(&mut self, what: &str) -> Result<f64, FormatError> {
        let b = self.take(4, what)?;
        Ok(f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]])))
    }

    /// A non-negative count, checked against what remains so a corrupt count cannot allocate.
    fn count(&mut self, what: &str, item_size: usize) -> Result<usize, FormatError> {
        let at = self.pos;
        let n = self.i32(what)?;
        let remaining = self.bytes.len() - self.pos;
        match usize::try_from(n) {
            Ok(n) if n.saturating_mul(item_size) <= remaining => Ok(n),
            _ => Err(FormatError::malformed(
                self.file,
                None,
                format!("a {what} that fits the file at byte {at}"),
                n.to_string(),
            )),
        }
    }
}

/// Contour points and slicer angles, in file order.
struct Model {
    points: Vec<[f64; 3]>,
    /// (angles x, y, z; center x, y, z)
    slicer: Vec<([f64; 3], [f64; 3])>,
}

fn parse(bytes: &[u8], file: &str) -> Result<Model, FormatError> {
    let mut c = Cursor {
        bytes,
        pos: 0,
        file,
    };
    let magic = c.take(8, "the IMOD file id")?;
    if &magic[..4] != b"IMOD" || magic[4] != b'V' {
        return Err(FormatError::malformed(
            file,
            None,
            "an IMOD model starting with \"IMODV\"",
            format!("{:?}", String::from_utf8_lossy(magic)),
        ));
    }
    c.take(MODEL_HEADER, "the model header")?;
    let mut model = Model {
        points: Vec::new(),
        slicer: Vec::new(),
    };
    loop {
        let at = c.pos;
        let tag = c.take(4, "a chunk tag")?;
        match tag {
            b"IEOF" => return Ok(model),
            b"OBJT" => {
                c.take(OBJT_BODY, "an OBJT header")?;
            }
            b"CONT" => {
                let n = c.count("contour point count", 12)?;
                c.take(12, "a CONT header")?;
                for _ in 0..n {
                    let x = c.f32("a point")?;
                    let y = c.f32("a point")?;
                    let z = c.f32("a point")?;
                    model.points.push([x, y, z]);
                }
            }
            b"MESH" => {
                let v = c.count("mesh vertex count", 12)?;
                let l = c.count("mesh index count", 4)?;
                c.take(8, "a MESH header")?;
                c.take(v * 12 + l * 4, "mesh data")?;
            }
            _ if tag.iter().all(|b| b.is_ascii_graphic()) => {
                let size = c.count("chunk size", 1)?;
                let body = c.take(size, "a chunk body")?;
                if tag == b"SLAN" {
                    let mut s = Cursor {
                        bytes: body,
                        pos: 0,
                        file,
                    };
                    for _ in 0..size / SLAN_ENTRY {
                        s.take(4, "a slicer time")?;
                        let a = [s.f32("an angle")?, s.f32("an angle")?, s.f32("an angle")?];
                        let ctr = [s.f32("a center")?, s.f32("a center")?, s.f32("a center")?];
                        s.take(32, "a slicer label")?;
                        model.slicer.push((a, ctr));
                    }
                }
            }
            _ => {
                return Err(FormatError::malformed(
                    file,
                    None,
                    format!("an IMOD chunk tag at byte {at}"),
                    format!("{tag:02x?}"),
                ))
            }
        }
    }
}

/// Every contour point (x, y, z) of every object, unbinned.
pub(super) fn read_points(bytes: &[u8], file: &str) -> Result<Vec<[f64; 3]>, FormatError> {
    Ok(parse(bytes, file)?.points)
}

/// One oriented point per slicer angle: center / binning, rotation extrinsic xyz of the
/// negated angles. A model without `SLAN` chunks has none.
pub(super) fn read_slicer_points(
    bytes: &[u8],
    file: &str,
    binning: f64,
) -> Result<Vec<Oriented>, FormatError> {
    Ok(parse(bytes, file)?
        .slicer
        .into_iter()
        .map(|(a, ctr)| Oriented {
            position: ctr.map(|v| v / binning),
            rotation: rotation::imod_slicer(a[0], a[1], a[2]),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::{read_points as read, to_ndjson, PointParams, PointShape};
    use super::*;

    /// Builds a model the way 3dmod saves one: header, one OBJT per object followed by its
    /// CONTs, material and min/max chunks, optional SLAN chunks, IEOF.
    fn model(objects: &[Vec<Vec<[f32; 3]>>], slan: &[([f32; 3], [f32; 3])]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(b"IMODV1.2");
        let mut header = vec![0u8; MODEL_HEADER];
        header[..9].copy_from_slice(b"IMOD-Test");
        header[128..132].copy_from_slice(&512i32.to_be_bytes()); // xmax
        header[140..144].copy_from_slice(&(objects.len() as i32).to_be_bytes());
        b.extend_from_slice(&header);
        for contours in objects {
            b.extend_from_slice(b"OBJT");
            let mut obj = vec![0u8; OBJT_BODY];
            obj[128..132].copy_from_slice(&(contours.len() as i32).to_be_bytes());
            b.extend_from_slice(&obj);
            for pts in contours {
                b.extend_from_slice(b"CONT");
                b.extend_from_slice(&(pts.len() as i32).to_be_bytes());
                b.extend_from_slice(&[0, 0, 0, 0x10, 0, 0, 0, 1, 0, 0, 0, 0]);
                for p in pts {
                    for v in p {
                        b.extend_from_slice(&v.to_be_bytes());
                    }
                }
            }
            b.extend_from_slice(b"IMAT");
            b.extend_from_slice(&16i32.to_be_bytes());
            b.extend_from_slice(&[0x66, 0xff, 0x7f, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0, 0]);
            // An empty mesh, as 3dmod writes for unmeshed objects.
            b.extend_from_slice(b"MESH");
            b.extend_from_slice(&[0u8; 16]);
        }
        b.extend_from_slice(b"MINX");
        b.extend_from_slice(&72i32.to_be_bytes());
        b.extend_from_slice(&[0u8; 72]);
        for (angles, center) in slan {
            b.extend_from_slice(b"SLAN");
            b.extend_from_slice(&60i32.to_be_bytes());
            b.extend_from_slice(&1i32.to_be_bytes());
            for v in angles.iter().chain(center) {
                b.extend_from_slice(&v.to_be_bytes());
            }
            let mut label = [0u8; 32];
            label[..7].copy_from_slice(b"slicer1");
            b.extend_from_slice(&label);
        }
        b.extend_from_slice(b"IEOF");
        b
    }

    fn params(order: &str, binning: f64) -> PointParams {
        PointParams {
            order: order.into(),
            binning,
            ..PointParams::default()
        }
    }

    #[test]
    fn points_binning_2_as_in_the_reference_test() {
        let m = model(
            &[vec![vec![
                [1.0, 2.0, 3.0],
                [2.0, 2.0, 2.0],
                [0.0, 3.0, 0.0],
            ]]],
            &[],
        );
        let r = read(
            "mod",
            PointShape::Point,
            &params("xyz", 2.0),
            &m,
            "points.mod",
        )
        .unwrap();
        let locs: Vec<_> = r.iter().map(|p| p.location).collect();
        assert_eq!(
            locs,
            vec![[0.5, 1.0, 1.5], [1.0, 1.0, 1.0], [0.0, 1.5, 0.0]]
        );
        assert_eq!(
            String::from_utf8(to_ndjson(PointShape::Point, &r[..1])).unwrap(),
            "{\"type\": \"point\", \"location\": {\"x\": 0.5, \"y\": 1.0, \"z\": 1.5}}"
        );
    }

    #[test]
    fn points_span_objects_and_contours_and_honour_zyx() {
        let m = model(
            &[
                vec![vec![[1.0, 2.0, 3.0]], vec![[4.0, 5.0, 6.0]]],
                vec![vec![[7.5, 8.0, 9.0]]],
            ],
            &[([10.0, 20.0, 30.0], [1.0, 1.0, 1.0])],
        );
        let r = read("mod", PointShape::Point, &params("zyx", 1.0), &m, "m.mod").unwrap();
        let locs: Vec<_> = r.iter().map(|p| p.location).collect();
        assert_eq!(
            locs,
            vec![[3.0, 2.0, 1.0], [6.0, 5.0, 4.0], [9.0, 8.0, 7.5]]
        );
    }

    #[test]
    fn slicer_angles_as_in_the_reference_test() {
        let slan = [
            ([13.1, 0.0, -30.2], [235.519_58, 682.744_14, 302.0]),
            ([-41.4, 0.0, -47.7], [221.942_44, 661.193_24, 327.0]),
        ];
        let m = model(
            &[vec![
                vec![[235.5, 682.7, 302.0]],
                vec![[221.9, 661.2, 327.0]],
            ]],
            &slan,
        );
        let r = read(
            "mod",
            PointShape::OrientedPoint,
            &params("xyz", 1.0),
            &m,
            "oriented.mod",
        )
        .unwrap();
        assert_eq!(r.len(), 2);
        // The f32 center widened exactly, as the reference prints it.
        assert_eq!(r[0].location, [235.5195770263672, 682.744140625, 302.0]);
        assert_eq!(
            r[1].location,
            [221.94244384765625, 661.1932373046875, 327.0]
        );
        let want = [
            [
                [0.8642748, -0.48992935, -0.11401013],
                [0.50301996, 0.84178288, 0.19588902],
                [0.0, -0.22665131, 0.97397597],
            ],
            [
                [6.73012504e-01, -5.54805465e-01, 4.89126840e-01],
                [7.39631104e-01, 5.04834117e-01, -4.45071168e-01],
                [0.0, 6.61311885e-01, 7.50111052e-01],
            ],
        ];
        for (rec, w) in r.iter().zip(want) {
            let m = rec.rotation.unwrap();
            for i in 0..3 {
                for j in 0..3 {
                    assert!((m[i][j] - w[i][j]).abs() < 2e-7, "{m:?}");
                }
            }
        }
        // zyx swaps the center and flips the matrix; binning divides.
        let z = read(
            "mod",
            PointShape::OrientedPoint,
            &params("zyx", 2.0),
            &m,
            "oriented.mod",
        )
        .unwrap();
        assert_eq!(
            z[0].location,
            [151.0, 682.744140625 / 2.0, 235.5195770263672 / 2.0]
        );
        assert_eq!(z[0].rotation.unwrap()[0][0], r[0].rotation.unwrap()[2][2]);
    }

    #[test]
    fn without_slan_oriented_is_empty() {
        let m = model(&[vec![vec![[1.0, 2.0, 3.0]]]], &[]);
        let r = read(
            "mod",
            PointShape::OrientedPoint,
            &params("xyz", 1.0),
            &m,
            "m.mod",
        )
        .unwrap();
        assert!(r.is_empty());
    }

    #[test]
    fn malformed_models_name_file_and_byte() {
        let p = params("xyz", 1.0);
        let e = read(
            "mod",
            PointShape::Point,
            &p,
            b"MRC IMAGE AND MORE BYTES",
            "x.mod",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.mod: expected an IMOD model starting with \"IMODV\", found \"MRC IMAG\""
        );
        let m = model(&[vec![vec![[1.0, 2.0, 3.0]]]], &[]);
        // Cut inside the CONT points.
        let cut = &m[..8 + MODEL_HEADER + 4 + OBJT_BODY + 4 + 16 + 6];
        let e = read("mod", PointShape::Point, &p, cut, "x.mod").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("x.mod: expected 4 bytes of a point at byte 444"),
            "{e}"
        );
        // No IEOF.
        let e = read("mod", PointShape::Point, &p, &m[..m.len() - 4], "x.mod").unwrap_err();
        assert!(e.to_string().contains("bytes of a chunk tag"), "{e}");
        // A garbage tag.
        let mut bad = m.clone();
        let at = 8 + MODEL_HEADER;
        bad[at..at + 4].copy_from_slice(&[0, 1, 2, 3]);
        let e = read("mod", PointShape::Point, &p, &bad, "x.mod").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("x.mod: expected an IMOD chunk tag at byte {at}, found [00, 01, 02, 03]")
        );
        // An absurd point count.
        let mut huge = m.clone();
        let at = 8 + MODEL_HEADER + 4 + OBJT_BODY + 4;
        huge[at..at + 4].copy_from_slice(&i32::MAX.to_be_bytes());
        let e = read("mod", PointShape::Point, &p, &huge, "x.mod").unwrap_err();
        assert!(
            e.to_string()
                .contains("contour point count that fits the file"),
            "{e}"
        );
    }
}

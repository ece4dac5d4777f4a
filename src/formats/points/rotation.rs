//! Euler angles to rotation matrices, following scipy's `Rotation` arithmetic step by step.
//!
//! The portal's NDJSON files hold the matrices the reference computes with
//! `scipy.spatial.transform.Rotation.from_euler(...).as_matrix()`. scipy does not multiply
//! elementary matrices: it builds one unit quaternion per elementary rotation, composes the
//! quaternions, and only then expands the result into a matrix. The last bits of the output (and
//! values such as `2.77e-17` where a plain product gives `0.0`) depend on that path, so this
//! module follows the same operations in the same order to reproduce the reference's floats.
//!
//! Conventions (scipy's): an upper-case sequence (`"ZYZ"`) is intrinsic, a lower-case one
//! (`"xyz"`, `"zxz"`) is extrinsic; angles here are in degrees. `inverse` negates the vector
//! part of the quaternion, which makes the inverse matrix exactly the transpose.

use crate::formats::ctf::radians;

/// A quaternion in scipy's scalar-last layout `[x, y, z, w]`.
type Quat = [f64; 4];

/// The axis of one elementary rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// The x axis (index 0).
    X,
    /// The y axis (index 1).
    Y,
    /// The z axis (index 2).
    Z,
}

impl Axis {
    fn index(self) -> usize {
        match self {
            Axis::X => 0,
            Axis::Y => 1,
            Axis::Z => 2,
        }
    }
}

/// Whether the axes of a sequence move with the body (intrinsic) or stay fixed (extrinsic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// Each rotation is about the axes as already rotated (scipy's upper-case sequences).
    Intrinsic,
    /// Each rotation is about the fixed original axes (scipy's lower-case sequences).
    Extrinsic,
}

fn elementary(axis: Axis, radians: f64) -> Quat {
    let mut q = [0.0, 0.0, 0.0, (radians / 2.0).cos()];
    q[axis.index()] = (radians / 2.0).sin();
    q
}

/// Hamilton product `p * q`, with the operations grouped as scipy's Cython code groups them.
fn compose(p: &Quat, q: &Quat) -> Quat {
    let cross = [
        p[1] * q[2] - p[2] * q[1],
        p[2] * q[0] - p[0] * q[2],
        p[0] * q[1] - p[1] * q[0],
    ];
    [
        p[3] * q[0] + q[3] * p[0] + cross[0],
        p[3] * q[1] + q[3] * p[1] + cross[1],
        p[3] * q[2] + q[3] * p[2] + cross[2],
        p[3] * q[3] - p[0] * q[0] - p[1] * q[1] - p[2] * q[2],
    ]
}

fn as_matrix(q: &Quat) -> [[f64; 3]; 3] {
    let [x, y, z, w] = *q;
    let (x2, y2, z2, w2) = (x * x, y * y, z * z, w * w);
    let (xy, zw, xz, yw, yz, xw) = (x * y, z * w, x * z, y * w, y * z, x * w);
    [
        [x2 - y2 - z2 + w2, 2.0 * (xy - zw), 2.0 * (xz + yw)],
        [2.0 * (xy + zw), -x2 + y2 - z2 + w2, 2.0 * (yz - xw)],
        [2.0 * (xz - yw), 2.0 * (yz + xw), -x2 - y2 + z2 + w2],
    ]
}

/// `Rotation.from_euler(seq, degrees, degrees=True).as_matrix()` for a three-axis sequence.
pub fn from_euler_deg(frame: Frame, axes: [Axis; 3], degrees: [f64; 3]) -> [[f64; 3]; 3] {
    let mut q = elementary(axes[0], radians(degrees[0]));
    for i in 1..3 {
        let e = elementary(axes[i], radians(degrees[i]));
        q = match frame {
            Frame::Intrinsic => compose(&q, &e),
            Frame::Extrinsic => compose(&e, &q),
        };
    }
    as_matrix(&q)
}

/// The matrix of the inverse rotation (`.inv().as_matrix()`): scipy negates the quaternion's
/// vector part, which yields exactly the transpose.
pub fn inverse(m: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut t = [[0.0; 3]; 3];
    for (i, row) in m.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            t[j][i] = *v;
        }
    }
    t
}

/// RELION's convention: the inverse of the intrinsic ZYZ rotation (rot, tilt, psi).
pub fn relion(rot: f64, tilt: f64, psi: f64) -> [[f64; 3]; 3] {
    inverse(&from_euler_deg(
        Frame::Intrinsic,
        [Axis::Z, Axis::Y, Axis::Z],
        [rot, tilt, psi],
    ))
}

/// STOPGAP's convention: extrinsic zxz (phi, the, psi), not inverted.
pub fn stopgap(phi: f64, the: f64, psi: f64) -> [[f64; 3]; 3] {
    from_euler_deg(
        Frame::Extrinsic,
        [Axis::Z, Axis::X, Axis::Z],
        [phi, the, psi],
    )
}

/// IMOD slicer angles: extrinsic xyz of the negated angles, since the slicer rotates the
/// particle while the portal stores how to rotate the reference onto it.
pub fn imod_slicer(x_rot: f64, y_rot: f64, z_rot: f64) -> [[f64; 3]; 3] {
    from_euler_deg(
        Frame::Extrinsic,
        [Axis::X, Axis::Y, Axis::Z],
        [-x_rot, -y_rot, -z_rot],
    )
}

/// `np.flip` of a 3×3 matrix (both axes reversed), used for `zyx` ordering.
pub fn flip(m: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = m[2 - i][2 - j];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bitwise equality, so that `-0.0` and `0.0` count as different (the NDJSON shows signs).
    fn same(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> bool {
        a.iter()
            .flatten()
            .zip(b.iter().flatten())
            .all(|(x, y)| x.to_bits() == y.to_bits())
    }

    // Expected values printed by scipy 1.16.3 (the reference's pinned version) for the same
    // calls; the reference's own test data rounds some of them to exact zeros and compares
    // with a tolerance.
    #[test]
    fn relion_matches_scipy_bit_for_bit() {
        let m = relion(90.0, 45.0, 180.0);
        let h = 0.7071067811865475;
        let e = 1.1102230246251565e-16;
        let e2 = 2.220446049250313e-16;
        assert!(
            same(&m, &[[-e, -h, h], [1.0, -e2, 0.0], [e, h, h]]),
            "{m:?}"
        );
        let m = relion(-120.0, 30.0, 165.0);
        assert!(
            same(
                &m,
                &[
                    [0.6424020199109172, 0.5950348471655409, 0.48296291314453405],
                    [-0.7244443697168013, 0.6770771969714244, 0.12940952255126045],
                    [
                        -0.24999999999999983,
                        -0.4330127018922193,
                        0.8660254037844386
                    ],
                ]
            ),
            "{m:?}"
        );
        let m = relion(0.0, 90.0, 0.0);
        assert!(
            same(&m, &[[e2, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, e2]]),
            "{m:?}"
        );
        assert_eq!(
            relion(0.0, 0.0, 0.0),
            [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
        );
        let z = flip(&relion(90.0, 45.0, 180.0));
        assert!(
            same(&z, &[[h, h, e], [0.0, -e2, 1.0], [h, -h, -e]]),
            "{z:?}"
        );
    }

    #[test]
    fn stopgap_is_extrinsic_zxz_not_inverted() {
        let m = stopgap(-120.0, 30.0, 165.0);
        assert!(
            same(
                &m,
                &[
                    [0.6770771969714244, -0.7244443697168013, 0.12940952255126045],
                    [0.5950348471655409, 0.6424020199109172, 0.48296291314453405],
                    [
                        -0.4330127018922193,
                        -0.24999999999999983,
                        0.8660254037844386
                    ],
                ]
            ),
            "{m:?}"
        );
        let e2 = 2.220446049250313e-16;
        let m = stopgap(0.0, 90.0, 0.0);
        assert!(
            same(&m, &[[1.0, 0.0, 0.0], [0.0, e2, -1.0], [0.0, 1.0, e2]]),
            "{m:?}"
        );
    }

    #[test]
    fn imod_slicer_angles_match_scipy_bit_for_bit() {
        let f = |v: f32| f64::from(v);
        let m = imod_slicer(f(13.1), 0.0, f(-30.2));
        assert!(
            same(
                &m,
                &[
                    [
                        0.8642747952555888,
                        -0.4899293495297888,
                        -0.11401013444088176
                    ],
                    [0.5030199581387501, 0.8417828783997564, 0.19588901793390795],
                    [0.0, -0.2266513139214923, 0.9739759657700291],
                ]
            ),
            "{m:?}"
        );
        let m = imod_slicer(f(-41.4), 0.0, f(-47.7));
        assert!(
            same(
                &m,
                &[
                    [0.6730125036609895, -0.5548054654823905, 0.4891268397735239],
                    [0.7396311039403133, 0.5048341171428564, -0.4450711676267361],
                    [
                        2.7755575615628914e-17,
                        0.6613118853003178,
                        0.7501110520186589
                    ],
                ]
            ),
            "{m:?}"
        );
    }

    #[test]
    fn flip_reverses_both_axes_and_inverse_transposes() {
        let m = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]];
        assert_eq!(
            flip(&m),
            [[9.0, 8.0, 7.0], [6.0, 5.0, 4.0], [3.0, 2.0, 1.0]]
        );
        assert_eq!(
            inverse(&m),
            [[1.0, 4.0, 7.0], [2.0, 5.0, 8.0], [3.0, 6.0, 9.0]]
        );
    }
}

//! zmesh's meshing of a label block, reproduced exactly: what igneous's `MeshTask` gets from
//! `zmesh.Mesher(resolution).mesh(block)` then `mesher.get(label, reduction_factor,
//! max_error, voxel_centered=True)` for every label (zmesh 1.9.0, the portal's lock).
//!
//! Three parts, each matching zmesh's own arithmetic and orderings, because the simplifier's
//! result depends on all of them (ties in the collapse queue are common on voxel surfaces):
//!
//! * marching cubes with the classic Lorensen case table, cubes visited z, y, x (the block
//!   is Fortran-ordered in igneous), vertices on a half-voxel integer lattice;
//! * the quadric edge-collapse simplifier (single precision, where zmesh's C++ widens a few
//!   sub-expressions to double), its binary heap with zmesh's tie behaviour, its validity
//!   checks (topology, triangle flips, compactness, valence), and its stopping rule;
//! * the iteration order of the C++ `std::unordered_map`s zmesh keeps faces and labels in
//!   (libstdc++: identity hash, prime bucket counts, new keys at the front of their bucket),
//!   which fixes the order quadrics are summed in, edges enter the queue, and faces and
//!   vertices are written out. Bucket counts carry over from one label to the next within a
//!   block, as zmesh reuses one simplifier per block.

use super::trimesh::TriMesh;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The parameters igneous passes for the portal: `simplification_factor` (100 when
/// simplification is on, 0 off) and `max_simplification_error` (physical units).
#[derive(Debug, Clone, Copy)]
pub struct ZmeshParams {
    /// Voxel size (x, y, z) in the physical units the mesh is made in.
    pub resolution: [f32; 3],
    /// Keep about `faces / reduction_factor` faces (0: no simplification).
    pub reduction_factor: u32,
    /// Largest quadric error a collapse may add (zmesh's raw `max_error`).
    pub max_error: f32,
}

/// Meshes every label of `data` (x fastest, `dims` = x, y, z; the caller adds igneous's zero
/// border) and simplifies each as zmesh does. Returns labels in the order igneous visits them
/// (`mesher.ids()`), vertices in physical units with zmesh's `voxel_centered` shift:
/// `(p + resolution) / 2`, `p` the simplifier's point (half-voxel lattice × resolution).
pub fn mesh_block(data: &[u32], dims: [usize; 3], params: &ZmeshParams) -> Vec<(u32, TriMesh)> {
    let (renumbered, originals) = renumber(data);
    let (order, triangles) = marching_cubes(&renumbered, dims);
    let mut simplifier = Simplifier::default();
    order
        .into_iter()
        .map(|label| {
            let tris = &triangles[label as usize];
            let mut mesh = simplifier.run(tris, params);
            for v in &mut mesh.vertices {
                for (c, r) in v.iter_mut().zip(params.resolution) {
                    *c = (*c + r) / 2.0;
                }
            }
            (originals[label as usize], mesh)
        })
        .collect()
}

/// igneous renumbers labels 1.. in order of first appearance (memory order) before meshing;
/// the new numbers decide the order zmesh keeps labels in. Returns the renumbered block and
/// the original label of every new number.
fn renumber(data: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let mut map: HashMap<u32, u32> = HashMap::new();
    let mut originals = vec![0u32];
    let out = data
        .iter()
        .map(|&l| {
            if l == 0 {
                return 0;
            }
            *map.entry(l).or_insert_with(|| {
                originals.push(l);
                (originals.len() - 1) as u32
            })
        })
        .collect();
    (out, originals)
}

/// A triangle of packed half-voxel lattice points (`x << 42 | y << 21 | z`).
type Tri = [u64; 3];

fn pack(x: u64, y: u64, z: u64) -> u64 {
    (x << 42) | (y << 21) | z
}

/// zmesh's marching cubes: per renumbered label, its triangles in emission order, and the
/// order zmesh's label map iterates in (a `std::unordered_map` reserved for `sx * sy` keys).
fn marching_cubes(data: &[u32], dims: [usize; 3]) -> (Vec<u32>, Vec<Vec<Tri>>) {
    let [sx, sy, sz] = dims;
    let mut labels_map = StdOrder::default();
    labels_map.reserve(sx * sy);
    let max_label = data.iter().copied().max().unwrap_or(0) as usize;
    let mut meshes: Vec<Vec<Tri>> = vec![Vec::new(); max_label + 1];
    if sx < 2 || sy < 2 || sz < 2 {
        return (Vec::new(), meshes);
    }
    // Cube corners in zmesh's numbering (offsets x, y, z in voxels) and the twelve edges as
    // corner pairs; an edge's vertex is the midpoint, in half-voxel units.
    const CORNERS: [[usize; 3]; 8] = [
        [0, 0, 0],
        [1, 0, 0],
        [1, 0, 1],
        [0, 0, 1],
        [0, 1, 0],
        [1, 1, 0],
        [1, 1, 1],
        [0, 1, 1],
    ];
    const EDGES: [(usize, usize); 12] = [
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 0),
        (4, 5),
        (5, 6),
        (6, 7),
        (7, 4),
        (0, 4),
        (1, 5),
        (2, 6),
        (3, 7),
    ];
    let mid: [[u64; 3]; 12] =
        EDGES.map(|(a, b)| [0, 1, 2].map(|k| (CORNERS[a][k] + CORNERS[b][k]) as u64));
    let stride: [usize; 8] = CORNERS.map(|[x, y, z]| x + sx * (y + sy * z));
    for z in 0..sz - 1 {
        for y in 0..sy - 1 {
            for x in 0..sx - 1 {
                let base = x + sx * (y + sy * z);
                let labels: [u32; 8] = stride.map(|s| data[base + s]);
                if labels.iter().all(|&l| l == labels[0]) {
                    continue;
                }
                let mut sorted = labels;
                sorted.sort_unstable();
                for i in (0..8).rev() {
                    let label = sorted[i];
                    if label == 0 {
                        break;
                    }
                    if i < 7 && sorted[i + 1] == label {
                        continue;
                    }
                    let mut case = 0usize;
                    for (n, &l) in labels.iter().enumerate() {
                        case |= usize::from(l != label) << n;
                    }
                    let row = &TRIANGLES[case];
                    if row[0] < 0 {
                        continue;
                    }
                    if !labels_map.contains(u64::from(label)) {
                        labels_map.insert(u64::from(label));
                    }
                    let (cx, cy, cz) = (2 * x as u64, 2 * y as u64, 2 * z as u64);
                    let at = |e: i8| {
                        let m = mid[e as usize];
                        pack(cx + m[0], cy + m[1], cz + m[2])
                    };
                    for t in row.chunks(3).take_while(|t| t[0] >= 0) {
                        meshes[label as usize].push([at(t[2]), at(t[1]), at(t[0])]);
                    }
                }
            }
        }
    }
    let order = labels_map.keys().map(|k| k as u32).collect();
    (order, meshes)
}

// ---------------------------------------------------------------------------------------
// libstdc++ `std::unordered_map` iteration order for integer keys (identity hash).

const NIL: u32 = u32::MAX;

/// libstdc++'s bucket counts (`__prime_list`), as far as any block needs.
const PRIMES: &[u64] = &[
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    103, 109, 113, 127, 137, 139, 149, 157, 167, 179, 193, 199, 211, 227, 241, 257, 277, 293, 313,
    337, 359, 383, 409, 439, 467, 503, 541, 577, 619, 661, 709, 761, 823, 887, 953, 1031, 1109,
    1193, 1289, 1381, 1493, 1613, 1741, 1879, 2029, 2179, 2357, 2549, 2753, 2971, 3209, 3469, 3739,
    4027, 4349, 4703, 5087, 5503, 5953, 6427, 6949, 7517, 8123, 8783, 9497, 10273, 11113, 12011,
    12983, 14033, 15173, 16411, 17749, 19183, 20753, 22447, 24281, 26267, 28411, 30727, 33223,
    35933, 38873, 42043, 45481, 49201, 53201, 57557, 62233, 67307, 72817, 78779, 85229, 92203,
    99733, 107897, 116731, 126271, 136607, 147793, 159871, 172933, 187091, 202409, 218971, 236897,
    256279, 277261, 299951, 324503, 351061, 379787, 410857, 444487, 480881, 520241, 562841, 608903,
    658753, 712697, 771049, 834181, 902483, 976369, 1056323, 1142821, 1236397, 1337629, 1447153,
    1565659, 1693859, 1832561, 1982627, 2144977, 2320627, 2510653, 2716249, 2938679, 3179303,
    3439651,
];

/// The order a libstdc++ `unordered_map<uint32_t, _>` iterates its keys in: one list of all
/// nodes, each bucket's nodes contiguous; a key joins the front of its bucket's run, or the
/// front of the list when its bucket is empty; a rehash re-inserts in list order. Keys index
/// the node arrays directly (they are small and dense here).
#[derive(Debug)]
struct StdOrder {
    buckets: usize,
    next_resize: usize,
    len: usize,
    head: u32,
    next: Vec<u32>,
    prev: Vec<u32>,
    present: Vec<bool>,
    first: Vec<u32>,
}

impl Default for StdOrder {
    fn default() -> Self {
        // A default-constructed table: one bucket, nothing allocated.
        StdOrder {
            buckets: 1,
            next_resize: 0,
            len: 0,
            head: NIL,
            next: Vec::new(),
            prev: Vec::new(),
            present: Vec::new(),
            first: vec![NIL],
        }
    }
}

impl StdOrder {
    /// `_Prime_rehash_policy::_M_next_bkt`.
    fn next_bucket(&mut self, n: usize) -> usize {
        const FAST: [usize; 14] = [2, 2, 2, 3, 5, 5, 7, 7, 11, 11, 11, 11, 13, 13];
        if n < FAST.len() {
            if n == 0 {
                return 1;
            }
            self.next_resize = FAST[n];
            return FAST[n];
        }
        let p = PRIMES[6..]
            .iter()
            .find(|&&p| p as usize >= n)
            .copied()
            .expect("bucket count within the prime table") as usize;
        self.next_resize = p;
        p
    }

    /// `_Prime_rehash_policy::_M_need_rehash` for one insertion (max load factor 1).
    fn need_rehash(&mut self) -> Option<usize> {
        let n = self.len + 1;
        if n <= self.next_resize {
            return None;
        }
        let min = n.max(if self.next_resize == 0 { 11 } else { 0 });
        if min >= self.buckets {
            Some(self.next_bucket((min + 1).max(self.buckets * 2)))
        } else {
            self.next_resize = self.buckets;
            None
        }
    }

    /// `reserve(n)`: `rehash(ceil(n / max_load))`.
    fn reserve(&mut self, n: usize) {
        let want = (self.len + 1).max(n);
        let b = self.next_bucket(want);
        if b != self.buckets {
            self.rehash(b);
        }
    }

    fn grow_to(&mut self, key: usize) {
        if key >= self.next.len() {
            let n = (key + 1).max(self.next.len() * 2);
            self.next.resize(n, NIL);
            self.prev.resize(n, NIL);
            self.present.resize(n, false);
        }
    }

    fn contains(&self, key: u64) -> bool {
        self.present.get(key as usize).copied().unwrap_or(false)
    }

    fn insert(&mut self, key: u64) {
        debug_assert!(!self.contains(key));
        self.grow_to(key as usize);
        if let Some(b) = self.need_rehash() {
            self.rehash(b);
        }
        self.link(key as u32);
        self.present[key as usize] = true;
        self.len += 1;
    }

    fn link(&mut self, k: u32) {
        let b = k as usize % self.buckets;
        let f = self.first[b];
        let before = if f != NIL { self.prev[f as usize] } else { NIL };
        let after = if f != NIL { f } else { self.head };
        self.prev[k as usize] = before;
        self.next[k as usize] = after;
        if before != NIL {
            self.next[before as usize] = k;
        } else {
            self.head = k;
        }
        if after != NIL {
            self.prev[after as usize] = k;
        }
        self.first[b] = k;
    }

    fn erase(&mut self, key: u64) {
        let k = key as u32;
        debug_assert!(self.contains(key));
        let b = k as usize % self.buckets;
        let (p, n) = (self.prev[k as usize], self.next[k as usize]);
        if self.first[b] == k {
            self.first[b] = if n != NIL && n as usize % self.buckets == b {
                n
            } else {
                NIL
            };
        }
        if p != NIL {
            self.next[p as usize] = n;
        } else {
            self.head = n;
        }
        if n != NIL {
            self.prev[n as usize] = p;
        }
        self.present[k as usize] = false;
        self.len -= 1;
    }

    fn rehash(&mut self, buckets: usize) {
        let order: Vec<u32> = self.keys().map(|k| k as u32).collect();
        self.buckets = buckets;
        self.first = vec![NIL; buckets];
        self.head = NIL;
        for k in order {
            self.link(k);
        }
    }

    /// `clear()`: no keys, bucket count and resize threshold kept.
    fn clear(&mut self) {
        for k in self.keys().collect::<Vec<_>>() {
            self.present[k as usize] = false;
        }
        self.first.iter_mut().for_each(|f| *f = NIL);
        self.head = NIL;
        self.len = 0;
    }

    fn keys(&self) -> impl Iterator<Item = u64> + '_ {
        let mut k = self.head;
        std::iter::from_fn(move || {
            if k == NIL {
                return None;
            }
            let out = k;
            k = self.next[k as usize];
            Some(u64::from(out))
        })
    }
}

// ---------------------------------------------------------------------------------------
// Half-edge mesh with zmesh's edge keys and vertex border counters.

/// zmesh's directed edge key: both ends bit-inverted, source in the high word.
fn make_edge(x: u32, y: u32) -> u64 {
    (u64::from(!x) << 32) | u64::from(!y)
}
fn edge_source(e: u64) -> u32 {
    (!e >> 32) as u32
}
fn edge_sink(e: u64) -> u32 {
    (!e & 0x7fff_ffff) as u32
}
fn edge_inverse(e: u64) -> u64 {
    e.rotate_left(32)
}

const VALID: u32 = 0x8000_0000;

/// A fast hasher for the lookup-only maps (their iteration order is never used).
#[derive(Default)]
struct MixHasher(u64);
impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        let x = (n ^ (n >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        self.0 = x ^ (x >> 32);
    }
}
type Fast = BuildHasherDefault<MixHasher>;

#[derive(Default)]
struct TriMeshState {
    /// Per vertex: the face it last started an edge of, and its counter of unpaired
    /// half-edges with the validity bit on top (zmesh's `tri_mesh_vertex`).
    face: Vec<u32>,
    open: Vec<u32>,
    /// Directed edge -> (face, opposite vertex).
    edges: HashMap<u64, (u32, u32), Fast>,
    /// Face id -> vertices; `order` holds the live ids in zmesh's iteration order.
    faces: Vec<[u32; 3]>,
    order: StdOrder,
    max_face: u32,
}

impl TriMeshState {
    fn reset(&mut self, vertices: usize) {
        self.face.clear();
        self.face.resize(vertices, 0);
        self.open.clear();
        self.open.resize(vertices, 0);
        self.edges.clear();
        self.faces.clear();
        self.faces.push([0; 3]);
        self.order.clear();
        self.max_face = 0;
    }

    fn valid(&self, v: u32) -> bool {
        self.open[v as usize] & VALID != 0
    }
    fn on_border(&self, v: u32) -> bool {
        self.open[v as usize] != VALID
    }
    fn valid_edge(&self, e: u64) -> bool {
        let (s, t) = (edge_source(e), edge_sink(e));
        self.valid(s) && self.valid(t) && !self.on_border(s) && !self.on_border(t)
    }
    fn across(&self, x: u32, y: u32) -> Option<u32> {
        self.edges.get(&make_edge(x, y)).map(|&(_, v)| v)
    }
    fn has_edge(&self, x: u32, y: u32) -> bool {
        self.edges.contains_key(&make_edge(x, y))
    }

    fn add_edge(&mut self, x: u32, y: u32, z: u32, f: u32) {
        let e = make_edge(x, y);
        if self.edges.contains_key(&edge_inverse(e)) {
            self.open[x as usize] = self.open[x as usize].wrapping_sub(1);
            self.open[y as usize] = self.open[y as usize].wrapping_sub(1);
        } else {
            self.open[x as usize] = self.open[x as usize].wrapping_add(1);
            self.open[y as usize] = self.open[y as usize].wrapping_add(1);
        }
        self.face[x as usize] = f;
        self.open[x as usize] |= VALID;
        // `emplace`: an existing directed edge is kept.
        self.edges.entry(e).or_insert((f, z));
    }

    fn remove_edge(&mut self, x: u32, y: u32, f: u32) {
        let e = make_edge(x, y);
        if self.edges.contains_key(&edge_inverse(e)) {
            self.open[x as usize] = self.open[x as usize].wrapping_add(1);
            self.open[y as usize] = self.open[y as usize].wrapping_add(1);
        } else {
            self.open[x as usize] = self.open[x as usize].wrapping_sub(1);
            self.open[y as usize] = self.open[y as usize].wrapping_sub(1);
        }
        if self.face[x as usize] == f {
            self.open[x as usize] &= !VALID;
        }
        self.edges.remove(&e);
    }

    fn add_face(&mut self, x: u32, y: u32, z: u32) -> u32 {
        self.max_face += 1;
        let f = self.max_face;
        self.faces.push([x, y, z]);
        self.order.insert(u64::from(f));
        self.add_edge(x, y, z, f);
        self.add_edge(y, z, x, f);
        self.add_edge(z, x, y, f);
        f
    }

    fn remove_face(&mut self, f: u32) {
        let [a, b, c] = self.faces[f as usize];
        self.remove_edge(a, b, f);
        self.remove_edge(b, c, f);
        self.remove_edge(c, a, f);
        self.order.erase(u64::from(f));
    }

    /// An edge leaving `v` in the face `v` last started an edge of, if `v` is interior.
    fn vertex_edge(&self, v: u32) -> Option<u64> {
        if self.on_border(v) {
            return None;
        }
        let f = self.face[v as usize];
        if !self.order.contains(u64::from(f)) {
            return None;
        }
        let [a, b, c] = self.faces[f as usize];
        Some(if v == a {
            make_edge(a, b)
        } else if v == b {
            make_edge(b, c)
        } else if v == c {
            make_edge(c, a)
        } else {
            0
        })
    }

    /// Collapses `v1 -> v2` (both interior): the two faces on the edge go, `v1`'s other faces
    /// are re-made around `v2`. Returns the surviving vertex `v2`.
    fn collapse(&mut self, v1: u32, v2: u32) -> Option<u32> {
        let er = *self.edges.get(&make_edge(v1, v2))?;
        let el = *self.edges.get(&make_edge(v2, v1))?;
        let (vr, vl) = (er.1, el.1);
        self.remove_face(er.0);
        self.remove_face(el.0);
        let mut v = vr;
        while v != vl {
            let (f, nv) = *self.edges.get(&make_edge(v1, v))?;
            self.remove_face(f);
            self.add_face(v2, v, nv);
            v = nv;
        }
        Some(v2)
    }
}

// ---------------------------------------------------------------------------------------
// Single-precision geometry with zmesh's evaluation order.

type V3 = [f32; 3];

fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
fn dot(a: V3, b: V3) -> f32 {
    let mut r = 0f32;
    for i in 0..3 {
        r += a[i] * b[i];
    }
    r
}
fn len(a: V3) -> f32 {
    dot(a, a).sqrt()
}
/// 3×3 (row-major) times vector, accumulated from zero as zmesh's `mat * vec` does.
fn mat_vec(m: &[f32; 9], v: V3) -> V3 {
    let mut out = [0f32; 3];
    for (r, o) in out.iter_mut().enumerate() {
        for c in 0..3 {
            *o += v[c] * m[3 * r + c];
        }
    }
    out
}

/// A symmetric 4×4 error quadric (plane `ax + by + cz + d = 0` outer product).
#[derive(Debug, Clone, Copy, Default)]
struct Quadric {
    a2: f32,
    ab: f32,
    ac: f32,
    ad: f32,
    b2: f32,
    bc: f32,
    bd: f32,
    c2: f32,
    cd: f32,
    d2: f32,
}

impl Quadric {
    fn plane(a: f32, b: f32, c: f32, d: f32) -> Self {
        Quadric {
            a2: a * a,
            ab: a * b,
            ac: a * c,
            ad: a * d,
            b2: b * b,
            bc: b * c,
            bd: b * d,
            c2: c * c,
            cd: c * d,
            d2: d * d,
        }
    }
    fn add(&mut self, o: &Quadric) {
        self.a2 += o.a2;
        self.b2 += o.b2;
        self.c2 += o.c2;
        self.d2 += o.d2;
        self.ab += o.ab;
        self.ac += o.ac;
        self.ad += o.ad;
        self.bc += o.bc;
        self.bd += o.bd;
        self.cd += o.cd;
    }
    fn scale(&mut self, s: f32) {
        for x in [
            &mut self.a2,
            &mut self.b2,
            &mut self.c2,
            &mut self.d2,
            &mut self.ab,
            &mut self.ac,
            &mut self.ad,
            &mut self.bc,
            &mut self.bd,
            &mut self.cd,
        ] {
            *x *= s;
        }
    }
    /// `v^T Q v`: zmesh's expression multiplies by the literal `2.0`, a double, so the outer
    /// sums run in double and the result is rounded back to single.
    fn evaluate(&self, p: V3) -> f32 {
        let [x, y, z] = p;
        let t1 = f64::from(y * self.ab + z * self.ac + self.ad) * 2.0;
        let t2 = f64::from(z * self.bc + self.bd) * 2.0;
        let t3 = f64::from(self.cd) * 2.0;
        let a = f64::from(x) * (f64::from(x * self.a2) + t1);
        let b = f64::from(y) * (f64::from(y * self.b2) + t2);
        let c = f64::from(z) * (f64::from(z * self.c2) + t3);
        (a + b + c + f64::from(self.d2)) as f32
    }
    fn tensor(&self) -> [f32; 9] {
        [
            self.a2, self.ab, self.ac, self.ab, self.b2, self.bc, self.ac, self.bc, self.c2,
        ]
    }
    /// The quadric's minimum, if its 3×3 part inverts (cofactors, single precision).
    fn optimum(&self) -> Option<V3> {
        let m = self.tensor();
        let mut r = [
            m[4] * m[8] - m[5] * m[7],
            m[2] * m[7] - m[1] * m[8],
            m[1] * m[5] - m[2] * m[4],
            m[5] * m[6] - m[3] * m[8],
            m[0] * m[8] - m[2] * m[6],
            m[2] * m[3] - m[0] * m[5],
            m[3] * m[7] - m[4] * m[6],
            m[1] * m[6] - m[0] * m[7],
            m[0] * m[4] - m[1] * m[3],
        ];
        let d = m[0] * r[0] + m[1] * r[3] + m[2] * r[6];
        if d.abs() <= f32::EPSILON {
            return None;
        }
        let inv = 1.0 / d;
        r.iter_mut().for_each(|x| *x *= inv);
        let v = mat_vec(&r, [self.ad, self.bd, self.cd]);
        Some([-v[0], -v[1], -v[2]])
    }
    /// zmesh's point on the segment `v2 + t (v1 - v2)`, `t` clamped to [0, 1]. Its `t` is four
    /// times the quadric's minimum along the line (its formula doubles the linear terms and
    /// the step); kept, since the reference's meshes come from it.
    fn optimum_on_segment(&self, v1: V3, v2: V3) -> Option<V3> {
        let d = sub(v1, v2);
        let a = self.tensor();
        let av2 = mat_vec(&a, v2);
        let ad = mat_vec(&a, d);
        let denom = dot(d, ad);
        if denom.abs() <= f32::EPSILON {
            return None;
        }
        let inv = 2.0 / denom;
        let q = -(dot([self.ad, self.bd, self.cd], d) * 2.0 + dot(av2, d) + dot(v2, ad)) * inv;
        let q = q.clamp(0.0, 1.0);
        Some([q * d[0] + v2[0], q * d[1] + v2[1], q * d[2] + v2[2]])
    }
}

// ---------------------------------------------------------------------------------------
// zmesh's indexed binary min-heap of candidate collapses.

#[derive(Debug, Clone, Copy)]
struct Candidate {
    edge: u64,
    value: f32,
    optimal: V3,
}

#[derive(Default)]
struct Heap {
    items: Vec<Candidate>,
    pos: HashMap<u64, usize, Fast>,
}

impl Heap {
    fn clear(&mut self) {
        self.items.clear();
        self.pos.clear();
    }
    fn swap(&mut self, i: usize, j: usize) {
        self.items.swap(i, j);
        self.pos.insert(self.items[i].edge, i);
        self.pos.insert(self.items[j].edge, j);
    }
    fn up(&mut self, mut i: usize) -> usize {
        while i > 0 && self.items[i].value < self.items[(i - 1) / 2].value {
            self.swap(i, (i - 1) / 2);
            i = (i - 1) / 2;
        }
        i
    }
    /// Sifts down; unlike a textbook heap it also swaps with an equal child (zmesh stops only
    /// when the parent is strictly smaller), which decides the order of equal-cost collapses.
    fn down(&mut self, mut i: usize) {
        let n = self.items.len();
        let mut c = 2 * i + 1;
        while c < n {
            if c + 1 < n && self.items[c + 1].value < self.items[c].value {
                c += 1;
            }
            if self.items[i].value < self.items[c].value {
                break;
            }
            self.swap(i, c);
            i = c;
            c = 2 * i + 1;
        }
    }
    fn insert(&mut self, c: Candidate) {
        if self.pos.contains_key(&c.edge) {
            return;
        }
        let i = self.items.len();
        self.items.push(c);
        self.pos.insert(c.edge, i);
        self.up(i);
    }
    fn remove_at(&mut self, i: usize) {
        let last = self.items.len() - 1;
        self.pos.remove(&self.items[i].edge);
        if i < last {
            self.items.swap(i, last);
            self.items.pop();
            self.pos.insert(self.items[i].edge, i);
            let j = self.up(i);
            self.down(j);
        } else {
            self.items.pop();
        }
    }
    fn erase(&mut self, edge: u64) {
        if let Some(&i) = self.pos.get(&edge) {
            self.remove_at(i);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The simplifier.

#[derive(Default)]
struct Simplifier {
    mesh: TriMeshState,
    points: Vec<V3>,
    quadrics: Vec<Quadric>,
    heap: Heap,
    invalid: std::collections::HashSet<u64, Fast>,
}

impl Simplifier {
    /// One label: zmesh's `get_mesh` (fill, simplify when `reduction_factor > 0`, write out).
    /// Points are in physical units on the half-voxel lattice.
    fn run(&mut self, tris: &[Tri], params: &ZmeshParams) -> TriMesh {
        self.fill(tris, params.resolution);
        if params.reduction_factor > 0 {
            self.generate_quadrics();
            self.heap.clear();
            self.init_heap();
            let target = self.mesh.order.len / params.reduction_factor as usize;
            // zmesh passes 25 * DBL_EPSILON from Python, rounded to single.
            let min_error = (25.0 * f64::EPSILON) as f32;
            self.optimize(target, params.max_error, min_error);
            self.invalid.clear();
        }
        self.write_out()
    }

    fn fill(&mut self, tris: &[Tri], res: [f32; 3]) {
        let mut index: HashMap<u64, u32, Fast> = HashMap::default();
        let mut packed = Vec::new();
        let ids: Vec<[u32; 3]> = tris
            .iter()
            .map(|t| {
                t.map(|p| {
                    *index.entry(p).or_insert_with(|| {
                        packed.push(p);
                        (packed.len() - 1) as u32
                    })
                })
            })
            .collect();
        self.points = packed
            .iter()
            .map(|&p| {
                let (x, y, z) = (p >> 42, (p >> 21) & 0x1f_ffff, p & 0x1f_ffff);
                [res[0] * x as f32, res[1] * y as f32, res[2] * z as f32]
            })
            .collect();
        self.quadrics.clear();
        self.quadrics.resize(packed.len(), Quadric::default());
        self.invalid.clear();
        self.mesh.reset(packed.len());
        for [a, b, c] in ids {
            self.mesh.add_face(a, b, c);
        }
    }

    fn face_order(&self) -> Vec<u32> {
        self.mesh.order.keys().map(|k| k as u32).collect()
    }

    fn generate_quadrics(&mut self) {
        for f in self.face_order() {
            let [i0, i1, i2] = self.mesh.faces[f as usize];
            let (p0, p1, p2) = (
                self.points[i0 as usize],
                self.points[i1 as usize],
                self.points[i2 as usize],
            );
            let mut n = cross(sub(p1, p0), sub(p2, p0));
            // zmesh's `normalize` returns the reciprocal length, which then weighs the plane.
            let inv_len = 1.0 / len(n);
            n.iter_mut().for_each(|x| *x *= inv_len);
            let mut q = Quadric::plane(n[0], n[1], n[2], -dot(n, p0));
            q.scale(inv_len * 2.0);
            for i in [i0, i1, i2] {
                self.quadrics[i as usize].add(&q);
            }
        }
    }

    fn init_heap(&mut self) {
        for f in self.face_order() {
            let [a, b, c] = self.mesh.faces[f as usize];
            if a < b {
                self.add_to_heap(a, b);
            }
            if b < c {
                self.add_to_heap(b, c);
            }
            if c < a {
                self.add_to_heap(c, a);
            }
        }
    }

    fn add_to_heap(&mut self, v0: u32, v1: u32) {
        let e = make_edge(v0, v1);
        if !self.mesh.valid_edge(e) {
            return;
        }
        let mut q = self.quadrics[v0 as usize];
        q.add(&self.quadrics[v1 as usize]);
        let (p0, p1) = (self.points[v0 as usize], self.points[v1 as usize]);
        let pos = q
            .optimum()
            .or_else(|| q.optimum_on_segment(p0, p1))
            .unwrap_or([
                (p0[0] + p1[0]) * 0.5,
                (p0[1] + p1[1]) * 0.5,
                (p0[2] + p1[2]) * 0.5,
            ]);
        let mut value = q.evaluate(pos);
        if value < f32::EPSILON {
            value = 0.0;
        }
        self.heap.insert(Candidate {
            edge: e,
            value,
            optimal: pos,
        });
    }

    fn optimize(&mut self, target: usize, max_error: f32, min_error: f32) {
        while let Some(top) = self.heap.items.first() {
            let v = top.value;
            if (self.mesh.order.len <= target && v >= min_error) || v > max_error {
                break;
            }
            self.iterate();
        }
    }

    /// Walks the ring of `center` from `start` (exclusive) to `stop` (exclusive).
    fn ring(&self, center: u32, start: u32, stop: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let mut v = start;
        while v != stop {
            out.push(v);
            match self.mesh.across(center, v) {
                Some(n) => v = n,
                None => break,
            }
        }
        out
    }

    fn check_topology(&mut self, e: u64) -> bool {
        if self.invalid.contains(&e) {
            return false;
        }
        let (v0, v1) = (edge_source(e), edge_sink(e));
        let (Some(tr), Some(bl)) = (self.mesh.across(v0, v1), self.mesh.across(v1, v0)) else {
            return false;
        };
        if tr == bl {
            return false;
        }
        let Some(start) = self.mesh.across(v0, tr) else {
            return false;
        };
        // A vertex adjacent to both ends (other than the two wings) would pinch the surface.
        for v in self.ring(v0, start, bl) {
            if self.mesh.has_edge(v1, v) {
                self.invalid.insert(e);
                return false;
            }
        }
        true
    }

    /// No triangle around either end may flip (or nearly) when that end moves to `p`, and the
    /// merged vertex's valence stays below 15.
    fn check_inversion(&self, e: u64, p: V3) -> bool {
        let (v0, v1) = (edge_source(e), edge_sink(e));
        let (Some(tr), Some(bl)) = (self.mesh.across(v0, v1), self.mesh.across(v1, v0)) else {
            return false;
        };
        let mut degree = 0u32;
        for (center, from, to) in [(v0, tr, bl), (v1, bl, tr)] {
            let pc = self.points[center as usize];
            let mut v = from;
            while v != to {
                let Some(vn) = self.mesh.across(center, v) else {
                    return false;
                };
                let (pv, pn) = (self.points[v as usize], self.points[vn as usize]);
                let a = sub(pn, pv);
                if dot(cross(a, sub(pc, pv)), cross(a, sub(p, pv))) < 0.001 {
                    return false;
                }
                v = vn;
                degree += 1;
            }
        }
        degree < 15
    }

    /// Every triangle around the merged vertex keeps a compactness (area over squared edge
    /// lengths, 1 for equilateral) of at least 0.05. zmesh computes the ratio in extended
    /// precision; double is the nearest Rust has and only differs at exact ties.
    fn check_compactness(&self, e: u64, p: V3) -> bool {
        let (v0, v1) = (edge_source(e), edge_sink(e));
        let (Some(tr), Some(bl)) = (self.mesh.across(v0, v1), self.mesh.across(v1, v0)) else {
            return false;
        };
        for (center, from, to) in [(v0, tr, bl), (v1, bl, tr)] {
            let mut v = from;
            while v != to {
                let Some(vn) = self.mesh.across(center, v) else {
                    return false;
                };
                let (pv, pn) = (self.points[v as usize], self.points[vn as usize]);
                let c = cross(sub(pv, p), sub(pn, p));
                let den = dot(sub(p, pv), sub(p, pv))
                    + dot(sub(pv, pn), sub(pv, pn))
                    + dot(sub(pn, p), sub(pn, p));
                let r = (f64::from(len(c)) * 0.5 * 6.928203230275509 / f64::from(den)) as f32;
                if r < 0.05 {
                    return false;
                }
                v = vn;
            }
        }
        true
    }

    fn iterate(&mut self) {
        let top = self.heap.items[0];
        self.heap.remove_at(0);
        let e = top.edge;
        let (v0, v1) = (edge_source(e), edge_sink(e));
        if e == 0 || !self.mesh.valid_edge(e) {
            return;
        }
        if !self.check_topology(e)
            || !self.check_inversion(e, top.optimal)
            || !self.check_compactness(e, top.optimal)
        {
            return;
        }
        let key = |a: u32, b: u32| make_edge(a.min(b), a.max(b));
        for (c, o) in [(v0, v1), (v1, v0)] {
            let Some(start) = self.mesh.across(c, o) else {
                return;
            };
            for v in self.ring(c, start, o) {
                self.heap.erase(key(c, v));
            }
        }
        let Some(v) = self.mesh.collapse(v0, v1) else {
            return;
        };
        self.points[v as usize] = top.optimal;
        let other = if v == v0 { v1 } else { v0 };
        let q = self.quadrics[other as usize];
        self.quadrics[v as usize].add(&q);
        let Some(first) = self.mesh.vertex_edge(v) else {
            return;
        };
        let last = edge_sink(first);
        let mut w = last;
        loop {
            self.add_to_heap(v.min(w), v.max(w));
            match self.mesh.across(v, w) {
                Some(n) => w = n,
                None => break,
            }
            if w == last {
                break;
            }
        }
    }

    /// Faces in zmesh's face-map order, vertices renumbered by first use; zmesh's `get`
    /// (no transpose) writes each face rotated to (v1, v2, v0).
    fn write_out(&self) -> TriMesh {
        let mut remap = vec![u32::MAX; self.points.len()];
        let mut vertices = Vec::new();
        let mut faces = Vec::with_capacity(self.mesh.order.len);
        for f in self.mesh.order.keys() {
            let tri = self.mesh.faces[f as usize].map(|i| {
                if remap[i as usize] == u32::MAX {
                    remap[i as usize] = vertices.len() as u32;
                    vertices.push(self.points[i as usize]);
                }
                remap[i as usize]
            });
            faces.push([tri[1], tri[2], tri[0]]);
        }
        TriMesh { vertices, faces }
    }
}

// ---------------------------------------------------------------------------------------

/// The classic marching-cubes case table zmesh uses (Lorensen & Cline's, as popularised by
/// Paul Bourke): per mask of corners *outside* the label, triangles as edge indices, `-1`
/// ends a row. Edges and corners are numbered as in `marching_cubes` above.
#[rustfmt::skip]
const TRIANGLES: [[i8; 16]; 256] = [
    [-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 8, 3, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 1, 9, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 8, 3, 9, 8, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 2, 10, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 8, 3, 1, 2, 10, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [9, 2, 10, 0, 2, 9, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [2, 8, 3, 2, 10, 8, 10, 9, 8, -1, -1, -1, -1, -1, -1, -1],
    [3, 11, 2, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 11, 2, 8, 11, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 9, 0, 2, 3, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 11, 2, 1, 9, 11, 9, 8, 11, -1, -1, -1, -1, -1, -1, -1],
    [3, 10, 1, 11, 10, 3, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 10, 1, 0, 8, 10, 8, 11, 10, -1, -1, -1, -1, -1, -1, -1],
    [3, 9, 0, 3, 11, 9, 11, 10, 9, -1, -1, -1, -1, -1, -1, -1],
    [9, 8, 10, 10, 8, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [4, 7, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [4, 3, 0, 7, 3, 4, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 1, 9, 8, 4, 7, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [4, 1, 9, 4, 7, 1, 7, 3, 1, -1, -1, -1, -1, -1, -1, -1],
    [1, 2, 10, 8, 4, 7, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [3, 4, 7, 3, 0, 4, 1, 2, 10, -1, -1, -1, -1, -1, -1, -1],
    [9, 2, 10, 9, 0, 2, 8, 4, 7, -1, -1, -1, -1, -1, -1, -1],
    [2, 10, 9, 2, 9, 7, 2, 7, 3, 7, 9, 4, -1, -1, -1, -1],
    [8, 4, 7, 3, 11, 2, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [11, 4, 7, 11, 2, 4, 2, 0, 4, -1, -1, -1, -1, -1, -1, -1],
    [9, 0, 1, 8, 4, 7, 2, 3, 11, -1, -1, -1, -1, -1, -1, -1],
    [4, 7, 11, 9, 4, 11, 9, 11, 2, 9, 2, 1, -1, -1, -1, -1],
    [3, 10, 1, 3, 11, 10, 7, 8, 4, -1, -1, -1, -1, -1, -1, -1],
    [1, 11, 10, 1, 4, 11, 1, 0, 4, 7, 11, 4, -1, -1, -1, -1],
    [4, 7, 8, 9, 0, 11, 9, 11, 10, 11, 0, 3, -1, -1, -1, -1],
    [4, 7, 11, 4, 11, 9, 9, 11, 10, -1, -1, -1, -1, -1, -1, -1],
    [9, 5, 4, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [9, 5, 4, 0, 8, 3, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 5, 4, 1, 5, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [8, 5, 4, 8, 3, 5, 3, 1, 5, -1, -1, -1, -1, -1, -1, -1],
    [1, 2, 10, 9, 5, 4, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [3, 0, 8, 1, 2, 10, 4, 9, 5, -1, -1, -1, -1, -1, -1, -1],
    [5, 2, 10, 5, 4, 2, 4, 0, 2, -1, -1, -1, -1, -1, -1, -1],
    [2, 10, 5, 3, 2, 5, 3, 5, 4, 3, 4, 8, -1, -1, -1, -1],
    [9, 5, 4, 2, 3, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 11, 2, 0, 8, 11, 4, 9, 5, -1, -1, -1, -1, -1, -1, -1],
    [0, 5, 4, 0, 1, 5, 2, 3, 11, -1, -1, -1, -1, -1, -1, -1],
    [2, 1, 5, 2, 5, 8, 2, 8, 11, 4, 8, 5, -1, -1, -1, -1],
    [10, 3, 11, 10, 1, 3, 9, 5, 4, -1, -1, -1, -1, -1, -1, -1],
    [4, 9, 5, 0, 8, 1, 8, 10, 1, 8, 11, 10, -1, -1, -1, -1],
    [5, 4, 0, 5, 0, 11, 5, 11, 10, 11, 0, 3, -1, -1, -1, -1],
    [5, 4, 8, 5, 8, 10, 10, 8, 11, -1, -1, -1, -1, -1, -1, -1],
    [9, 7, 8, 5, 7, 9, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [9, 3, 0, 9, 5, 3, 5, 7, 3, -1, -1, -1, -1, -1, -1, -1],
    [0, 7, 8, 0, 1, 7, 1, 5, 7, -1, -1, -1, -1, -1, -1, -1],
    [1, 5, 3, 3, 5, 7, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [9, 7, 8, 9, 5, 7, 10, 1, 2, -1, -1, -1, -1, -1, -1, -1],
    [10, 1, 2, 9, 5, 0, 5, 3, 0, 5, 7, 3, -1, -1, -1, -1],
    [8, 0, 2, 8, 2, 5, 8, 5, 7, 10, 5, 2, -1, -1, -1, -1],
    [2, 10, 5, 2, 5, 3, 3, 5, 7, -1, -1, -1, -1, -1, -1, -1],
    [7, 9, 5, 7, 8, 9, 3, 11, 2, -1, -1, -1, -1, -1, -1, -1],
    [9, 5, 7, 9, 7, 2, 9, 2, 0, 2, 7, 11, -1, -1, -1, -1],
    [2, 3, 11, 0, 1, 8, 1, 7, 8, 1, 5, 7, -1, -1, -1, -1],
    [11, 2, 1, 11, 1, 7, 7, 1, 5, -1, -1, -1, -1, -1, -1, -1],
    [9, 5, 8, 8, 5, 7, 10, 1, 3, 10, 3, 11, -1, -1, -1, -1],
    [5, 7, 0, 5, 0, 9, 7, 11, 0, 1, 0, 10, 11, 10, 0, -1],
    [11, 10, 0, 11, 0, 3, 10, 5, 0, 8, 0, 7, 5, 7, 0, -1],
    [11, 10, 5, 7, 11, 5, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [10, 6, 5, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 8, 3, 5, 10, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [9, 0, 1, 5, 10, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 8, 3, 1, 9, 8, 5, 10, 6, -1, -1, -1, -1, -1, -1, -1],
    [1, 6, 5, 2, 6, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 6, 5, 1, 2, 6, 3, 0, 8, -1, -1, -1, -1, -1, -1, -1],
    [9, 6, 5, 9, 0, 6, 0, 2, 6, -1, -1, -1, -1, -1, -1, -1],
    [5, 9, 8, 5, 8, 2, 5, 2, 6, 3, 2, 8, -1, -1, -1, -1],
    [2, 3, 11, 10, 6, 5, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [11, 0, 8, 11, 2, 0, 10, 6, 5, -1, -1, -1, -1, -1, -1, -1],
    [0, 1, 9, 2, 3, 11, 5, 10, 6, -1, -1, -1, -1, -1, -1, -1],
    [5, 10, 6, 1, 9, 2, 9, 11, 2, 9, 8, 11, -1, -1, -1, -1],
    [6, 3, 11, 6, 5, 3, 5, 1, 3, -1, -1, -1, -1, -1, -1, -1],
    [0, 8, 11, 0, 11, 5, 0, 5, 1, 5, 11, 6, -1, -1, -1, -1],
    [3, 11, 6, 0, 3, 6, 0, 6, 5, 0, 5, 9, -1, -1, -1, -1],
    [6, 5, 9, 6, 9, 11, 11, 9, 8, -1, -1, -1, -1, -1, -1, -1],
    [5, 10, 6, 4, 7, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [4, 3, 0, 4, 7, 3, 6, 5, 10, -1, -1, -1, -1, -1, -1, -1],
    [1, 9, 0, 5, 10, 6, 8, 4, 7, -1, -1, -1, -1, -1, -1, -1],
    [10, 6, 5, 1, 9, 7, 1, 7, 3, 7, 9, 4, -1, -1, -1, -1],
    [6, 1, 2, 6, 5, 1, 4, 7, 8, -1, -1, -1, -1, -1, -1, -1],
    [1, 2, 5, 5, 2, 6, 3, 0, 4, 3, 4, 7, -1, -1, -1, -1],
    [8, 4, 7, 9, 0, 5, 0, 6, 5, 0, 2, 6, -1, -1, -1, -1],
    [7, 3, 9, 7, 9, 4, 3, 2, 9, 5, 9, 6, 2, 6, 9, -1],
    [3, 11, 2, 7, 8, 4, 10, 6, 5, -1, -1, -1, -1, -1, -1, -1],
    [5, 10, 6, 4, 7, 2, 4, 2, 0, 2, 7, 11, -1, -1, -1, -1],
    [0, 1, 9, 4, 7, 8, 2, 3, 11, 5, 10, 6, -1, -1, -1, -1],
    [9, 2, 1, 9, 11, 2, 9, 4, 11, 7, 11, 4, 5, 10, 6, -1],
    [8, 4, 7, 3, 11, 5, 3, 5, 1, 5, 11, 6, -1, -1, -1, -1],
    [5, 1, 11, 5, 11, 6, 1, 0, 11, 7, 11, 4, 0, 4, 11, -1],
    [0, 5, 9, 0, 6, 5, 0, 3, 6, 11, 6, 3, 8, 4, 7, -1],
    [6, 5, 9, 6, 9, 11, 4, 7, 9, 7, 11, 9, -1, -1, -1, -1],
    [10, 4, 9, 6, 4, 10, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [4, 10, 6, 4, 9, 10, 0, 8, 3, -1, -1, -1, -1, -1, -1, -1],
    [10, 0, 1, 10, 6, 0, 6, 4, 0, -1, -1, -1, -1, -1, -1, -1],
    [8, 3, 1, 8, 1, 6, 8, 6, 4, 6, 1, 10, -1, -1, -1, -1],
    [1, 4, 9, 1, 2, 4, 2, 6, 4, -1, -1, -1, -1, -1, -1, -1],
    [3, 0, 8, 1, 2, 9, 2, 4, 9, 2, 6, 4, -1, -1, -1, -1],
    [0, 2, 4, 4, 2, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [8, 3, 2, 8, 2, 4, 4, 2, 6, -1, -1, -1, -1, -1, -1, -1],
    [10, 4, 9, 10, 6, 4, 11, 2, 3, -1, -1, -1, -1, -1, -1, -1],
    [0, 8, 2, 2, 8, 11, 4, 9, 10, 4, 10, 6, -1, -1, -1, -1],
    [3, 11, 2, 0, 1, 6, 0, 6, 4, 6, 1, 10, -1, -1, -1, -1],
    [6, 4, 1, 6, 1, 10, 4, 8, 1, 2, 1, 11, 8, 11, 1, -1],
    [9, 6, 4, 9, 3, 6, 9, 1, 3, 11, 6, 3, -1, -1, -1, -1],
    [8, 11, 1, 8, 1, 0, 11, 6, 1, 9, 1, 4, 6, 4, 1, -1],
    [3, 11, 6, 3, 6, 0, 0, 6, 4, -1, -1, -1, -1, -1, -1, -1],
    [6, 4, 8, 11, 6, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [7, 10, 6, 7, 8, 10, 8, 9, 10, -1, -1, -1, -1, -1, -1, -1],
    [0, 7, 3, 0, 10, 7, 0, 9, 10, 6, 7, 10, -1, -1, -1, -1],
    [10, 6, 7, 1, 10, 7, 1, 7, 8, 1, 8, 0, -1, -1, -1, -1],
    [10, 6, 7, 10, 7, 1, 1, 7, 3, -1, -1, -1, -1, -1, -1, -1],
    [1, 2, 6, 1, 6, 8, 1, 8, 9, 8, 6, 7, -1, -1, -1, -1],
    [2, 6, 9, 2, 9, 1, 6, 7, 9, 0, 9, 3, 7, 3, 9, -1],
    [7, 8, 0, 7, 0, 6, 6, 0, 2, -1, -1, -1, -1, -1, -1, -1],
    [7, 3, 2, 6, 7, 2, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [2, 3, 11, 10, 6, 8, 10, 8, 9, 8, 6, 7, -1, -1, -1, -1],
    [2, 0, 7, 2, 7, 11, 0, 9, 7, 6, 7, 10, 9, 10, 7, -1],
    [1, 8, 0, 1, 7, 8, 1, 10, 7, 6, 7, 10, 2, 3, 11, -1],
    [11, 2, 1, 11, 1, 7, 10, 6, 1, 6, 7, 1, -1, -1, -1, -1],
    [8, 9, 6, 8, 6, 7, 9, 1, 6, 11, 6, 3, 1, 3, 6, -1],
    [0, 9, 1, 11, 6, 7, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [7, 8, 0, 7, 0, 6, 3, 11, 0, 11, 6, 0, -1, -1, -1, -1],
    [7, 11, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [7, 6, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [3, 0, 8, 11, 7, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 1, 9, 11, 7, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [8, 1, 9, 8, 3, 1, 11, 7, 6, -1, -1, -1, -1, -1, -1, -1],
    [10, 1, 2, 6, 11, 7, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 2, 10, 3, 0, 8, 6, 11, 7, -1, -1, -1, -1, -1, -1, -1],
    [2, 9, 0, 2, 10, 9, 6, 11, 7, -1, -1, -1, -1, -1, -1, -1],
    [6, 11, 7, 2, 10, 3, 10, 8, 3, 10, 9, 8, -1, -1, -1, -1],
    [7, 2, 3, 6, 2, 7, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [7, 0, 8, 7, 6, 0, 6, 2, 0, -1, -1, -1, -1, -1, -1, -1],
    [2, 7, 6, 2, 3, 7, 0, 1, 9, -1, -1, -1, -1, -1, -1, -1],
    [1, 6, 2, 1, 8, 6, 1, 9, 8, 8, 7, 6, -1, -1, -1, -1],
    [10, 7, 6, 10, 1, 7, 1, 3, 7, -1, -1, -1, -1, -1, -1, -1],
    [10, 7, 6, 1, 7, 10, 1, 8, 7, 1, 0, 8, -1, -1, -1, -1],
    [0, 3, 7, 0, 7, 10, 0, 10, 9, 6, 10, 7, -1, -1, -1, -1],
    [7, 6, 10, 7, 10, 8, 8, 10, 9, -1, -1, -1, -1, -1, -1, -1],
    [6, 8, 4, 11, 8, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [3, 6, 11, 3, 0, 6, 0, 4, 6, -1, -1, -1, -1, -1, -1, -1],
    [8, 6, 11, 8, 4, 6, 9, 0, 1, -1, -1, -1, -1, -1, -1, -1],
    [9, 4, 6, 9, 6, 3, 9, 3, 1, 11, 3, 6, -1, -1, -1, -1],
    [6, 8, 4, 6, 11, 8, 2, 10, 1, -1, -1, -1, -1, -1, -1, -1],
    [1, 2, 10, 3, 0, 11, 0, 6, 11, 0, 4, 6, -1, -1, -1, -1],
    [4, 11, 8, 4, 6, 11, 0, 2, 9, 2, 10, 9, -1, -1, -1, -1],
    [10, 9, 3, 10, 3, 2, 9, 4, 3, 11, 3, 6, 4, 6, 3, -1],
    [8, 2, 3, 8, 4, 2, 4, 6, 2, -1, -1, -1, -1, -1, -1, -1],
    [0, 4, 2, 4, 6, 2, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 9, 0, 2, 3, 4, 2, 4, 6, 4, 3, 8, -1, -1, -1, -1],
    [1, 9, 4, 1, 4, 2, 2, 4, 6, -1, -1, -1, -1, -1, -1, -1],
    [8, 1, 3, 8, 6, 1, 8, 4, 6, 6, 10, 1, -1, -1, -1, -1],
    [10, 1, 0, 10, 0, 6, 6, 0, 4, -1, -1, -1, -1, -1, -1, -1],
    [4, 6, 3, 4, 3, 8, 6, 10, 3, 0, 3, 9, 10, 9, 3, -1],
    [10, 9, 4, 6, 10, 4, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [4, 9, 5, 7, 6, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 8, 3, 4, 9, 5, 11, 7, 6, -1, -1, -1, -1, -1, -1, -1],
    [5, 0, 1, 5, 4, 0, 7, 6, 11, -1, -1, -1, -1, -1, -1, -1],
    [11, 7, 6, 8, 3, 4, 3, 5, 4, 3, 1, 5, -1, -1, -1, -1],
    [9, 5, 4, 10, 1, 2, 7, 6, 11, -1, -1, -1, -1, -1, -1, -1],
    [6, 11, 7, 1, 2, 10, 0, 8, 3, 4, 9, 5, -1, -1, -1, -1],
    [7, 6, 11, 5, 4, 10, 4, 2, 10, 4, 0, 2, -1, -1, -1, -1],
    [3, 4, 8, 3, 5, 4, 3, 2, 5, 10, 5, 2, 11, 7, 6, -1],
    [7, 2, 3, 7, 6, 2, 5, 4, 9, -1, -1, -1, -1, -1, -1, -1],
    [9, 5, 4, 0, 8, 6, 0, 6, 2, 6, 8, 7, -1, -1, -1, -1],
    [3, 6, 2, 3, 7, 6, 1, 5, 0, 5, 4, 0, -1, -1, -1, -1],
    [6, 2, 8, 6, 8, 7, 2, 1, 8, 4, 8, 5, 1, 5, 8, -1],
    [9, 5, 4, 10, 1, 6, 1, 7, 6, 1, 3, 7, -1, -1, -1, -1],
    [1, 6, 10, 1, 7, 6, 1, 0, 7, 8, 7, 0, 9, 5, 4, -1],
    [4, 0, 10, 4, 10, 5, 0, 3, 10, 6, 10, 7, 3, 7, 10, -1],
    [7, 6, 10, 7, 10, 8, 5, 4, 10, 4, 8, 10, -1, -1, -1, -1],
    [6, 9, 5, 6, 11, 9, 11, 8, 9, -1, -1, -1, -1, -1, -1, -1],
    [3, 6, 11, 0, 6, 3, 0, 5, 6, 0, 9, 5, -1, -1, -1, -1],
    [0, 11, 8, 0, 5, 11, 0, 1, 5, 5, 6, 11, -1, -1, -1, -1],
    [6, 11, 3, 6, 3, 5, 5, 3, 1, -1, -1, -1, -1, -1, -1, -1],
    [1, 2, 10, 9, 5, 11, 9, 11, 8, 11, 5, 6, -1, -1, -1, -1],
    [0, 11, 3, 0, 6, 11, 0, 9, 6, 5, 6, 9, 1, 2, 10, -1],
    [11, 8, 5, 11, 5, 6, 8, 0, 5, 10, 5, 2, 0, 2, 5, -1],
    [6, 11, 3, 6, 3, 5, 2, 10, 3, 10, 5, 3, -1, -1, -1, -1],
    [5, 8, 9, 5, 2, 8, 5, 6, 2, 3, 8, 2, -1, -1, -1, -1],
    [9, 5, 6, 9, 6, 0, 0, 6, 2, -1, -1, -1, -1, -1, -1, -1],
    [1, 5, 8, 1, 8, 0, 5, 6, 8, 3, 8, 2, 6, 2, 8, -1],
    [1, 5, 6, 2, 1, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 3, 6, 1, 6, 10, 3, 8, 6, 5, 6, 9, 8, 9, 6, -1],
    [10, 1, 0, 10, 0, 6, 9, 5, 0, 5, 6, 0, -1, -1, -1, -1],
    [0, 3, 8, 5, 6, 10, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [10, 5, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [11, 5, 10, 7, 5, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [11, 5, 10, 11, 7, 5, 8, 3, 0, -1, -1, -1, -1, -1, -1, -1],
    [5, 11, 7, 5, 10, 11, 1, 9, 0, -1, -1, -1, -1, -1, -1, -1],
    [10, 7, 5, 10, 11, 7, 9, 8, 1, 8, 3, 1, -1, -1, -1, -1],
    [11, 1, 2, 11, 7, 1, 7, 5, 1, -1, -1, -1, -1, -1, -1, -1],
    [0, 8, 3, 1, 2, 7, 1, 7, 5, 7, 2, 11, -1, -1, -1, -1],
    [9, 7, 5, 9, 2, 7, 9, 0, 2, 2, 11, 7, -1, -1, -1, -1],
    [7, 5, 2, 7, 2, 11, 5, 9, 2, 3, 2, 8, 9, 8, 2, -1],
    [2, 5, 10, 2, 3, 5, 3, 7, 5, -1, -1, -1, -1, -1, -1, -1],
    [8, 2, 0, 8, 5, 2, 8, 7, 5, 10, 2, 5, -1, -1, -1, -1],
    [9, 0, 1, 5, 10, 3, 5, 3, 7, 3, 10, 2, -1, -1, -1, -1],
    [9, 8, 2, 9, 2, 1, 8, 7, 2, 10, 2, 5, 7, 5, 2, -1],
    [1, 3, 5, 3, 7, 5, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 8, 7, 0, 7, 1, 1, 7, 5, -1, -1, -1, -1, -1, -1, -1],
    [9, 0, 3, 9, 3, 5, 5, 3, 7, -1, -1, -1, -1, -1, -1, -1],
    [9, 8, 7, 5, 9, 7, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [5, 8, 4, 5, 10, 8, 10, 11, 8, -1, -1, -1, -1, -1, -1, -1],
    [5, 0, 4, 5, 11, 0, 5, 10, 11, 11, 3, 0, -1, -1, -1, -1],
    [0, 1, 9, 8, 4, 10, 8, 10, 11, 10, 4, 5, -1, -1, -1, -1],
    [10, 11, 4, 10, 4, 5, 11, 3, 4, 9, 4, 1, 3, 1, 4, -1],
    [2, 5, 1, 2, 8, 5, 2, 11, 8, 4, 5, 8, -1, -1, -1, -1],
    [0, 4, 11, 0, 11, 3, 4, 5, 11, 2, 11, 1, 5, 1, 11, -1],
    [0, 2, 5, 0, 5, 9, 2, 11, 5, 4, 5, 8, 11, 8, 5, -1],
    [9, 4, 5, 2, 11, 3, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [2, 5, 10, 3, 5, 2, 3, 4, 5, 3, 8, 4, -1, -1, -1, -1],
    [5, 10, 2, 5, 2, 4, 4, 2, 0, -1, -1, -1, -1, -1, -1, -1],
    [3, 10, 2, 3, 5, 10, 3, 8, 5, 4, 5, 8, 0, 1, 9, -1],
    [5, 10, 2, 5, 2, 4, 1, 9, 2, 9, 4, 2, -1, -1, -1, -1],
    [8, 4, 5, 8, 5, 3, 3, 5, 1, -1, -1, -1, -1, -1, -1, -1],
    [0, 4, 5, 1, 0, 5, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [8, 4, 5, 8, 5, 3, 9, 0, 5, 0, 3, 5, -1, -1, -1, -1],
    [9, 4, 5, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [4, 11, 7, 4, 9, 11, 9, 10, 11, -1, -1, -1, -1, -1, -1, -1],
    [0, 8, 3, 4, 9, 7, 9, 11, 7, 9, 10, 11, -1, -1, -1, -1],
    [1, 10, 11, 1, 11, 4, 1, 4, 0, 7, 4, 11, -1, -1, -1, -1],
    [3, 1, 4, 3, 4, 8, 1, 10, 4, 7, 4, 11, 10, 11, 4, -1],
    [4, 11, 7, 9, 11, 4, 9, 2, 11, 9, 1, 2, -1, -1, -1, -1],
    [9, 7, 4, 9, 11, 7, 9, 1, 11, 2, 11, 1, 0, 8, 3, -1],
    [11, 7, 4, 11, 4, 2, 2, 4, 0, -1, -1, -1, -1, -1, -1, -1],
    [11, 7, 4, 11, 4, 2, 8, 3, 4, 3, 2, 4, -1, -1, -1, -1],
    [2, 9, 10, 2, 7, 9, 2, 3, 7, 7, 4, 9, -1, -1, -1, -1],
    [9, 10, 7, 9, 7, 4, 10, 2, 7, 8, 7, 0, 2, 0, 7, -1],
    [3, 7, 10, 3, 10, 2, 7, 4, 10, 1, 10, 0, 4, 0, 10, -1],
    [1, 10, 2, 8, 7, 4, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [4, 9, 1, 4, 1, 7, 7, 1, 3, -1, -1, -1, -1, -1, -1, -1],
    [4, 9, 1, 4, 1, 7, 0, 8, 1, 8, 7, 1, -1, -1, -1, -1],
    [4, 0, 3, 7, 4, 3, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [4, 8, 7, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [9, 10, 8, 10, 11, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [3, 0, 9, 3, 9, 11, 11, 9, 10, -1, -1, -1, -1, -1, -1, -1],
    [0, 1, 10, 0, 10, 8, 8, 10, 11, -1, -1, -1, -1, -1, -1, -1],
    [3, 1, 10, 11, 3, 10, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 2, 11, 1, 11, 9, 9, 11, 8, -1, -1, -1, -1, -1, -1, -1],
    [3, 0, 9, 3, 9, 11, 1, 2, 9, 2, 11, 9, -1, -1, -1, -1],
    [0, 2, 11, 8, 0, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [3, 2, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [2, 3, 8, 2, 8, 10, 10, 8, 9, -1, -1, -1, -1, -1, -1, -1],
    [9, 10, 2, 0, 9, 2, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [2, 3, 8, 2, 8, 10, 0, 1, 8, 1, 10, 8, -1, -1, -1, -1],
    [1, 10, 2, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 3, 8, 9, 1, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 9, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 3, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
];

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(o: &StdOrder) -> Vec<u64> {
        o.keys().collect()
    }

    /// Orders printed by libstdc++ (GCC 12) for the same operations on an
    /// `unordered_map<unsigned, int>`.
    #[test]
    fn std_order_matches_libstdcxx() {
        let mut o = StdOrder::default();
        for k in 1..=14 {
            o.insert(k);
            assert_eq!(o.buckets, if k < 14 { 13 } else { 29 });
        }
        o.erase(3);
        o.erase(14);
        o.insert(30);
        o.insert(59);
        assert_eq!(keys(&o), [59, 30, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
        o.clear();
        assert_eq!(o.buckets, 29);
        for k in [5, 34, 63, 6] {
            o.insert(k);
        }
        assert_eq!(keys(&o), [6, 63, 34, 5]);
    }

    #[test]
    fn edge_keys_round_trip() {
        let e = make_edge(7, 3);
        assert_eq!((edge_source(e), edge_sink(e)), (7, 3));
        assert_eq!(edge_inverse(e), make_edge(3, 7));
    }

    #[test]
    fn quadric_of_three_planes_has_their_corner_as_optimum() {
        let mut q = Quadric::plane(1.0, 0.0, 0.0, -2.0);
        q.add(&Quadric::plane(0.0, 1.0, 0.0, -3.0));
        q.add(&Quadric::plane(0.0, 0.0, 1.0, 4.0));
        assert_eq!(q.optimum(), Some([2.0, 3.0, -4.0]));
        assert_eq!(q.evaluate([2.0, 3.0, -4.0]), 0.0);
        assert_eq!(q.evaluate([3.0, 3.0, -4.0]), 1.0);
        // One plane alone is singular. zmesh's segment fallback asks for four times the
        // minimising t: from (0, 1, 1) towards (4, 1, 1) t = 2 (clamped to 1) rather than the
        // plane's 0.5, towards (16, 1, 1) t = 0.5 rather than 0.125; kept, as zmesh does it.
        let p = Quadric::plane(1.0, 0.0, 0.0, -2.0);
        assert_eq!(p.optimum(), None);
        assert_eq!(
            p.optimum_on_segment([4.0, 1.0, 1.0], [0.0, 1.0, 1.0]),
            Some([4.0, 1.0, 1.0])
        );
        assert_eq!(
            p.optimum_on_segment([16.0, 1.0, 1.0], [0.0, 1.0, 1.0]),
            Some([8.0, 1.0, 1.0])
        );
    }

    #[test]
    fn heap_pops_in_value_order_and_erases_by_key() {
        let mut h = Heap::default();
        for (i, v) in [5.0f32, 1.0, 3.0, 1.0, 0.0, 4.0].into_iter().enumerate() {
            h.insert(Candidate {
                edge: i as u64 + 1,
                value: v,
                optimal: [0.0; 3],
            });
        }
        h.erase(6);
        let mut out = Vec::new();
        while let Some(top) = h.items.first().copied() {
            out.push(top.value);
            h.remove_at(0);
        }
        assert_eq!(out, [0.0, 1.0, 1.0, 3.0, 5.0]);
    }

    /// A mask shaped `dims` (x fastest) from `inside`, with igneous's zero border added.
    fn padded(dims: [usize; 3], inside: impl Fn(usize, usize, usize) -> u32) -> Vec<u32> {
        let [sx, sy, sz] = dims.map(|d| d + 2);
        let mut out = vec![0; sx * sy * sz];
        for z in 0..dims[2] {
            for y in 0..dims[1] {
                for x in 0..dims[0] {
                    out[(x + 1) + sx * ((y + 1) + sy * (z + 1))] = inside(x, y, z);
                }
            }
        }
        out
    }

    fn bbox(m: &TriMesh) -> ([f32; 3], [f32; 3]) {
        let mut lo = [f32::MAX; 3];
        let mut hi = [f32::MIN; 3];
        for v in &m.vertices {
            for a in 0..3 {
                lo[a] = lo[a].min(v[a] - 1.0);
                hi[a] = hi[a].max(v[a] - 1.0);
            }
        }
        (lo, hi)
    }

    const IGNEOUS: ZmeshParams = ZmeshParams {
        resolution: [1.0; 3],
        reduction_factor: 100,
        max_error: 2.0,
    };

    /// Counts, first vertex and bounds printed by zmesh 1.9.0 (`tests/python/check_zmesh.py`)
    /// for a radius-3 ball centred at 15.5 in a 32³ volume.
    #[test]
    fn sphere_matches_zmesh() {
        let data = padded([32; 3], |x, y, z| {
            let d = |c: usize| (c as f64 - 15.5).powi(2);
            u32::from(d(x) + d(y) + d(z) <= 9.0)
        });
        let out = mesh_block(&data, [34; 3], &IGNEOUS);
        assert_eq!(out.len(), 1);
        let (label, mesh) = &out[0];
        assert_eq!(*label, 1);
        assert_eq!((mesh.vertices.len(), mesh.faces.len()), (34, 64));
        let v0 = mesh.vertices[0].map(|c| c - 1.0);
        assert_eq!(v0, [19.088253, 16.725426, 14.784332]);
        let (lo, hi) = bbox(mesh);
        assert_eq!(lo, [12.978502, 12.870722, 12.867046]);
        assert_eq!(hi, [19.088253, 19.00003, 19.000015]);
    }

    /// Two boxes sharing a face: zmesh visits label 7 first (igneous renumbers 2 -> 1,
    /// 7 -> 2, and zmesh's label map iterates the later-seen label first).
    #[test]
    fn touching_labels_match_zmesh() {
        let data = padded([20; 3], |x, y, z| {
            let yz = (4..15).contains(&y) && (4..15).contains(&z);
            match x {
                3..=9 if yz => 2,
                10..=16 if yz => 7,
                _ => 0,
            }
        });
        let out = mesh_block(&data, [22; 3], &IGNEOUS);
        let summary: Vec<(u32, usize, usize)> = out
            .iter()
            .map(|(l, m)| (*l, m.vertices.len(), m.faces.len()))
            .collect();
        assert_eq!(summary, [(7, 20, 36), (2, 22, 40)]);
    }

    /// Without simplification the surface is zmesh's raw marching cubes: a 12³ box has
    /// 864 vertices and 1724 faces, every vertex on the box's faces.
    #[test]
    fn unsimplified_blob_is_zmesh_marching_cubes() {
        let data = padded([16; 3], |x, y, z| {
            u32::from([x, y, z].iter().all(|c| (2..14).contains(c)))
        });
        let raw = ZmeshParams {
            reduction_factor: 0,
            ..IGNEOUS
        };
        let out = mesh_block(&data, [18; 3], &raw);
        let mesh = &out[0].1;
        assert_eq!((mesh.vertices.len(), mesh.faces.len()), (864, 1724));
        for v in &mesh.vertices {
            assert!(
                v.iter().any(|&c| c - 1.0 == 2.0 || c - 1.0 == 14.0),
                "{v:?}"
            );
        }
        let simplified = mesh_block(&data, [18; 3], &IGNEOUS);
        let s = &simplified[0].1;
        assert_eq!((s.vertices.len(), s.faces.len()), (22, 40));
        assert!(s
            .faces
            .iter()
            .flatten()
            .all(|&i| (i as usize) < s.vertices.len()));
    }
}

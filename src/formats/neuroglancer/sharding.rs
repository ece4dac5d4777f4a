//! The `neuroglancer_uint64_sharded_v1` container: many small objects keyed by a `u64` packed
//! into a few `.shard` files, each `[shard index][minishards' data][minishard indices]`.
//!
//! The layout follows the Neuroglancer precomputed sharded specification, with the choices
//! cloud-volume's `synthesize_shards` makes (which the reference library writes through):
//! minishards appear in the order their first key was given, keys sorted inside a minishard,
//! each minishard's data contiguous, and the minishard indices after all data.

use indexmap::IndexMap;
use serde_json::{json, Value};
use std::io::{Read, Write};

/// How a key (after the preshift) is hashed before its bits pick a shard and minishard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardHash {
    /// The key itself.
    Identity,
    /// The low 64 bits of MurmurHash3_x86_128 (seed 0) of the key's 8 little-endian bytes.
    Murmurhash3X86_128,
}

/// How minishard indices or data are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardEncoding {
    /// As they are.
    Raw,
    /// Each minishard index, or each object, gzip-compressed on its own.
    Gzip,
}

impl ShardEncoding {
    fn name(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Gzip => "gzip",
        }
    }

    fn encode(self, bytes: Vec<u8>) -> Vec<u8> {
        match self {
            Self::Raw => bytes,
            Self::Gzip => {
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
                // Writing to a Vec cannot fail.
                enc.write_all(&bytes).expect("gzip into memory");
                enc.finish().expect("gzip into memory")
            }
        }
    }

    fn decode(self, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
        match self {
            Self::Raw => Ok(bytes.to_vec()),
            Self::Gzip => {
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
                Ok(out)
            }
        }
    }
}

/// A sharding specification (the `sharding` object of an `info` file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardingSpec {
    /// Low bits of the key dropped before hashing (groups nearby keys in one minishard).
    pub preshift_bits: u32,
    /// The hash applied after the preshift.
    pub hash: ShardHash,
    /// Bits of the hashed key that pick the minishard.
    pub minishard_bits: u32,
    /// Bits above those that pick the shard file.
    pub shard_bits: u32,
    /// Encoding of each minishard index.
    pub minishard_index_encoding: ShardEncoding,
    /// Encoding of each object.
    pub data_encoding: ShardEncoding,
}

/// Where a key lives: its shard file number and its minishard inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardLocation {
    /// The shard file's number.
    pub shard: u64,
    /// The minishard's number inside the shard.
    pub minishard: u64,
}

/// Objects by shard, then minishard, then key, each with the length of its indexed tail.
type Shards = IndexMap<u64, MinishardObjects>;

/// One shard's objects by minishard, then key.
type MinishardObjects = IndexMap<u64, IndexMap<u64, (Vec<u8>, Option<usize>)>>;

fn low_mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

impl ShardingSpec {
    /// The `sharding` JSON object, in the key order cloud-volume writes.
    pub fn to_json(&self) -> Value {
        json!({
            "@type": "neuroglancer_uint64_sharded_v1",
            "preshift_bits": self.preshift_bits,
            "hash": match self.hash {
                ShardHash::Identity => "identity",
                ShardHash::Murmurhash3X86_128 => "murmurhash3_x86_128",
            },
            "minishard_bits": self.minishard_bits,
            "shard_bits": self.shard_bits,
            "minishard_index_encoding": self.minishard_index_encoding.name(),
            "data_encoding": self.data_encoding.name(),
        })
    }

    /// The shard and minishard of `key`.
    pub fn location(&self, key: u64) -> ShardLocation {
        let shifted = if self.preshift_bits >= 64 {
            0
        } else {
            key >> self.preshift_bits
        };
        let hashed = match self.hash {
            ShardHash::Identity => shifted,
            ShardHash::Murmurhash3X86_128 => murmurhash3_x86_128_low64(&shifted.to_le_bytes()),
        };
        let minishard = hashed & low_mask(self.minishard_bits);
        let shard = if self.minishard_bits >= 64 {
            0
        } else {
            (hashed >> self.minishard_bits) & low_mask(self.shard_bits)
        };
        ShardLocation { shard, minishard }
    }

    /// The file name of shard `shard`: lower-case hex, zero-padded to `ceil(shard_bits / 4)`
    /// digits (at least one digit).
    pub fn shard_file_name(&self, shard: u64) -> String {
        let width = self.shard_bits.div_ceil(4) as usize;
        format!("{shard:0width$x}.shard")
    }

    /// Bytes of a shard's fixed index: one `[start, end)` pair of u64 per minishard.
    pub fn index_len(&self) -> usize {
        16usize << self.minishard_bits
    }

    /// Packs `entries` into shard files, returned as `(file name, bytes)` in the order each
    /// shard's first key was given. A key given twice keeps its first position and its last
    /// value (as a Python dict does).
    pub fn synthesize(
        &self,
        entries: impl IntoIterator<Item = (u64, Vec<u8>)>,
    ) -> Vec<(String, Vec<u8>)> {
        self.synthesize_indexed_tails(entries.into_iter().map(|(k, b)| (k, b, None)))
    }

    /// [`Self::synthesize`] where an object's index entry may cover only its last `tail`
    /// bytes (cloud-volume's `data_offset`: a multi-LOD mesh is stored as fragments followed
    /// by its manifest, and the index points at the manifest). `None` indexes the whole
    /// object. With `data_encoding` gzip the tail is of the compressed object.
    pub fn synthesize_indexed_tails(
        &self,
        entries: impl IntoIterator<Item = (u64, Vec<u8>, Option<usize>)>,
    ) -> Vec<(String, Vec<u8>)> {
        let mut shards: Shards = IndexMap::new();
        for (key, bytes, tail) in entries {
            let loc = self.location(key);
            shards
                .entry(loc.shard)
                .or_default()
                .entry(loc.minishard)
                .or_default()
                .insert(key, (bytes, tail));
        }
        shards
            .into_iter()
            .map(|(shard, minishards)| (self.shard_file_name(shard), self.shard_file(minishards)))
            .collect()
    }

    fn shard_file(&self, minishards: MinishardObjects) -> Vec<u8> {
        let mut data = Vec::new();
        let mut indices: Vec<(u64, Vec<u8>)> = Vec::new();
        for (minishard, objects) in minishards {
            let mut keys: Vec<u64> = objects.keys().copied().collect();
            keys.sort_unstable();
            // Three rows, each delta-encoded: keys, offsets (from the end of the previous
            // object; the first from the start of the data part), sizes.
            let mut rows = [
                vec![0u64; keys.len()],
                vec![0u64; keys.len()],
                vec![0u64; keys.len()],
            ];
            let start = data.len() as u64;
            let mut last_key = 0;
            for (i, key) in keys.iter().enumerate() {
                let (bytes, tail) = &objects[key];
                let encoded = self.data_encoding.encode(bytes.clone());
                let indexed = tail.map_or(encoded.len(), |t| t.min(encoded.len())) as u64;
                let skipped = encoded.len() as u64 - indexed;
                rows[0][i] = key - last_key;
                rows[1][i] = skipped + if i == 0 { start } else { 0 };
                rows[2][i] = indexed;
                data.extend_from_slice(&encoded);
                last_key = *key;
            }
            let raw: Vec<u8> = rows
                .iter()
                .flatten()
                .flat_map(|v| v.to_le_bytes())
                .collect();
            indices.push((minishard, self.minishard_index_encoding.encode(raw)));
        }
        let mut fixed = vec![0u8; self.index_len()];
        let mut end = data.len() as u64;
        for (minishard, index) in &indices {
            let start = end;
            end += index.len() as u64;
            let at = *minishard as usize * 16;
            fixed[at..at + 8].copy_from_slice(&start.to_le_bytes());
            fixed[at + 8..at + 16].copy_from_slice(&end.to_le_bytes());
        }
        let mut out = fixed;
        out.extend_from_slice(&data);
        for (_, index) in indices {
            out.extend_from_slice(&index);
        }
        out
    }

    /// Reads the object of `key` from the bytes of its shard file, as a Neuroglancer client
    /// does: fixed index → minishard index → object. `Ok(None)` when the key is absent.
    ///
    /// # Errors
    /// A shard too short for what its indices claim, or a corrupt gzip stream.
    pub fn read(&self, shard: &[u8], key: u64) -> std::io::Result<Option<Vec<u8>>> {
        let bad =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
        let fixed_len = self.index_len();
        let minishard = self.location(key).minishard as usize;
        let slot = shard
            .get(minishard * 16..minishard * 16 + 16)
            .ok_or_else(|| bad("shard shorter than its index"))?;
        let start = u64::from_le_bytes(slot[..8].try_into().expect("8 bytes")) as usize;
        let end = u64::from_le_bytes(slot[8..].try_into().expect("8 bytes")) as usize;
        if start == end {
            return Ok(None);
        }
        let index = shard
            .get(fixed_len + start..fixed_len + end)
            .ok_or_else(|| bad("minishard index past the end of the shard"))?;
        let index = self.minishard_index_encoding.decode(index)?;
        if index.len() % 24 != 0 {
            return Err(bad("minishard index is not a whole number of entries"));
        }
        let n = index.len() / 24;
        let word = |row: usize, i: usize| {
            let at = (row * n + i) * 8;
            u64::from_le_bytes(index[at..at + 8].try_into().expect("8 bytes"))
        };
        let (mut k, mut offset) = (0u64, 0u64);
        for i in 0..n {
            k += word(0, i);
            offset += word(1, i);
            let size = word(2, i);
            if k == key {
                let from = fixed_len + offset as usize;
                let object = shard
                    .get(from..from + size as usize)
                    .ok_or_else(|| bad("object past the end of the shard"))?;
                return self.data_encoding.decode(object).map(Some);
            }
            offset += size;
        }
        Ok(None)
    }
}

/// Shard parameters for randomly hashed keys (meshes, skeletons), as cloud-volume's
/// `compute_shard_params_for_hashed`: returns `(shard_bits, minishard_bits, preshift_bits)`.
pub fn shard_params_for_hashed(
    num_labels: u64,
    shard_index_bytes: u64,
    minishard_index_bytes: u64,
    min_shards: u64,
) -> (u32, u32, u32) {
    if num_labels == 0 {
        return (0, 0, 0);
    }
    let num_labels = num_labels as f64;
    let minishards_per_shard = shard_index_bytes as f64 / 2.0 / 8.0;
    let labels_per_minishard = minishard_index_bytes as f64 / 3.0 / 8.0;
    let labels_per_shard = minishards_per_shard * labels_per_minishard;
    let (mut minishard_bits, mut shard_bits);
    if num_labels >= labels_per_shard {
        minishard_bits = minishards_per_shard.log2().ceil();
        shard_bits = (num_labels / (labels_per_minishard * 2f64.powf(minishard_bits)))
            .log2()
            .ceil();
    } else if num_labels >= labels_per_minishard {
        minishard_bits = (num_labels / labels_per_minishard).log2().ceil();
        shard_bits = 0.0;
    } else {
        minishard_bits = 0.0;
        shard_bits = 0.0;
    }
    let capacity = labels_per_shard * 2f64.powf(shard_bits);
    // Pack shards close to capacity: allow about 10% over.
    if num_labels / capacity <= 0.55 {
        shard_bits -= 1.0;
    }
    shard_bits = shard_bits.max(0.0);
    // numpy rounds half to even; log2 of an integer ≥ 1 is never exactly x.5 but at 1.5…
    let min_shard_bits = (min_shards.max(1) as f64).log2().round_ties_even();
    let delta = (min_shard_bits - shard_bits).max(0.0);
    shard_bits += delta;
    minishard_bits -= delta;
    shard_bits = shard_bits.max(min_shard_bits);
    minishard_bits = minishard_bits.max(0.0);
    (shard_bits as u32, minishard_bits as u32, 0)
}

/// The low 64 bits of MurmurHash3_x86_128 with seed 0: `h1 | h2 << 32`.
pub fn murmurhash3_x86_128_low64(key: &[u8]) -> u64 {
    const C1: u32 = 0x239b_961b;
    const C2: u32 = 0xab0e_9789;
    const C3: u32 = 0x38b3_4ae5;
    const C4: u32 = 0xa1e3_8b93;
    fn fmix(mut h: u32) -> u32 {
        h ^= h >> 16;
        h = h.wrapping_mul(0x85eb_ca6b);
        h ^= h >> 13;
        h = h.wrapping_mul(0xc2b2_ae35);
        h ^ (h >> 16)
    }
    // The per-lane mixing of a 32-bit word, in the body and the tail alike.
    let scramble =
        |k: u32, ca: u32, r: u32, cb: u32| k.wrapping_mul(ca).rotate_left(r).wrapping_mul(cb);
    let word = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let (mut h1, mut h2, mut h3, mut h4) = (0u32, 0u32, 0u32, 0u32);
    let blocks = key.len() / 16;
    for block in key[..blocks * 16].chunks_exact(16) {
        h1 ^= scramble(word(&block[0..]), C1, 15, C2);
        h1 = h1
            .rotate_left(19)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x561c_cd1b);
        h2 ^= scramble(word(&block[4..]), C2, 16, C3);
        h2 = h2
            .rotate_left(17)
            .wrapping_add(h3)
            .wrapping_mul(5)
            .wrapping_add(0x0bca_a747);
        h3 ^= scramble(word(&block[8..]), C3, 17, C4);
        h3 = h3
            .rotate_left(15)
            .wrapping_add(h4)
            .wrapping_mul(5)
            .wrapping_add(0x96cd_1c35);
        h4 ^= scramble(word(&block[12..]), C4, 18, C1);
        h4 = h4
            .rotate_left(13)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x32ac_3b17);
    }
    let tail = &key[blocks * 16..];
    let lane = |from: usize| -> u32 {
        (from..(from + 4).min(tail.len()))
            .rev()
            .fold(0u32, |acc, i| (acc << 8) | u32::from(tail[i]))
    };
    if tail.len() > 12 {
        h4 ^= scramble(lane(12), C4, 18, C1);
    }
    if tail.len() > 8 {
        h3 ^= scramble(lane(8), C3, 17, C4);
    }
    if tail.len() > 4 {
        h2 ^= scramble(lane(4), C2, 16, C3);
    }
    if !tail.is_empty() {
        h1 ^= scramble(lane(0), C1, 15, C2);
    }
    let len = key.len() as u32;
    h1 ^= len;
    h2 ^= len;
    h3 ^= len;
    h4 ^= len;
    h1 = h1.wrapping_add(h2).wrapping_add(h3).wrapping_add(h4);
    h2 = h2.wrapping_add(h1);
    h3 = h3.wrapping_add(h1);
    h4 = h4.wrapping_add(h1);
    h1 = fmix(h1);
    h2 = fmix(h2);
    h3 = fmix(h3);
    h4 = fmix(h4);
    h1 = h1.wrapping_add(h2).wrapping_add(h3).wrapping_add(h4);
    h2 = h2.wrapping_add(h1);
    u64::from(h1) | (u64::from(h2) << 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(
        hash: ShardHash,
        minishard_bits: u32,
        shard_bits: u32,
        enc: ShardEncoding,
    ) -> ShardingSpec {
        ShardingSpec {
            preshift_bits: 0,
            hash,
            minishard_bits,
            shard_bits,
            minishard_index_encoding: ShardEncoding::Gzip,
            data_encoding: enc,
        }
    }

    #[test]
    fn every_object_reads_back_from_its_shard() {
        for s in [
            spec(ShardHash::Identity, 10, 0, ShardEncoding::Gzip),
            spec(ShardHash::Murmurhash3X86_128, 3, 2, ShardEncoding::Raw),
            spec(ShardHash::Murmurhash3X86_128, 0, 0, ShardEncoding::Raw),
        ] {
            let entries: Vec<(u64, Vec<u8>)> = (0..300u64)
                .map(|k| (k * 7 + 1, format!("object {k}").into_bytes()))
                .collect();
            let files: std::collections::HashMap<String, Vec<u8>> =
                s.synthesize(entries.clone()).into_iter().collect();
            for (key, bytes) in &entries {
                let file = s.shard_file_name(s.location(*key).shard);
                assert_eq!(
                    s.read(&files[&file], *key).unwrap().as_ref(),
                    Some(bytes),
                    "{s:?} {key}"
                );
            }
            // A key that was never written is absent, not an error.
            let file = s.shard_file_name(s.location(2).shard);
            if let Some(bytes) = files.get(&file) {
                assert_eq!(s.read(bytes, 2).unwrap(), None);
            }
        }
    }

    #[test]
    fn shard_layout_is_index_then_data_then_minishard_indices() {
        let s = spec(ShardHash::Identity, 1, 0, ShardEncoding::Raw);
        let s = ShardingSpec {
            minishard_index_encoding: ShardEncoding::Raw,
            ..s
        };
        // Keys 3 and 1 fall in minishard 1, key 2 in minishard 0; minishard 1 is first given.
        let files = s.synthesize([
            (3, b"ccc".to_vec()),
            (2, b"b".to_vec()),
            (1, b"aa".to_vec()),
        ]);
        assert_eq!(files.len(), 1);
        let (name, bytes) = &files[0];
        assert_eq!(name, "0.shard");
        let u = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        // Data: minishard 1 (keys 1, 3 sorted: "aa", "ccc"), then minishard 0 ("b").
        assert_eq!(&bytes[32..38], b"aacccb");
        // Minishard 1's index comes first, right after the 6 data bytes: keys 1,+2;
        // offsets 0,0; sizes 2,3.
        assert_eq!((u(16), u(24)), (6, 6 + 48));
        assert_eq!((u(0), u(8)), (54, 54 + 24));
        let idx1: Vec<u64> = (0..6).map(|i| u(32 + 6 + i * 8)).collect();
        assert_eq!(idx1, [1, 2, 0, 0, 2, 3]);
        let idx0: Vec<u64> = (0..3).map(|i| u(32 + 54 + i * 8)).collect();
        assert_eq!(idx0, [2, 5, 1]);
    }

    #[test]
    fn shard_names_are_padded_hex() {
        let s = spec(ShardHash::Identity, 2, 5, ShardEncoding::Raw);
        assert_eq!(s.shard_file_name(10), "0a.shard");
        assert_eq!(
            spec(ShardHash::Identity, 2, 0, ShardEncoding::Raw).shard_file_name(0),
            "0.shard"
        );
    }

    #[test]
    fn murmurhash_matches_the_reference_vectors() {
        // Low 64 bits of MurmurHash3_x86_128 (seed 0), as the `mmh3` package's
        // `hash64(key, x64arch=False)[0]` gives them.
        let cases: [(&[u8], u64); 5] = [
            (b"", 0),
            (&0u64.to_le_bytes(), 0x4772_b084_e028_ae41),
            (&1u64.to_le_bytes(), 0xe8bd_67d6_16d4_ce9a),
            (&123_456_789u64.to_le_bytes(), 0x1265_76fc_191a_1827),
            (b"abcdefghijklmnopq", 0x6451_5c6f_0445_a4d3),
        ];
        for (key, want) in cases {
            assert_eq!(murmurhash3_x86_128_low64(key), want, "{key:?}");
        }
    }

    #[test]
    fn hashed_shard_params_follow_cloud_volume() {
        assert_eq!(shard_params_for_hashed(0, 1 << 13, 1 << 15, 1), (0, 0, 0));
        assert_eq!(shard_params_for_hashed(12, 1 << 13, 1 << 15, 1), (0, 0, 0));
        assert_eq!(
            shard_params_for_hashed(5000, 1 << 13, 1 << 15, 1),
            (0, 2, 0)
        );
    }
}

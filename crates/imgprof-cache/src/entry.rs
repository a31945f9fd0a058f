//! One entry file: a fixed header that names what it holds, then the index.
//!
//! ```text
//! offset  bytes  what
//!      0      8  magic "imgprofL"
//!      8      4  FORMAT, little endian
//!     12      8  generation (its 16 hex digits decoded)
//!     20     32  blob digest (sha256)
//!     52     32  diff_id (sha256)
//!     84      8  payload length, little endian
//!     92      8  xxh3-64 of the payload, little endian
//!    100      …  payload: the LayerIndex, postcard-encoded, zstd level 3
//! ```
//!
//! postcard is compact (varints, no field names) but not self-describing: a flipped bit
//! can decode into a wrong yet valid index. The checksum makes any damage a miss, and the
//! header makes an entry of another key or format one. zstd shrinks the paths' repeated
//! prefixes about 4x for ~2 ms per 17,000 entries (figures in docs/cache.md).

use imgprof_layers::LayerIndex;
use imgprof_source::Digest;

use crate::{CacheError, FORMAT};

const MAGIC: &[u8; 8] = b"imgprofL";
const HEADER: usize = 100;
const ZSTD_LEVEL: i32 = 3;
/// Far above any real index (17,000 entries take 2 MB): damage cannot make a load
/// allocate without bound.
const MAX_DECODED: u64 = 1 << 30;

pub(crate) fn encode(index: &LayerIndex, generation: &str) -> Result<Vec<u8>, CacheError> {
    let encoded = postcard::to_stdvec(index).map_err(|source| CacheError::Encode {
        digest: index.digest.clone(),
        reason: source.to_string(),
    })?;
    let payload = zstd::bulk::compress(&encoded, ZSTD_LEVEL).map_err(|source| CacheError::Encode {
        digest: index.digest.clone(),
        reason: source.to_string(),
    })?;
    let mut bytes = Vec::with_capacity(HEADER + payload.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT.to_le_bytes());
    bytes.extend_from_slice(&generation_bytes(generation));
    bytes.extend_from_slice(&raw(&index.digest));
    bytes.extend_from_slice(&raw(&index.diff_id));
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(&payload).to_le_bytes());
    bytes.extend_from_slice(&payload);
    Ok(bytes)
}

/// The index in `bytes` if they are a whole, undamaged entry of exactly this key.
pub(crate) fn decode(bytes: &[u8], generation: &str, digest: &Digest, diff_id: &Digest) -> Option<LayerIndex> {
    let (header, payload) = bytes.split_at_checked(HEADER)?;
    let field = |at: usize, len: usize| header.get(at..at + len);
    let u64_at = |at: usize| field(at, 8)?.try_into().ok().map(u64::from_le_bytes);
    let expected_start = [
        MAGIC.as_slice(),
        &FORMAT.to_le_bytes(),
        &generation_bytes(generation),
        &raw(digest),
        &raw(diff_id),
    ]
    .concat();
    if field(0, expected_start.len())? != expected_start.as_slice()
        || u64_at(84)? != payload.len() as u64
        || u64_at(92)? != xxhash_rust::xxh3::xxh3_64(payload)
    {
        return None;
    }
    let mut encoded = Vec::new();
    let decoder = zstd::stream::read::Decoder::new(payload).ok()?;
    std::io::Read::read_to_end(&mut std::io::Read::take(decoder, MAX_DECODED), &mut encoded).ok()?;
    let index: LayerIndex = postcard::from_bytes(&encoded).ok()?;
    (index.digest == *digest && index.diff_id == *diff_id).then_some(index)
}

fn raw(digest: &Digest) -> [u8; 32] {
    let mut out = [0u8; 32];
    // A Digest is 64 hex digits by construction; a failure would leave zeros, which
    // only makes the entry unreadable (a miss), never another layer's.
    let _ = hex::decode_to_slice(digest.hex(), &mut out);
    out
}

fn generation_bytes(generation: &str) -> [u8; 8] {
    let mut out = [0u8; 8];
    let _ = hex::decode_to_slice(generation, &mut out);
    out
}

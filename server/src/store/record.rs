//! How one log entry is framed in a segment file.
//!
//! ```text
//! | payload length: u32 LE | CRC-32: u32 LE | index: u64 LE | payload |
//! ```
//!
//! The CRC (IEEE, as `crc32fast` computes it, hardware-accelerated) covers
//! the index and the payload, so a record read from the wrong place, or a
//! length that points into the middle of another record, fails the check as
//! surely as a flipped bit does. The payload is the envelope's canonical
//! JSON, the bytes the Merkle tree hashes.

/// Bytes before the payload.
pub const HEADER: usize = 16;

/// The largest payload a record may claim. Statements are far smaller (the
/// request body limit); a larger length is damage, not data, and is never
/// allocated.
pub const MAX_PAYLOAD: usize = 64 << 20;

/// Appends the record of entry `index` to `out`.
pub fn encode(index: u64, payload: &[u8], out: &mut Vec<u8>) {
    // Payloads are bounded by the request limits, far below 4 GiB.
    let len = u32::try_from(payload.len()).expect("a statement under 4 GiB");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&checksum(index, payload).to_le_bytes());
    out.extend_from_slice(&index.to_le_bytes());
    out.extend_from_slice(payload);
}

/// The size of the record of a payload of `len` bytes.
pub fn framed_len(len: usize) -> usize {
    HEADER + len
}

/// A record header as read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub len: usize,
    pub crc: u32,
    pub index: u64,
}

impl Header {
    /// Reads a header; `None` if its length is beyond [`MAX_PAYLOAD`].
    pub fn parse(bytes: &[u8; HEADER]) -> Option<Header> {
        let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or([0; 4]));
        let len = word(0) as usize;
        let mut index = [0u8; 8];
        index.copy_from_slice(&bytes[8..16]);
        (len <= MAX_PAYLOAD).then_some(Header {
            len,
            crc: word(4),
            index: u64::from_le_bytes(index),
        })
    }

    /// Whether `payload` is this record's payload, intact.
    pub fn matches(&self, payload: &[u8]) -> bool {
        payload.len() == self.len && checksum(self.index, payload) == self.crc
    }
}

fn checksum(index: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&index.to_le_bytes());
    h.update(payload);
    h.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header_of(buf: &[u8]) -> Header {
        Header::parse(buf[..HEADER].try_into().unwrap()).unwrap()
    }

    proptest! {
        #[test]
        fn a_record_reads_back(index in any::<u64>(), payload in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut buf = Vec::new();
            encode(index, &payload, &mut buf);
            prop_assert_eq!(buf.len(), framed_len(payload.len()));
            let h = header_of(&buf);
            prop_assert_eq!(h.index, index);
            prop_assert!(h.matches(&buf[HEADER..]));
        }

        #[test]
        fn any_flipped_bit_is_caught(payload in proptest::collection::vec(any::<u8>(), 1..200), bit in any::<prop::sample::Index>()) {
            let mut buf = Vec::new();
            encode(7, &payload, &mut buf);
            let bit = bit.index(buf.len() * 8);
            buf[bit / 8] ^= 1 << (bit % 8);
            let intact = Header::parse(buf[..HEADER].try_into().unwrap())
                .is_some_and(|h| h.index == 7 && buf.len() == framed_len(h.len) && h.matches(&buf[HEADER..]));
            prop_assert!(!intact);
        }
    }

    #[test]
    fn an_absurd_length_is_not_a_header() {
        let mut buf = [0u8; HEADER];
        buf[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Header::parse(&buf), None);
    }
}

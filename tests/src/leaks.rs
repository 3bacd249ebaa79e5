//! Where a test looks for a marker string a reader must not obtain: what
//! it was given, as text, with every base64 token in it decoded and every
//! zstd frame (sled's page compression) decompressed.

use base64::Engine as _;

/// `bytes` as text, each base64 token in it decoded, and each zstd frame
/// in it (and in the decoded tokens) decompressed.
pub fn readable(bytes: &[u8]) -> String {
    let mut out = vec![String::from_utf8_lossy(bytes).into_owned()];
    let mut decoded = Vec::new();
    for token in bytes.split(|b| !(b.is_ascii_alphanumeric() || b"+/=_-".contains(b))) {
        if token.len() < 8 {
            continue;
        }
        let engines = [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        for engine in engines {
            if let Ok(d) = engine.decode(token) {
                out.push(String::from_utf8_lossy(&d).into_owned());
                decoded.push(d);
            }
        }
    }
    for blob in std::iter::once(bytes).chain(decoded.iter().map(|d| d.as_slice())) {
        out.extend(zstd_frames(blob));
    }
    out.join("\n")
}

/// Every zstd frame found in `bytes`, decompressed as far as it goes.
fn zstd_frames(bytes: &[u8]) -> Vec<String> {
    const MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
    let mut out = Vec::new();
    for at in 0..bytes.len().saturating_sub(4) {
        if bytes[at..at + 4] == MAGIC {
            let mut plain = Vec::new();
            if let Ok(mut d) = zstd::stream::read::Decoder::new(&bytes[at..]) {
                let _ = std::io::Read::read_to_end(&mut d, &mut plain);
            }
            out.push(String::from_utf8_lossy(&plain).into_owned());
        }
    }
    out
}

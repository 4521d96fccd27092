//! Random identifiers and tokens with GitHub's real prefixes and shapes.

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
// GitHub user codes avoid vowels and look-alike characters.
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ0123456789";

fn random_bytes(len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    // The OS RNG failing is not something a test double can recover from; fall back to a
    // time-seeded fill so the mock keeps answering (uniqueness is all it needs).
    if getrandom::fill(&mut buf).is_err() {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(i as u128)
                >> 33) as u8;
        }
    }
    buf
}

fn from_alphabet(alphabet: &[u8], len: usize) -> String {
    random_bytes(len)
        .into_iter()
        .map(|b| alphabet[b as usize % alphabet.len()] as char)
        .collect()
}

/// Lower-case hex string of `bytes` random bytes.
pub(crate) fn hex(bytes: usize) -> String {
    random_bytes(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A GitHub-style token: `prefix` followed by `len` base62 characters.
pub(crate) fn token(prefix: &str, len: usize) -> String {
    format!("{prefix}{}", from_alphabet(BASE62, len))
}

/// OAuth App user token (`gho_` + 36).
pub(crate) fn oauth_token() -> String {
    token("gho_", 36)
}

/// GitHub App user-to-server token (`ghu_` + 36).
pub(crate) fn user_to_server_token() -> String {
    token("ghu_", 36)
}

/// GitHub App refresh token (`ghr_` + 76).
pub(crate) fn refresh_token() -> String {
    token("ghr_", 76)
}

/// A 40-character device code.
pub(crate) fn device_code() -> String {
    hex(20)
}

/// A `XXXX-XXXX` user code.
pub(crate) fn user_code() -> String {
    let raw = from_alphabet(USER_CODE_ALPHABET, 8);
    format!("{}-{}", &raw[..4], &raw[4..])
}

/// A web-flow authorization code (20 hex characters, like GitHub's).
pub(crate) fn authorization_code() -> String {
    hex(10)
}

/// A `chatcmpl-…` completion id.
pub(crate) fn completion_id() -> String {
    format!("chatcmpl-{}", from_alphabet(BASE62, 29))
}

/// An Anthropic-style `tooluse_…` tool-call id.
pub(crate) fn tooluse_id() -> String {
    format!("tooluse_{}", from_alphabet(BASE62, 22))
}

/// An OpenAI-style `call_…` tool-call id.
pub(crate) fn call_id() -> String {
    format!("call_{}", from_alphabet(BASE62, 24))
}

/// A Responses API object id with the given prefix (`resp`, `msg`, `fc`, `rs`).
pub(crate) fn object_id(prefix: &str) -> String {
    format!("{prefix}_{}", hex(24))
}

/// An opaque base64-looking signature for reasoning replay.
pub(crate) fn opaque_signature() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(random_bytes(48))
}

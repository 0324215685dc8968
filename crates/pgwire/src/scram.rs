//! The server's side of SCRAM-SHA-256 (RFC 5802, RFC 7677) against a stored
//! verifier in PostgreSQL's `pg_authid` format,
//! `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
//!
//! pgwire's own SCRAM server wants the salted password, which logs in as the
//! user by itself; a verifier only checks a proof. Channel binding
//! (SCRAM-SHA-256-PLUS) is not offered.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// A user's stored verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    iterations: u32,
    salt: Vec<u8>,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

impl Verifier {
    /// Reads PostgreSQL's format; `None` if `text` is not a SCRAM-SHA-256 verifier.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("SCRAM-SHA-256$")?;
        let (iterations_salt, keys) = rest.split_once('$')?;
        let (iterations, salt) = iterations_salt.split_once(':')?;
        let (stored_key, server_key) = keys.split_once(':')?;
        Some(Self {
            iterations: iterations.parse().ok()?,
            salt: STANDARD.decode(salt).ok()?,
            stored_key: STANDARD.decode(stored_key).ok()?,
            server_key: STANDARD.decode(server_key).ok()?,
        })
    }

    /// A verifier nothing matches, for an unknown user: the exchange runs to
    /// its end as for a real one, so it does not tell which names exist.
    pub fn unmatchable() -> Self {
        let mut salt = [0u8; 16];
        let mut key = [0u8; 32];
        // A failed random source still leaves a verifier no proof matches:
        // its stored key is not the hash of any client key we can be sent.
        let _ = getrandom::fill(&mut salt);
        let _ = getrandom::fill(&mut key);
        Self {
            iterations: 4096,
            salt: salt.to_vec(),
            stored_key: key.to_vec(),
            server_key: key.to_vec(),
        }
    }
}

/// Why an exchange failed; each becomes a Postgres error in `startup.rs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScramFailure {
    /// The client's message does not follow RFC 5802.
    Malformed(&'static str),
    /// The client asked for channel binding, which is not offered.
    ChannelBinding,
    /// The proof does not match: a wrong password (or an unknown user).
    WrongProof,
}

/// After the server's first message: what the client's final message is checked against.
#[derive(Debug)]
pub struct AwaitingFinal {
    verifier: Verifier,
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
}

/// The client's first message: returns the server's first message and the state to finish with.
pub fn server_first(client_first: &[u8], verifier: Verifier) -> Result<(String, AwaitingFinal), ScramFailure> {
    let text = std::str::from_utf8(client_first).map_err(|_| ScramFailure::Malformed("client-first is not UTF-8"))?;
    // gs2-header: a channel-binding flag, an optional authzid, then the bare message.
    let (flag, rest) = text
        .split_once(',')
        .ok_or(ScramFailure::Malformed("client-first has no gs2 header"))?;
    match flag {
        "n" | "y" => {}
        flag if flag.starts_with("p=") => return Err(ScramFailure::ChannelBinding),
        _ => return Err(ScramFailure::Malformed("unknown channel-binding flag")),
    }
    let (authzid, bare) = rest
        .split_once(',')
        .ok_or(ScramFailure::Malformed("client-first has no bare message"))?;
    let gs2_header = format!("{flag},{authzid},");
    let client_nonce = bare
        .split(',')
        .find_map(|part| part.strip_prefix("r="))
        .filter(|nonce| !nonce.is_empty())
        .ok_or(ScramFailure::Malformed("client-first has no nonce"))?;
    let mut random = [0u8; 18];
    getrandom::fill(&mut random).map_err(|_| ScramFailure::Malformed("no random source for the server nonce"))?;
    let nonce = format!("{client_nonce}{}", STANDARD.encode(random));
    let server_first = format!(
        "r={nonce},s={},i={}",
        STANDARD.encode(&verifier.salt),
        verifier.iterations
    );
    Ok((
        server_first.clone(),
        AwaitingFinal {
            verifier,
            gs2_header,
            client_first_bare: bare.to_owned(),
            server_first,
            nonce,
        },
    ))
}

impl AwaitingFinal {
    /// The client's final message: the server's final message if the proof is right.
    pub fn server_final(&self, client_final: &[u8]) -> Result<String, ScramFailure> {
        let text =
            std::str::from_utf8(client_final).map_err(|_| ScramFailure::Malformed("client-final is not UTF-8"))?;
        let (without_proof, proof) = text
            .rsplit_once(",p=")
            .ok_or(ScramFailure::Malformed("client-final has no proof"))?;
        let mut binding = None;
        let mut nonce = None;
        for part in without_proof.split(',') {
            if let Some(value) = part.strip_prefix("c=") {
                binding = Some(value);
            } else if let Some(value) = part.strip_prefix("r=") {
                nonce = Some(value);
            }
        }
        if binding != Some(STANDARD.encode(&self.gs2_header).as_str()) {
            return Err(ScramFailure::ChannelBinding);
        }
        if nonce != Some(self.nonce.as_str()) {
            return Err(ScramFailure::Malformed("client-final's nonce is not the exchange's"));
        }
        let proof = STANDARD
            .decode(proof)
            .map_err(|_| ScramFailure::Malformed("client-final's proof is not base64"))?;
        let auth_message = format!("{},{},{}", self.client_first_bare, self.server_first, without_proof);
        let client_signature = hmac(&self.verifier.stored_key, auth_message.as_bytes());
        if proof.len() != client_signature.len() {
            return Err(ScramFailure::WrongProof);
        }
        let client_key: Vec<u8> = proof.iter().zip(&client_signature).map(|(p, s)| p ^ s).collect();
        if Sha256::digest(&client_key).as_slice() != self.verifier.stored_key.as_slice() {
            return Err(ScramFailure::WrongProof);
        }
        let server_signature = hmac(&self.verifier.server_key, auth_message.as_bytes());
        Ok(format!("v={}", STANDARD.encode(server_signature)))
    }
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length; the error is for fixed-size MACs.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The client's side, written from RFC 5802 §3 so the server is checked
    /// against the RFC rather than against itself.
    fn client_final(password: &str, client_first_bare: &str, server_first: &str, gs2: &str) -> String {
        let parts: Vec<&str> = server_first.split(',').collect();
        let nonce = &parts[0][2..];
        let salt = STANDARD.decode(&parts[1][2..]).expect("salt");
        let iterations: u32 = parts[2][2..].parse().expect("iterations");
        let mut salted = [0u8; 32];
        pbkdf2_hmac_sha256(password.as_bytes(), &salt, iterations, &mut salted);
        let client_key = hmac(&salted, b"Client Key");
        let stored_key = Sha256::digest(&client_key);
        let without_proof = format!("c={},r={nonce}", STANDARD.encode(gs2));
        let auth = format!("{client_first_bare},{server_first},{without_proof}");
        let signature = hmac(&stored_key, auth.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&signature).map(|(k, s)| k ^ s).collect();
        format!("{without_proof},p={}", STANDARD.encode(proof))
    }

    fn pbkdf2_hmac_sha256(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8; 32]) {
        let mut block = salt.to_vec();
        block.extend_from_slice(&1u32.to_be_bytes());
        let mut u = hmac(password, &block);
        out.copy_from_slice(&u);
        for _ in 1..iterations {
            u = hmac(password, &u);
            for (o, x) in out.iter_mut().zip(&u) {
                *o ^= x;
            }
        }
    }

    fn verifier(password: &str) -> Verifier {
        Verifier::parse(&postgres_protocol::password::scram_sha_256(password.as_bytes())).expect("parses")
    }

    #[test]
    fn the_right_password_passes_and_the_server_proves_itself() {
        let bare = "n=,r=rOprNGfwEbeRWgbNEkqO";
        let (first, state) = server_first(format!("n,,{bare}").as_bytes(), verifier("pencil-sharp")).expect("first");
        let last = client_final("pencil-sharp", bare, &first, "n,,");
        let server_final = state.server_final(last.as_bytes()).expect("the proof matches");
        assert!(server_final.starts_with("v="));
    }

    #[test]
    fn a_wrong_password_or_an_unknown_user_fails_the_proof() {
        let bare = "n=,r=abc";
        let (first, state) = server_first(format!("y,,{bare}").as_bytes(), verifier("pencil-sharp")).expect("first");
        let last = client_final("pencil-blunt", bare, &first, "y,,");
        assert_eq!(state.server_final(last.as_bytes()), Err(ScramFailure::WrongProof));
        let (first, state) = server_first(format!("n,,{bare}").as_bytes(), Verifier::unmatchable()).expect("first");
        let last = client_final("anything", bare, &first, "n,,");
        assert_eq!(state.server_final(last.as_bytes()), Err(ScramFailure::WrongProof));
    }

    #[test]
    fn channel_binding_and_a_replayed_nonce_are_refused() {
        assert_eq!(
            server_first(b"p=tls-server-end-point,,n=,r=abc", verifier("pencil-sharp")).err(),
            Some(ScramFailure::ChannelBinding)
        );
        let bare = "n=,r=abc";
        let (first, state) = server_first(format!("n,,{bare}").as_bytes(), verifier("pencil-sharp")).expect("first");
        let last = client_final("pencil-sharp", bare, &first, "n,,").replace(",r=abc", ",r=abcX");
        assert!(matches!(
            state.server_final(last.as_bytes()),
            Err(ScramFailure::Malformed(_))
        ));
    }
}

//! DSSE envelopes (Dead Simple Signing Envelope, v1).
//!
//! The envelope carries raw payload bytes, their media type, and any number
//! of signatures over `PAE(payloadType, payload)`. On the wire it is JSON
//! with base64 `payload`/`sig` (media type [`ENVELOPE_MEDIA_TYPE`]); in
//! memory the bytes are already decoded, so a parsed [`Envelope`] never
//! holds bad base64.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// Media type of a DSSE envelope stored as a blob (OCI layer / referrer).
pub const ENVELOPE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";

/// `payloadType` of an in-toto statement inside a DSSE envelope.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// A DSSE envelope with decoded payload and signature bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub payload_type: String,
    pub payload: Vec<u8>,
    pub signatures: Vec<Signature>,
}

/// One signature of an envelope. `keyid` is an unauthenticated hint only:
/// verification never trusts it to pick or reject a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub keyid: String,
    pub sig: Vec<u8>,
}

/// Why envelope JSON could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("DSSE envelope is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    #[error("DSSE envelope field {field} is not valid base64")]
    Base64 { field: String },
}

/// The DSSE v1 pre-authentication encoding: the exact bytes signatures
/// cover. `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths as
/// ASCII decimal byte counts without leading zeros.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let type_len = payload_type.len().to_string();
    let body_len = payload.len().to_string();
    let mut out = Vec::with_capacity(
        b"DSSEv1".len() + 4 + type_len.len() + payload_type.len() + body_len.len() + payload.len(),
    );
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(type_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(body_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// The wire form, field order as cosign writes it.
#[derive(Serialize, Deserialize)]
struct WireEnvelope {
    #[serde(rename = "payloadType")]
    payload_type: String,
    payload: String,
    #[serde(default)]
    signatures: Vec<WireSignature>,
}

#[derive(Serialize, Deserialize)]
struct WireSignature {
    #[serde(default)]
    keyid: String,
    sig: String,
}

/// The spec allows standard or URL-safe base64, padded or not, when reading.
fn decode_b64(text: &str, field: &str) -> Result<Vec<u8>, EnvelopeError> {
    let lenient =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    GeneralPurpose::new(&alphabet::STANDARD, lenient)
        .decode(text)
        .or_else(|_| GeneralPurpose::new(&alphabet::URL_SAFE, lenient).decode(text))
        .map_err(|_| EnvelopeError::Base64 {
            field: field.to_string(),
        })
}

impl Envelope {
    /// An unsigned envelope; signatures are added by [`crate::sign`].
    pub fn new(payload_type: impl Into<String>, payload: Vec<u8>) -> Envelope {
        Envelope {
            payload_type: payload_type.into(),
            payload,
            signatures: Vec::new(),
        }
    }

    /// The bytes every signature of this envelope must cover.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// Compact JSON with standard padded base64, fields in cosign's order
    /// (`payloadType`, `payload`, `signatures[{keyid, sig}]`).
    pub fn to_json(&self) -> Vec<u8> {
        // Strings only: serialization cannot fail.
        serde_json::to_vec(&self.to_wire()).unwrap_or_default()
    }

    /// The envelope as a JSON value (for embedding, e.g. in a bundle).
    pub fn to_wire_value(&self) -> serde_json::Value {
        serde_json::to_value(self.to_wire()).unwrap_or_default()
    }

    fn to_wire(&self) -> WireEnvelope {
        WireEnvelope {
            payload_type: self.payload_type.clone(),
            payload: STANDARD.encode(&self.payload),
            signatures: self
                .signatures
                .iter()
                .map(|s| WireSignature {
                    keyid: s.keyid.clone(),
                    sig: STANDARD.encode(&s.sig),
                })
                .collect(),
        }
    }

    /// Parse envelope JSON, decoding every base64 field.
    pub fn from_json(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        let wire: WireEnvelope = serde_json::from_slice(bytes)?;
        Envelope::from_wire(wire)
    }

    /// Parse an envelope already read as a JSON value.
    pub fn from_wire_value(value: serde_json::Value) -> Result<Envelope, EnvelopeError> {
        let wire: WireEnvelope = serde_json::from_value(value)?;
        Envelope::from_wire(wire)
    }

    fn from_wire(wire: WireEnvelope) -> Result<Envelope, EnvelopeError> {
        let payload = decode_b64(&wire.payload, "payload")?;
        let signatures = wire
            .signatures
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                Ok(Signature {
                    sig: decode_b64(&s.sig, &format!("signatures[{i}].sig"))?,
                    keyid: s.keyid,
                })
            })
            .collect::<Result<Vec<_>, EnvelopeError>>()?;
        Ok(Envelope {
            payload_type: wire.payload_type,
            payload,
            signatures,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of the DSSE v1 protocol document.
    #[test]
    fn pae_matches_spec_example() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn json_round_trip_and_lenient_base64() {
        let mut e = Envelope::new(IN_TOTO_PAYLOAD_TYPE, b"{\"a\":1}".to_vec());
        e.signatures.push(Signature {
            keyid: "k".into(),
            sig: vec![0xfb, 0xff, 0x01],
        });
        let json = e.to_json();
        assert_eq!(Envelope::from_json(&json).unwrap(), e);
        // URL-safe, unpadded spelling of the same signature bytes.
        let url = br#"{"payloadType":"t","payload":"","signatures":[{"keyid":"","sig":"-_8B"}]}"#;
        assert_eq!(
            Envelope::from_json(url).unwrap().signatures[0].sig,
            vec![0xfb, 0xff, 0x01]
        );
    }
}

//! TLS with rustls (ring provider), and the rule for plain HTTP: loopback only,
//! unless the operator says `insecure_bind` (a TLS-terminating proxy in front).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::settings::Settings;

/// The rustls server config, if `tls_cert` and `tls_key` are set.
pub fn server_config(settings: &Settings) -> anyhow::Result<Option<rustls::ServerConfig>> {
    if settings.tls_cert.is_empty() {
        return Ok(None);
    }
    let certs = CertificateDer::pem_file_iter(&settings.tls_cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading the TLS certificate {}", settings.tls_cert))?;
    if certs.is_empty() {
        anyhow::bail!("{} holds no certificate", settings.tls_cert);
    }
    // The key's path may be named in an error; its bytes never are.
    let key = PrivateKeyDer::from_pem_file(&settings.tls_key)
        .with_context(|| format!("reading the TLS key {}", settings.tls_key))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not go together")?;
    Ok(Some(config))
}

/// Refuses plain HTTP on a non-loopback address unless `insecure`; says on
/// stderr that the server runs without TLS either way.
pub fn check_plain_bind(addr: SocketAddr, insecure: bool) -> anyhow::Result<()> {
    if !addr.ip().is_loopback() && !insecure {
        anyhow::bail!(
            "refusing plain HTTP on {addr}, which is not a loopback address: \
             set tls_cert and tls_key, or pass --insecure-bind (insecure_bind = true) \
             if a TLS-terminating proxy stands in front"
        );
    }
    let note = if addr.ip().is_loopback() {
        "loopback only"
    } else {
        "--insecure-bind: NOT loopback"
    };
    eprintln!("entente-server: no TLS configured; serving plain HTTP on {addr} ({note})");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_loopback_only_unless_told() {
        assert!(check_plain_bind("127.0.0.1:1".parse().unwrap(), false).is_ok());
        assert!(check_plain_bind("[::1]:1".parse().unwrap(), false).is_ok());
        assert!(check_plain_bind("0.0.0.0:1".parse().unwrap(), false).is_err());
        assert!(check_plain_bind("0.0.0.0:1".parse().unwrap(), true).is_ok());
    }
}

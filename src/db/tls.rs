//! TLS for PostgreSQL connections through rustls, with libpq's `sslmode`
//! rules: `prefer`/`allow`/`require` encrypt without verifying the server's
//! certificate, `verify-ca` verifies the chain against the root certificate,
//! `verify-full` also the host name. No system TLS library is linked, so the
//! binary runs wherever glibc does.
//!
//! The root certificates come from where libpq takes them: `sslrootcert`,
//! else `$PGSSLROOTCERT`, else `~/.postgresql/root.crt`; `sslrootcert=system`
//! means the operating system's trusted roots (and, as in libpq, implies
//! `verify-full`).
//!
//! A client certificate is sent as libpq sends it: `sslcert` (else
//! `$PGSSLCERT`, else `~/.postgresql/postgresql.crt` when that file exists)
//! with its key `sslkey` (else `$PGSSLKEY`, else
//! `~/.postgresql/postgresql.key`), the key readable by its owner only.
//! Stricter than libpq in one place: a certificate file named explicitly
//! (`sslcert=` or `$PGSSLCERT`) that does not exist is an error, where libpq
//! would silently connect without it.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

pub use tokio_postgres_rustls::MakeRustlsConnect as TlsConnector;

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Encrypt only (`prefer`, `allow`, `require`).
    Nothing,
    /// The chain, not the host name (`verify-ca`).
    Chain,
    /// The chain and the host name (`verify-full`).
    Full,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Where the client certificate and its key are given, if they are
/// (`sslcert`, `sslkey` from the URL; the environment and the defaults are
/// looked up by [`connector`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientFiles<'a> {
    /// `sslcert`.
    pub cert: Option<&'a str>,
    /// `sslkey`.
    pub key: Option<&'a str>,
}

/// A connector for `verify`, reading root certificates and the client
/// certificate as libpq does.
pub fn connector(
    verify: Verify,
    rootcert: Option<&str>,
    client: ClientFiles<'_>,
) -> Result<TlsConnector, String> {
    let client = client_certificate(client)?;
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("could not set up TLS: {e}"))?;
    let wants_client = match verify {
        Verify::Nothing => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider))),
        Verify::Chain | Verify::Full => {
            let (roots, system) = root_store(rootcert)?;
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("could not set up TLS: {e}"))?;
            if verify == Verify::Full || system {
                builder.with_webpki_verifier(webpki)
            } else {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(ChainOnly(webpki)))
            }
        }
    };
    let config = match client {
        Some((chain, key, path)) => wants_client
            .with_client_auth_cert(chain, key)
            .map_err(|e| format!("could not load client certificate file \"{path}\": {e}"))?,
        None => wants_client.with_no_client_auth(),
    };
    Ok(TlsConnector::new(config))
}

type ClientCertificate = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>, String);

/// The client certificate chain and key to send, if any, with libpq's
/// defaults and its rule on the key file's permissions.
fn client_certificate(files: ClientFiles<'_>) -> Result<Option<ClientCertificate>, String> {
    let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let home = || std::env::var("HOME").unwrap_or_default();
    let explicit = files
        .cert
        .map(str::to_string)
        .or_else(|| from_env("PGSSLCERT"));
    let cert_path = match explicit {
        Some(path) => {
            if !std::path::Path::new(&path).exists() {
                return Err(format!(
                    "certificate file \"{path}\" does not exist\nGive the client certificate's \
                     path in sslcert (or PGSSLCERT), or leave both unset to connect without one."
                ));
            }
            path
        }
        None => {
            let default = format!("{}/.postgresql/postgresql.crt", home());
            if !std::path::Path::new(&default).exists() {
                return Ok(None);
            }
            default
        }
    };
    let key_path = files
        .key
        .map(str::to_string)
        .or_else(|| from_env("PGSSLKEY"))
        .unwrap_or_else(|| format!("{}/.postgresql/postgresql.key", home()));
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .map_err(|e| format!("could not open certificate file \"{cert_path}\": {e}"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("could not read certificate file \"{cert_path}\": {e}"))?;
    if chain.is_empty() {
        return Err(format!(
            "could not read certificate file \"{cert_path}\": no certificates in it"
        ));
    }
    let meta = std::fs::metadata(&key_path)
        .map_err(|_| format!("certificate present, but not private key file \"{key_path}\""))?;
    key_permissions_ok(&key_path, &meta)?;
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .map_err(|e| format!("could not load private key file \"{key_path}\": {e}"))?;
    Ok(Some((chain, key, cert_path)))
}

/// libpq's rule: a key file owned by the user may be readable by nobody
/// else (0600); one owned by root also by its group (0640).
fn key_permissions_ok(path: &str, meta: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt as _;
    if !meta.is_file() {
        return Err(format!("private key file \"{path}\" is not a regular file"));
    }
    let mode = meta.mode();
    let too_open = if meta.uid() == 0 {
        mode & 0o037 != 0
    } else {
        mode & 0o077 != 0
    };
    if too_open {
        return Err(format!(
            "private key file \"{path}\" has group or world access; file must have \
             permissions u=rw (0600) or less if owned by the current user, or permissions \
             u=rw,g=r (0640) or less if owned by root"
        ));
    }
    Ok(())
}

/// The root certificates, and whether they are the system's.
fn root_store(rootcert: Option<&str>) -> Result<(RootCertStore, bool), String> {
    let mut roots = RootCertStore::empty();
    let path = rootcert
        .map(str::to_string)
        .or_else(|| std::env::var("PGSSLROOTCERT").ok())
        .unwrap_or_else(|| {
            let home = std::env::var("HOME").unwrap_or_default();
            format!("{home}/.postgresql/root.crt")
        });
    if path == "system" {
        let found = rustls_native_certs::load_native_certs();
        for cert in found.certs {
            let _ = roots.add(cert);
        }
        if roots.is_empty() {
            return Err("could not load the system root certificate paths".to_string());
        }
        return Ok((roots, true));
    }
    if !std::path::Path::new(&path).exists() {
        return Err(format!(
            "root certificate file \"{path}\" does not exist\nEither provide the file, use the system's trusted roots with sslrootcert=system, or change sslmode to disable server certificate verification."
        ));
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&path)
        .map_err(|e| format!("could not read root certificate file \"{path}\": {e}"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("could not read root certificate file \"{path}\": {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "could not read root certificate file \"{path}\": no certificates in it"
        ));
    }
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| format!("could not load root certificate file \"{path}\": {e}"))?;
    }
    Ok((roots, false))
}

/// `sslmode=require` and below: any certificate, as libpq (signatures of the
/// handshake are still checked, so the session is encrypted to whoever holds
/// the certificate's key).
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `sslmode=verify-ca`: the chain must lead to a trusted root; the name in
/// the certificate need not match the host.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

//! TLS for the PostgreSQL connection over the rustls already in the tree (tokio-rustls, ring):
//! the driver's `MakeTlsConnect` for a client configuration `pgconn` built from `sslmode`.
//! Channel binding (SCRAM-SHA-256-PLUS) is not offered: the server falls back to plain
//! SCRAM-SHA-256, which still never sends the password.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

/// Makes a TLS connector per connection; `None`: TLS is not to be used (`sslmode=disable`).
#[derive(Clone)]
pub(super) struct MakeRustls(pub(super) Option<Arc<rustls::ClientConfig>>);

/// One connection's TLS handshake (the driver asks for one even when it will not use it).
pub(super) struct Connect {
    config: Option<Arc<rustls::ClientConfig>>,
    name: rustls::pki_types::ServerName<'static>,
}

/// The encrypted stream.
pub(super) struct Stream(Box<tokio_rustls::client::TlsStream<tokio_postgres::Socket>>);

impl MakeTlsConnect<tokio_postgres::Socket> for MakeRustls {
    type Stream = Stream;
    type TlsConnect = Connect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<Connect> {
        let config = self.0.clone();
        // No name for a Unix socket, where TLS is never used.
        let domain = if domain.is_empty() {
            "localhost"
        } else {
            domain
        };
        let name = rustls::pki_types::ServerName::try_from(domain.to_string())
            .map_err(|e| io::Error::other(format!("invalid server name `{domain}`: {e}")))?;
        Ok(Connect { config, name })
    }
}

impl TlsConnect<tokio_postgres::Socket> for Connect {
    type Stream = Stream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Stream>> + Send>>;

    fn connect(self, socket: tokio_postgres::Socket) -> Self::Future {
        Box::pin(async move {
            let config = self
                .config
                .ok_or_else(|| io::Error::other("TLS is disabled (sslmode=disable)"))?;
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(self.name, socket)
                .await?;
            Ok(Stream(Box::new(tls)))
        })
    }
}

impl tokio_postgres::tls::TlsStream for Stream {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

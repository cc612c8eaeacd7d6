//! What the history artifact (`--history oci://…`) needs beyond reading images: a tag's digest
//! and a manifest's bytes without the cache (the optimistic-concurrency check), a blob read into
//! memory with a cap, and the uploads (blob POST + PUT, manifest PUT) with a `push,pull` token.
//! Every request goes through the same [`RegistryClient::call`] as image reads: auth, retries,
//! limits, no ping.

use super::*;

impl RegistryClient {
    /// The digest the tag `r` points at now (one HEAD, never the cache), `None` when the tag
    /// does not exist: the history artifact's optimistic-concurrency check.
    pub(crate) async fn tag_digest(
        &self,
        r: &RegistryRef,
        push: bool,
    ) -> Result<Option<String>, SourceError> {
        let Some(a) = self.raw(r, Method::HEAD, push).await? else {
            return Ok(None);
        };
        match a.named_digest() {
            Some(d) => Ok(Some(d.to_string())),
            // Without the header the digest is only known from the body.
            None => Ok(self.manifest_bytes(r, push).await?.map(|(d, _)| d)),
        }
    }

    /// The manifest at tag `r` (never the cache) as `(digest, bytes)`, `None` when absent.
    pub(crate) async fn manifest_bytes(
        &self,
        r: &RegistryRef,
        push: bool,
    ) -> Result<Option<(String, Vec<u8>)>, SourceError> {
        let Some(a) = self.raw(r, Method::GET, push).await? else {
            return Ok(None);
        };
        Ok(Some((a.manifest_digest(r)?, a.body)))
    }

    async fn raw(
        &self,
        r: &RegistryRef,
        method: Method,
        push: bool,
    ) -> Result<Option<Answer>, SourceError> {
        let url = format!(
            "{}{}/manifests/{}",
            self.base(r),
            r.repository(),
            r.manifest_reference()
        );
        let call = Call {
            method,
            url,
            accept: Some(OCI_MANIFEST),
            body: None,
            push,
            what: "manifest",
            sink: None,
            limit: crate::limits::MANIFEST_MAX,
        };
        match self.call(r, call).await {
            Ok(a) => Ok(Some(a)),
            Err(SourceError::Registry(RegistryError::NotFound { .. })) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A blob read into memory, at most `limit` bytes, verified against `digest`.
    pub(crate) async fn blob(
        &self,
        r: &RegistryRef,
        digest: &str,
        limit: u64,
        push: bool,
    ) -> Result<Vec<u8>, SourceError> {
        let url = format!("{}{}/blobs/{digest}", self.base(r), r.repository());
        let a = self
            .call(
                r,
                Call {
                    method: Method::GET,
                    url,
                    accept: None,
                    body: None,
                    push,
                    what: "a blob",
                    sink: None,
                    limit,
                },
            )
            .await?;
        manifest::verify("blob", &a.body, digest).map_err(|e| Self::bad(r, e))?;
        Ok(a.body)
    }

    /// Uploads `bytes` as a blob of `r`'s repository (a POST for the upload session, then one
    /// monolithic PUT), unless the registry has it already. Returns its digest.
    pub(crate) async fn push_blob(
        &self,
        r: &RegistryRef,
        bytes: &[u8],
    ) -> Result<String, SourceError> {
        let digest = manifest::sha256(bytes);
        let base = self.base(r);
        let head = Call {
            method: Method::HEAD,
            url: format!("{base}{}/blobs/{digest}", r.repository()),
            accept: None,
            body: None,
            push: true,
            what: "a blob",
            sink: None,
            // A HEAD has no body, but its Content-Length is the blob's.
            limit: crate::limits::HISTORY_ARTIFACT_MAX,
        };
        match self.call(r, head).await {
            Ok(_) => return Ok(digest),
            Err(SourceError::Registry(RegistryError::Status { status: 404, .. })) => {}
            Err(e) => return Err(e),
        }
        let start = Call {
            method: Method::POST,
            url: format!("{base}{}/blobs/uploads/", r.repository()),
            accept: None,
            body: Some(("application/octet-stream", Vec::new())),
            push: true,
            what: "the blob upload",
            sink: None,
            limit: crate::limits::AUTH_RESPONSE_MAX,
        };
        let a = self.call(r, start).await?;
        let location = a
            .headers
            .get("location")
            .and_then(|h| h.to_str().ok())
            .ok_or_else(|| RegistryError::Status {
                registry: r.registry().into(),
                reference: r.input.clone(),
                what: "the blob upload",
                status: a.status.as_u16(),
                detail: ": no Location header".into(),
            })?;
        let url = self.upload_url(r, location)?;
        let sep = if url.contains('?') { '&' } else { '?' };
        let put = Call {
            method: Method::PUT,
            url: format!("{url}{sep}{}", form(&[("digest", &digest)])),
            accept: None,
            body: Some(("application/octet-stream", bytes.to_vec())),
            push: true,
            what: "the blob upload",
            sink: None,
            limit: crate::limits::AUTH_RESPONSE_MAX,
        };
        self.call(r, put).await?;
        Ok(digest)
    }

    /// The upload URL a registry named: relative to it, or absolute on the same origin (the
    /// token must not travel to another host).
    fn upload_url(&self, r: &RegistryRef, location: &str) -> Result<String, RegistryError> {
        let origin = format!("{}://{}", self.scheme(r), r.registry());
        if location.starts_with('/') {
            return Ok(format!("{origin}{location}"));
        }
        match location.strip_prefix(&origin) {
            Some(rest) if rest.starts_with('/') => Ok(location.to_string()),
            _ => Err(RegistryError::Status {
                registry: r.registry().into(),
                reference: r.input.clone(),
                what: "the blob upload",
                status: 202,
                detail: format!(
                    ": the upload location is on another host (`{}`), refused",
                    crate::redact::scrub(&crate::limits::shorten_to(location, 100))
                ),
            }),
        }
    }

    /// PUTs an OCI image manifest under `r`'s tag; returns its digest.
    pub(crate) async fn push_manifest(
        &self,
        r: &RegistryRef,
        bytes: &[u8],
    ) -> Result<String, SourceError> {
        let put = Call {
            method: Method::PUT,
            url: format!(
                "{}{}/manifests/{}",
                self.base(r),
                r.repository(),
                r.manifest_reference()
            ),
            accept: None,
            body: Some((OCI_MANIFEST, bytes.to_vec())),
            push: true,
            what: "the manifest upload",
            sink: None,
            limit: crate::limits::AUTH_RESPONSE_MAX,
        };
        self.call(r, put).await?;
        Ok(manifest::sha256(bytes))
    }
}

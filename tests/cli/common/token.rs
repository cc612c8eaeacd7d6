//! A token endpoint for the registry's token authentication, as
//! <https://distribution.github.io/distribution/spec/auth/token/> specifies: it checks basic
//! credentials (or an OAuth2 refresh token), and answers with a JWT signed RS256 by a key whose
//! self-signed certificate the registry trusts (`rootcertbundle`), carried in the `x5c` header.
//! Keys are made per test run with the `openssl` command; signing uses it too.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use base64::Engine as _;

use super::http::{Request, Server, form_value, read_request, write_response};
use super::{PASSWORD, USER};

/// The refresh token the endpoint accepts in the OAuth2 flow.
pub const REFRESH_TOKEN: &str = "bpdrift-test-refresh-token";
pub const SERVICE: &str = "bpdrift-test-registry";
pub const ISSUER: &str = "bpdrift-test-issuer";

pub struct TokenServer {
    pub addr: String,
    pub cert: PathBuf,
    /// Every token request: (method, scope).
    pub requests: Arc<Mutex<Vec<(String, String)>>>,
    _server: Server,
    _dir: tempfile::TempDir,
}

fn b64url(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn openssl(args: &[&str], dir: &Path) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed: scripts/test.sh installs it with apt-get");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

impl TokenServer {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("token dir");
        openssl(
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "key.pem",
                "-out",
                "cert.pem",
                "-days",
                "2",
                "-subj",
                "/CN=bpdrift-test-token",
            ],
            dir.path(),
        );
        let pem = std::fs::read_to_string(dir.path().join("cert.pem")).unwrap();
        // The PEM body is the base64 of the DER certificate, which is what `x5c` holds.
        let der_b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let requests: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let log = requests.clone();
        let key_dir = dir.path().to_path_buf();
        let server = Server::start(move |stream| {
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut stream = stream;
            let Some(req) = read_request(&mut reader) else {
                return;
            };
            let (status, body) = answer(&req, &der_b64, &key_dir, &log);
            let _ = write_response(
                &mut stream,
                status,
                &[("Content-Type", "application/json".into())],
                body.as_bytes(),
            );
        });
        Self {
            addr: server.addr.clone(),
            cert: dir.path().join("cert.pem"),
            requests,
            _server: server,
            _dir: dir,
        }
    }

    /// The registry's `auth:` section for this endpoint.
    pub fn registry_auth_yaml(&self) -> String {
        format!(
            "auth:\n  token:\n    realm: http://{}/token\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
            self.addr,
            self.cert.display()
        )
    }
}

fn answer(
    req: &Request,
    x5c: &str,
    key_dir: &Path,
    log: &Mutex<Vec<(String, String)>>,
) -> (u16, String) {
    // GET with basic auth (docker's token flow) or POST with a refresh token (OAuth2 flow).
    let (scopes, allowed) = if req.method == "POST" {
        let form = String::from_utf8_lossy(&req.body).into_owned();
        let ok = form_value(&form, "grant_type").as_deref() == Some("refresh_token")
            && form_value(&form, "refresh_token").as_deref() == Some(REFRESH_TOKEN);
        (form_value(&form, "scope").unwrap_or_default(), ok)
    } else {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
        );
        let ok = req.header("authorization") == Some(expected.as_str());
        // Several scope parameters may be given (skopeo asks for pull and push).
        let scopes: Vec<String> = req
            .target
            .split_once('?')
            .map(|(_, q)| {
                q.split('&')
                    .filter(|kv| kv.starts_with("scope="))
                    .filter_map(|kv| form_value(kv, "scope"))
                    .collect()
            })
            .unwrap_or_default();
        (scopes.join(" "), ok)
    };
    log.lock()
        .unwrap()
        .push((req.method.clone(), scopes.clone()));
    if !allowed {
        return (
            401,
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#.into(),
        );
    }
    let access: Vec<serde_json::Value> = scopes
        .split(' ')
        .filter_map(|s| {
            let mut p = s.splitn(3, ':');
            let (kind, name, actions) = (p.next()?, p.next()?, p.next()?);
            Some(serde_json::json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
        })
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [x5c]});
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": USER, "aud": SERVICE, "exp": now + 600, "nbf": now - 60,
        "iat": now - 60, "jti": format!("{now}-{}", scopes.len()), "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let input_file = tempfile::NamedTempFile::new_in(key_dir).unwrap();
    std::fs::write(input_file.path(), &signing_input).unwrap();
    let sig = openssl(
        &[
            "dgst",
            "-sha256",
            "-sign",
            "key.pem",
            input_file.path().to_str().unwrap(),
        ],
        key_dir,
    );
    let token = format!("{signing_input}.{}", b64url(&sig));
    (
        200,
        serde_json::json!({"token": token, "access_token": token, "expires_in": 600}).to_string(),
    )
}

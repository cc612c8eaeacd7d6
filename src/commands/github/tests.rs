//! Unit tests of `commands::github`.

use super::*;

#[test]
fn key_dirs_do_not_collide() {
    let dirs: Vec<String> = ["web.app", "web-app", "web_app", "web/app", "web:app"]
        .map(key_dir)
        .into();
    assert_eq!(
        dirs,
        [
            "web_2eapp",
            "web-app",
            "web_5fapp",
            "web_2fapp",
            "web_3aapp"
        ]
    );
    assert_eq!(key_dir("default"), "default");
}

#[test]
fn keys() {
    assert!(parse_key("default").is_ok());
    assert!(parse_key("ghcr.io/org/app:web").is_ok());
    for bad in ["", "a b", "x-->", "a\nb", &"k".repeat(101)] {
        assert!(parse_key(bad).is_err(), "{bad:?}");
    }
}

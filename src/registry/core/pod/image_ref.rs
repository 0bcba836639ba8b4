//! Image references, parsed as docker's reference grammar (which kube's `ParseImageName` uses)
//! just far enough to default `imagePullPolicy`. Hand-written: the grammar is a few character
//! classes and no crate in the tree parses OCI references.

/// The parts of an image reference the pull-policy default looks at.
pub(super) struct ImageTag<'a> {
    /// The tag, if any.
    pub tag: Option<&'a str>,
    /// Whether a digest is present.
    pub digest: bool,
}

/// The tag and whether a digest is present, or `None` when `image` is not a valid reference
/// (docker's reference grammar, which kube's `ParseImageName` uses).
pub(super) fn image_tag(image: &str) -> Option<ImageTag<'_>> {
    let (name_tag, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest {
        let (alg, hex) = d.split_once(':')?;
        let alg_ok = !alg.is_empty()
            && alg
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
        let hex_ok = hex.len() >= 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b));
        if !alg_ok || !hex_ok {
            return None;
        }
    }
    let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_tag[last_slash..].rfind(':') {
        Some(i) => (
            &name_tag[..last_slash + i],
            Some(&name_tag[last_slash + i + 1..]),
        ),
        None => (name_tag, None),
    };
    if let Some(t) = tag {
        let b = t.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 128
            && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(c));
        if !ok {
            return None;
        }
    }
    if !valid_repository_name(name) {
        return None;
    }
    Some(ImageTag {
        tag,
        digest: digest.is_some(),
    })
}

/// `[domain/]component(/component)*` with lower-case path components.
fn valid_repository_name(name: &str) -> bool {
    if name.is_empty() || name.len() > 255 {
        return false;
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    let first = parts[0];
    let has_domain = parts.len() > 1
        && (first.contains('.')
            || first.contains(':')
            || first == "localhost"
            || first.bytes().any(|b| b.is_ascii_uppercase()));
    if has_domain {
        let host = first.split(':').next().unwrap_or("");
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b));
        if !host_ok {
            return false;
        }
        parts.remove(0);
    }
    parts.iter().all(|p| valid_path_component(p))
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`
fn valid_path_component(p: &str) -> bool {
    let b = p.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) if alnum(f) && alnum(l) => {}
        _ => return false,
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &p[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-')) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_digests() {
        let t = image_tag("registry.example.com:5000/team/app:v1").unwrap();
        assert_eq!((t.tag, t.digest), (Some("v1"), false));
        let t = image_tag("app").unwrap();
        assert_eq!((t.tag, t.digest), (None, false));
        let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let image = format!("app@{digest}");
        let t = image_tag(&image).unwrap();
        assert_eq!((t.tag, t.digest), (None, true));
    }

    #[test]
    fn invalid_references() {
        for bad in [
            "",
            "App",
            "app:",
            "app:-x",
            "a//b",
            "-app",
            "app@sha256",
            "app@sha256:zz",
        ] {
            assert!(image_tag(bad).is_none(), "{bad:?}");
        }
    }
}

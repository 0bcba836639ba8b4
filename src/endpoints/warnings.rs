//! `Warning` response headers, as kube's warning recorder writes them.
//!
//! A handler, an update closure it hands the registry, or a strategy (through the request
//! context's [`Warnings`]) adds texts while the request runs; the router writes them onto the
//! response, success or failure, as `Warning: 299 - "<text>"` — the
//! form kubectl prints as `Warning: <text>` and client-go hands to its warning handler. Like
//! kube's recorder (k8s.io/apiserver `pkg/endpoints/filters/warning.go`), empty texts are
//! dropped, a text is sent once however often it is added, and when the texts together pass
//! 4096 characters every one is cut to 256 and the rest that still do not fit are dropped.

use http::{HeaderMap, HeaderValue, header};

pub use crate::api::warnings::Warnings;

/// kube's `truncateAtTotalRunes`: past this many characters of warning text, truncate.
const TOTAL_LIMIT: usize = 4 * 1024;
/// kube's `truncateItemRunes`: the length each text is cut to once truncating.
const ITEM_LIMIT: usize = 256;

/// Appends one `Warning` header per text `warnings` holds, truncated as kube's recorder does.
///
/// ```
/// use capstan::endpoints::warnings::{Warnings, write_headers};
/// let warnings = Warnings::default();
/// warnings.add(r#"unknown field "spec.foo""#);
/// let mut headers = http::HeaderMap::new();
/// write_headers(&warnings, &mut headers);
/// let sent: Vec<_> = headers.get_all("warning").iter().collect();
/// assert_eq!(sent, [r#"299 - "unknown field \"spec.foo\"""#]);
/// ```
pub fn write_headers(warnings: &Warnings, headers: &mut HeaderMap) {
    for value in header_values(&warnings.texts()) {
        headers.append(header::WARNING, value);
    }
}

/// Replays kube's recorder over `texts`: each is written while the total fits; the first that
/// does not fit switches to truncation, which rewrites everything so far cut to
/// [`ITEM_LIMIT`]; once truncating, texts are added cut until the total is reached again.
fn header_values(texts: &[String]) -> Vec<HeaderValue> {
    let mut written = 0usize;
    let mut truncating = false;
    let mut out: Vec<HeaderValue> = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        if truncating && written >= TOTAL_LIMIT {
            break;
        }
        let (text, len) = if truncating {
            cut(text)
        } else {
            (text.clone(), text.chars().count())
        };
        let Some(value) = warning_value(&text) else {
            continue;
        };
        if truncating || written + len <= TOTAL_LIMIT {
            written += len;
            out.push(value);
            continue;
        }
        truncating = true;
        written = 0;
        out.clear();
        for earlier in &texts[..=i] {
            let (text, len) = cut(earlier);
            if let Some(value) = warning_value(&text) {
                written += len;
                out.push(value);
            }
        }
    }
    out
}

/// `text` cut to [`ITEM_LIMIT`] characters, with its length in characters.
fn cut(text: &str) -> (String, usize) {
    let cut: String = text.chars().take(ITEM_LIMIT).collect();
    let len = cut.chars().count();
    (cut, len)
}

/// kube's `NewWarningHeader(299, "-", text)`: code, the empty agent `-`, and the text quoted
/// with `"` and `\` escaped. Texts with control characters are not sent (kube refuses them).
fn warning_value(text: &str) -> Option<HeaderValue> {
    if text.chars().any(char::is_control) {
        return None;
    }
    let mut quoted = String::with_capacity(text.len() + 10);
    quoted.push_str("299 - \"");
    for c in text.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    HeaderValue::from_str(&quoted).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(warnings: &Warnings) -> Vec<String> {
        let mut headers = HeaderMap::new();
        write_headers(warnings, &mut headers);
        headers
            .get_all(header::WARNING)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn texts_are_quoted_deduplicated_and_kept_in_order() {
        let w = Warnings::default();
        w.add(r#"unknown field "b""#);
        w.add("");
        w.add(r"back\slash");
        w.clone().add(r#"unknown field "b""#);
        assert_eq!(
            sent(&w),
            [r#"299 - "unknown field \"b\"""#, r#"299 - "back\\slash""#]
        );
    }

    #[test]
    fn control_characters_are_not_sent() {
        let w = Warnings::default();
        w.add("line\nbreak");
        w.add("fine");
        assert_eq!(sent(&w), [r#"299 - "fine""#]);
    }

    #[test]
    fn past_the_total_every_text_is_cut_and_the_excess_dropped() {
        let w = Warnings::default();
        // 10 texts of 1000 characters: the fifth passes 4096, so everything is cut to 256
        // characters and texts are added until 4096 characters are written (16 would fit, but
        // there are only 10).
        for i in 0..10 {
            w.add(format!("{i}{}", "x".repeat(999)));
        }
        let values = sent(&w);
        assert_eq!(values.len(), 10);
        assert!(values.iter().all(|v| v.len() == "299 - \"\"".len() + 256));
        let w = Warnings::default();
        for i in 0..40 {
            w.add(format!("{i:02}{}", "y".repeat(298)));
        }
        // 16 cut texts reach 4096 exactly; the 17th is dropped.
        assert_eq!(sent(&w).len(), 16);
    }

    #[test]
    fn small_totals_are_sent_whole() {
        let w = Warnings::default();
        let long = "z".repeat(1000);
        w.add(long.clone());
        assert_eq!(sent(&w), [format!("299 - \"{long}\"")]);
    }
}

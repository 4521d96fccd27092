//! [`RedactedUrl`]: the one way a URL is rendered into a log line or an error message.
//!
//! A URL can carry secrets in two places: userinfo (`https://user:password@host`) and the query
//! (`?code=…&state=…`, `?access_token=…`). Rendering goes through here everywhere in copilot-rs, so neither
//! reaches a log or an error: userinfo becomes `***@`, every query value becomes `***` (the names stay, they
//! help debugging), and the fragment is dropped. Text that does not even parse as a URL (the input of an
//! "invalid URL" error) is redacted the same way, best effort, and shortened.
//!
//! [`excerpt`] is the one way a server's text (an error body, a header value) is quoted into an error: trimmed,
//! control characters replaced, length-limited.

use std::fmt;

/// The longest redacted rendering of unparseable text, in characters.
const MAX_TEXT: usize = 200;

/// Server text fit to quote in an error message: trimmed, every control character (a terminal escape
/// sequence, a newline that would forge a log line) replaced by a space, and cut after `max_chars`
/// characters, the cut marked with `…`.
///
/// ```
/// use copilot_http::redact::excerpt;
/// assert_eq!(excerpt("  bad\u{1b}[31mred\nline  ", 100), "bad [31mred line");
/// assert_eq!(excerpt("abcdef", 3), "abc…");
/// ```
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let trimmed = text.trim();
    let mut out = String::with_capacity(trimmed.len().min(max_chars.saturating_add(3)));
    for (count, c) in trimmed.chars().enumerate() {
        if count >= max_chars {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}

/// A JSON decode error described by its category and position only (`invalid JSON at line 1 column 9`):
/// serde_json's own message quotes the offending value, which in a credential file, a token envelope or a
/// saved conversation is what must not reach a log. The one wording every crate uses.
///
/// ```
/// let error = serde_json::from_str::<u32>("\"gho_secret\"").unwrap_err();
/// let text = copilot_http::redact::json_error(&error);
/// assert_eq!(text, "unexpected JSON structure at line 1 column 12");
/// assert!(!text.contains("gho_secret"));
/// ```
pub fn json_error(error: &serde_json::Error) -> String {
    let category = match error.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "unexpected JSON structure",
        serde_json::error::Category::Eof => "truncated JSON",
    };
    format!(
        "{category} at line {} column {}",
        error.line(),
        error.column()
    )
}

/// A URL (parsed or not) displayed without its secrets. See the [module docs](self).
///
/// ```
/// use copilot_http::redact::RedactedUrl;
/// let url = url::Url::parse("https://u:pw@api.example.com/path?code=abc&state=xyz#frag").unwrap();
/// assert_eq!(
///     RedactedUrl::url(&url).to_string(),
///     "https://***@api.example.com/path?code=***&state=***"
/// );
/// assert_eq!(
///     RedactedUrl::text("https://u:pw@exa mple/x").to_string(),
///     "https://***@exa mple/x"
/// );
/// ```
#[derive(Clone, Copy)]
pub struct RedactedUrl<'a>(Inner<'a>);

#[derive(Clone, Copy)]
enum Inner<'a> {
    Url(&'a url::Url),
    Uri(&'a http::Uri),
    Text(&'a str),
}

impl<'a> RedactedUrl<'a> {
    /// A parsed [`url::Url`].
    pub fn url(url: &'a url::Url) -> Self {
        RedactedUrl(Inner::Url(url))
    }

    /// A request's [`http::Uri`].
    pub fn uri(uri: &'a http::Uri) -> Self {
        RedactedUrl(Inner::Uri(uri))
    }

    /// Text meant as a URL, parseable or not (user input, a server-advertised value).
    pub fn text(text: &'a str) -> Self {
        RedactedUrl(Inner::Text(text))
    }
}

impl<'a> From<&'a url::Url> for RedactedUrl<'a> {
    fn from(url: &'a url::Url) -> Self {
        RedactedUrl::url(url)
    }
}

impl<'a> From<&'a http::Uri> for RedactedUrl<'a> {
    fn from(uri: &'a http::Uri) -> Self {
        RedactedUrl::uri(uri)
    }
}

impl fmt::Display for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Inner::Url(url) => {
                write!(f, "{}://", url.scheme())?;
                if !url.username().is_empty() || url.password().is_some() {
                    f.write_str("***@")?;
                }
                if let Some(host) = url.host_str() {
                    f.write_str(host)?;
                }
                if let Some(port) = url.port() {
                    write!(f, ":{port}")?;
                }
                f.write_str(url.path())?;
                write_query(f, url.query())
            }
            Inner::Uri(uri) => {
                if let Some(scheme) = uri.scheme_str() {
                    write!(f, "{scheme}://")?;
                }
                if let Some(authority) = uri.authority() {
                    if authority.as_str().contains('@') {
                        f.write_str("***@")?;
                    }
                    f.write_str(authority.host())?;
                    if let Some(port) = authority.port_u16() {
                        write!(f, ":{port}")?;
                    }
                }
                f.write_str(uri.path())?;
                write_query(f, uri.query())
            }
            Inner::Text(text) => write_text(f, text),
        }
    }
}

impl fmt::Debug for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// `?name=***&…`, names kept and percent-encoded text left as it is.
fn write_query(f: &mut fmt::Formatter<'_>, query: Option<&str>) -> fmt::Result {
    let Some(query) = query else {
        return Ok(());
    };
    f.write_str("?")?;
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            f.write_str("&")?;
        }
        match pair.split_once('=') {
            Some((name, _)) => write!(f, "{}=***", Printable(name))?,
            None => write!(f, "{}", Printable(pair))?,
        }
    }
    Ok(())
}

/// Unparseable text: userinfo, query and fragment redacted as above, control characters escaped, shortened.
fn write_text(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    let text = text.trim();
    let (before_fragment, _) = text.split_once('#').unwrap_or((text, ""));
    let (before_query, query) = match before_fragment.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (before_fragment, None),
    };
    let (scheme, rest) = match before_query.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, before_query),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let mut out = String::new();
    if let Some(scheme) = scheme {
        out.push_str(scheme);
        out.push_str("://");
    }
    match authority.rsplit_once('@') {
        Some((_, host)) => {
            out.push_str("***@");
            out.push_str(host);
        }
        None => out.push_str(authority),
    }
    out.push_str(path);
    let mut shown: String = out.chars().take(MAX_TEXT).collect();
    if shown.len() < out.len() {
        shown.push('…');
    }
    write!(f, "{}", Printable(&shown))?;
    write_query(f, query)
}

/// Escapes control characters (a terminal escape sequence must not reach a log viewer).
struct Printable<'a>(&'a str);

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_and_query_values_never_show() {
        let cases = [
            (
                "https://user:secret@example.com:8443/a/b?token=secret&x",
                "https://***@example.com:8443/a/b?token=***&x",
            ),
            ("https://user@example.com/", "https://***@example.com/"),
            ("https://example.com/", "https://example.com/"),
            ("http://127.0.0.1:4000/x#secret", "http://127.0.0.1:4000/x"),
        ];
        for (input, expected) in cases {
            let url = url::Url::parse(input).unwrap();
            assert_eq!(RedactedUrl::url(&url).to_string(), expected, "{input}");
            let uri: http::Uri = url.as_str().parse().unwrap();
            assert_eq!(
                RedactedUrl::uri(&uri).to_string(),
                expected,
                "{input} as a Uri"
            );
            assert_eq!(
                RedactedUrl::text(input).to_string(),
                expected,
                "{input} as text"
            );
        }
    }

    #[test]
    fn unparseable_text_is_redacted_and_escaped() {
        assert_eq!(
            RedactedUrl::text("https://a:b@c@host name/\u{1b}[31m?k=v").to_string(),
            "https://***@host name/\\u{1b}[31m?k=***"
        );
        assert_eq!(RedactedUrl::text("u:p@host").to_string(), "***@host");
        let long = format!("https://{}", "x".repeat(500));
        assert_eq!(RedactedUrl::text(&long).to_string().chars().count(), 201);
    }
}

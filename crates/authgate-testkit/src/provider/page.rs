//! The HTML pages: sign-in, refusal and signed-out. Plain HTML, no script.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::oauth::{Params, no_store};
use crate::TestUser;

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>\n\
         body {{ font-family: system-ui, sans-serif; max-width: 28rem; margin: 4rem auto; padding: 0 1rem; }}\n\
         button {{ display: block; width: 100%; margin: .5rem 0; padding: .75rem; font-size: 1rem; cursor: pointer; }}\n\
         .muted {{ color: #666; font-size: .875rem; }}\n\
         </style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        title = escape(title),
    );
    let mut response = no_store((status, Html(html)).into_response());
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    response
        .headers_mut()
        .insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// The sign-in page: one `<form method="post">` carrying the request's parameters
/// as hidden fields, one submit button per user (`name="sub"`, `id="login-<sub>"`,
/// `data-sub="<sub>"`) and a cancel button (`id="cancel"`).
pub(crate) fn sign_in(
    action: &str,
    client_id: &str,
    request: &Params,
    users: &[TestUser],
) -> Response {
    let mut body = String::from("<h1>Sign in</h1>\n");
    body.push_str(&format!(
        "<p class=\"muted\">authgate-testkit test issuer &middot; application <code>{}</code></p>\n",
        escape(client_id)
    ));
    body.push_str(&format!(
        "<form method=\"post\" action=\"{}\">\n",
        escape(action)
    ));
    for (name, value) in request.pairs() {
        body.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            escape(name),
            escape(value)
        ));
    }
    if users.is_empty() {
        body.push_str("<p>No users are configured for this issuer.</p>\n");
    }
    for user in users {
        let sub = escape(user.sub());
        let detail = user
            .email_address()
            .map(|email| format!(" <span class=\"muted\">{}</span>", escape(email)))
            .unwrap_or_default();
        body.push_str(&format!(
            "<button type=\"submit\" name=\"sub\" value=\"{sub}\" id=\"login-{sub}\" data-sub=\"{sub}\">{}{detail}</button>\n",
            escape(user.label()),
        ));
    }
    body.push_str(
        "<button type=\"submit\" name=\"cancel\" value=\"1\" id=\"cancel\" class=\"muted\">Cancel</button>\n</form>\n",
    );
    page(StatusCode::OK, "Sign in", &body)
}

/// A request refused without a redirect (400): the redirect URI cannot be trusted.
pub(crate) fn refused(description: &str) -> Response {
    let body = format!(
        "<h1>Request refused</h1>\n<p id=\"error\">{}</p>\n",
        escape(description)
    );
    page(StatusCode::BAD_REQUEST, "Request refused", &body)
}

/// The page after an end-session request without a post-logout redirect.
pub(crate) fn signed_out() -> Response {
    page(
        StatusCode::OK,
        "Signed out",
        "<h1>Signed out</h1>\n<p id=\"signed-out\">You have been signed out.</p>\n",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_both_quotes() {
        assert_eq!(
            escape(r#"<a href="x" title='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }
}

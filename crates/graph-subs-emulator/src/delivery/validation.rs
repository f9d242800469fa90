//! Endpoint validation: the request Graph sends to a notification or lifecycle URL
//! before it stores a subscription, and what the answer must be.

use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderValue};

use super::send::describe;

/// The most of a validation answer the emulator reads: far more than any token.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// A fresh validation token: opaque text in the form Graph's take, unique per request.
pub(crate) fn token() -> String {
    format!(
        "Validation: Testing client application reachability for subscription Request-Id: {}",
        uuid::Uuid::new_v4()
    )
}

/// `{url}?validationToken={token}`, or `&validationToken=` when the URL has a query; the
/// token URL-encoded as a form value (spaces as `+`, as Graph writes them). A fragment is
/// not sent.
pub(crate) fn request_url(url: &str, token: &str) -> String {
    let url = url.split_once('#').map_or(url, |(before, _)| before);
    let separator = match url.split_once('?') {
        None => "?",
        Some((_, "")) => "",
        Some((_, query)) if query.ends_with('&') => "",
        Some(_) => "&",
    };
    let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
    format!("{url}{separator}validationToken={encoded}")
}

/// How a validation request went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// The status the endpoint answered, when it answered in time.
    pub(crate) status: Option<u16>,
    /// Why the endpoint failed validation; `None` when it passed.
    pub(crate) failure: Option<Failure>,
    /// How long it took.
    pub(crate) duration: Duration,
}

/// Why an endpoint failed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// No complete answer within the validation timeout.
    TimedOut,
    /// An answer other than 200 with the token, or no answer at all: why, without the
    /// URL.
    Refused(String),
}

/// POSTs the validation request to `url` (the endpoint as written) and checks the
/// answer: 200, and a body that is exactly the token.
pub(crate) async fn call(client: &reqwest::Client, url: &str, timeout: Duration) -> Outcome {
    let token = token();
    let started = Instant::now();
    let exchange = async {
        let response = client
            .post(request_url(url, &token))
            .header(CONTENT_TYPE, HeaderValue::from_static("text/plain"))
            .send()
            .await
            .map_err(|e| (None, describe(e)))?;
        let status = response.status().as_u16();
        let text_plain = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("text/plain"));
        let body = read_limited(response)
            .await
            .map_err(|e| (Some(status), e))?;
        Ok::<_, (Option<u16>, String)>((status, text_plain, body))
    };
    let (status, failure) = match tokio::time::timeout(timeout, exchange).await {
        Err(_) => (None, Some(Failure::TimedOut)),
        Ok(Err((status, why))) => (status, Some(Failure::Refused(why))),
        Ok(Ok((status, text_plain, body))) => {
            let failure = if status != 200 {
                Some(Failure::Refused(format!(
                    "the endpoint answered {status}, not 200"
                )))
            } else if body != token.as_bytes() {
                Some(Failure::Refused(
                    "the body of the answer is not the validation token (send the decoded `validationToken` query value, nothing else)".to_owned(),
                ))
            } else {
                if !text_plain {
                    // Graph documents `text/plain`; whether it refuses other types is not
                    // documented, so the emulator accepts and says so.
                    tracing::warn!(
                        "a validation answer without `Content-Type: text/plain`: Graph documents text/plain"
                    );
                }
                None
            };
            (Some(status), failure)
        }
    };
    Outcome {
        status,
        failure,
        duration: started.elapsed(),
    }
}

/// The body, when it is no larger than [`MAX_ANSWER_BYTES`].
async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(format!(
                "the answer is longer than {MAX_ANSWER_BYTES} bytes: not the validation token"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_goes_in_the_query_encoded() {
        let check = |url: &str, expected: &str| {
            assert_eq!(request_url(url, "a b:c&d"), expected, "{url}");
        };
        check(
            "https://h.example.com/n",
            "https://h.example.com/n?validationToken=a+b%3Ac%26d",
        );
        check(
            "https://h.example.com/n?code=x",
            "https://h.example.com/n?code=x&validationToken=a+b%3Ac%26d",
        );
        check(
            "https://h.example.com/n?",
            "https://h.example.com/n?validationToken=a+b%3Ac%26d",
        );
        check(
            "https://h.example.com/n?code=x&",
            "https://h.example.com/n?code=x&validationToken=a+b%3Ac%26d",
        );
        check(
            "https://h.example.com/n#top",
            "https://h.example.com/n?validationToken=a+b%3Ac%26d",
        );
        let token = token();
        assert!(token.starts_with(
            "Validation: Testing client application reachability for subscription Request-Id: "
        ));
        assert_ne!(token, super::token());
    }
}

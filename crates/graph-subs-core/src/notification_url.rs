//! `notificationUrl` and `lifecycleNotificationUrl`: where Graph delivers notifications.
//!
//! Graph documents three forms: a webhook (`https://host/path`), an Azure Event Hubs
//! destination (`EventHub:https://namespace.servicebus.windows.net/eventhubname/hub?tenantId=...`)
//! and an Azure Event Grid partner topic (`EventGrid:?azuresubscriptionid=...&resourcegroup=...&partnertopic=...&location=...`).
//! [`NotificationUrl::parse`] reads them with the `url` crate (WHATWG parsing, IDNA,
//! ports), keeps the text exactly as written (that is what goes on the wire), and
//! [`NotificationUrl::findings`] says what Graph would refuse or could not reach:
//! plain HTTP, loopback, private, link-local and unspecified addresses, credentials in
//! the URL.
//!
//! A URL may carry secrets: user-info (`https://admin:password@host`) and query values
//! (Azure Functions keys, `?code=...`). [`NotificationUrl`]'s `Display` and `Debug` show
//! it redacted (`https://***@host/path?code=***`), and so does every message of this crate;
//! [`NotificationUrl::as_str`] gives the text itself, for the request.
//!
//! ```
//! use graph_subs_core::notification_url::{Finding, NotificationUrl};
//!
//! let url = NotificationUrl::parse("https://admin:hunter2@hooks.example.com/graph?code=s3cret")?;
//! assert_eq!(url.to_string(), "https://***@hooks.example.com/graph?code=***");
//! assert_eq!(url.as_str(), "https://admin:hunter2@hooks.example.com/graph?code=s3cret");
//! assert_eq!(url.findings(), [Finding::Credentials]);
//!
//! let local = NotificationUrl::parse("http://127.0.0.1:7071/api/notify")?;
//! assert_eq!(local.findings(), [Finding::NotHttps { scheme: "http".into() }, Finding::Loopback]);
//! # Ok::<(), graph_subs_core::notification_url::UrlError>(())
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::{Host, Url};

use crate::quote;

/// A notification or lifecycle URL in one of Graph's three forms.
///
/// It keeps only the text (24 bytes and the text itself): a store of a million
/// subscriptions holds two of these each, and a parsed [`Url`] would add about 100 bytes
/// and a second copy of the text. [`NotificationUrl::url`] parses again when asked; the
/// text was parsed once already, so that cannot fail.
#[derive(Clone, PartialEq, Eq)]
pub struct NotificationUrl {
    raw: Box<str>,
    form: Form,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Webhook,
    /// `EventHub:` and then the namespace's URL.
    EventHub,
    EventGrid,
}

/// How Graph delivers to a [`NotificationUrl`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// An HTTPS POST to the URL.
    Webhook,
    /// Azure Event Hubs (`EventHub:https://...`).
    EventHub,
    /// An Azure Event Grid partner topic (`EventGrid:?...`).
    EventGrid,
}

/// Why a text is not a notification URL. Messages show the URL redacted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Nothing at all.
    #[error("the URL is empty")]
    Empty,
    /// Spaces or line breaks before or after the URL (URL parsers drop them silently).
    #[error("`{0}` has white space before or after it")]
    SurroundingWhitespace(String),
    /// A character that shows as nothing (URL parsers drop some of them silently).
    #[error("`{redacted}` contains {}", describe(*.found))]
    InvisibleCharacter {
        /// The URL, redacted.
        redacted: String,
        /// The character.
        found: char,
    },
    /// `webhook.example.com/notify`, `https:/host`: no `scheme://`.
    #[error("`{0}` is not an absolute URL")]
    NotAbsolute(String),
    /// `https:///path`, `https://`: nothing between `//` and the path.
    #[error("`{0}` has no host")]
    NoHost(String),
    /// `https://a..example.com`: an empty label in the host name.
    #[error("`{0}` has an empty label in its host name")]
    EmptyLabel(String),
    /// A port out of range, a space in the host, an invalid IPv6 address...
    #[error("`{redacted}` is not a valid URL: {reason}")]
    Invalid {
        /// The URL, redacted.
        redacted: String,
        /// What the URL parser found.
        reason: String,
    },
}

impl UrlError {
    /// How to fix it.
    pub fn hint(&self) -> String {
        match self {
            UrlError::Empty | UrlError::NotAbsolute(_) | UrlError::NoHost(_) => {
                "write it as `https://host/path`".into()
            }
            UrlError::SurroundingWhitespace(_) => "remove the spaces around the URL".into(),
            UrlError::InvisibleCharacter { found, .. } => {
                format!("delete {}: retype the URL", describe(*found))
            }
            UrlError::EmptyLabel(_) => {
                "remove the doubled, leading or trailing `.` from the host name".into()
            }
            UrlError::Invalid { .. } => {
                "check the host name and the port (1 to 65535), and percent-encode spaces".into()
            }
        }
    }
}

fn describe(c: char) -> String {
    match quote::describe(c) {
        Some(s) => s.to_string(),
        None => format!("the control character U+{:04X}", u32::from(c)),
    }
}

/// Something about a well-formed URL that Graph refuses, or that keeps notifications
/// from arriving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Graph delivers only over HTTPS (the emulator also accepts `http://` on loopback).
    NotHttps {
        /// The scheme written.
        scheme: String,
    },
    /// `localhost`, `127.0.0.0/8`, `::1` (also IPv4-mapped): this machine; Graph cannot
    /// reach it, the local emulator can.
    Loopback,
    /// A private address (`10/8`, `172.16/12`, `192.168/16`, `100.64/10`, `fc00::/7`):
    /// reachable inside one network, not from Graph.
    Private,
    /// A link-local address (`169.254/16`, `fe80::/10`).
    LinkLocal,
    /// `0.0.0.0`, `::`, a multicast or broadcast address: no one can be reached there.
    Unreachable {
        /// Which kind of address.
        what: &'static str,
    },
    /// User-info in the URL: List returns `notificationUrl` to every caller who can see
    /// the subscription, so these credentials would be exposed.
    Credentials,
    /// A `#fragment`: Graph does not send it.
    Fragment,
    /// An `EventGrid:` URL without one of its parameters.
    EventGridParameterMissing {
        /// The parameter.
        name: &'static str,
    },
}

/// The parameters an `EventGrid:?...` URL needs.
pub const EVENT_GRID_PARAMETERS: [&str; 4] = [
    "azuresubscriptionid",
    "resourcegroup",
    "partnertopic",
    "location",
];

const EVENT_HUB: &str = "EventHub:";
const EVENT_GRID: &str = "EventGrid:";

impl NotificationUrl {
    /// Parses a notification URL in any of Graph's forms.
    pub fn parse(text: &str) -> Result<NotificationUrl, UrlError> {
        if text.is_empty() {
            return Err(UrlError::Empty);
        }
        if text.trim() != text {
            return Err(UrlError::SurroundingWhitespace(redact(text.trim())));
        }
        if let Some(found) = text
            .chars()
            .find(|&c| c.is_control() || quote::is_invisible(c))
        {
            return Err(UrlError::InvisibleCharacter {
                redacted: redact(text),
                found,
            });
        }
        let form = if let Some(rest) = strip_prefix_ignore_case(text, EVENT_GRID) {
            if !rest.starts_with('?') {
                return Err(UrlError::NotAbsolute(redact(text)));
            }
            Form::EventGrid
        } else if let Some(rest) = strip_prefix_ignore_case(text, EVENT_HUB) {
            parse_absolute(rest, text)?;
            Form::EventHub
        } else {
            parse_absolute(text, text)?;
            Form::Webhook
        };
        Ok(NotificationUrl {
            raw: text.into(),
            form,
        })
    }

    /// The URL exactly as written: what the request carries. It may hold secrets; show
    /// the `Display` form to people.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// How Graph delivers to it.
    pub fn delivery(&self) -> Delivery {
        match self.form {
            Form::Webhook => Delivery::Webhook,
            Form::EventHub => Delivery::EventHub,
            Form::EventGrid => Delivery::EventGrid,
        }
    }

    /// The HTTP URL of a webhook or an Event Hubs namespace, parsed again from the text;
    /// `None` for Event Grid.
    pub fn url(&self) -> Option<Url> {
        let text = match self.form {
            Form::Webhook => &self.raw[..],
            Form::EventHub => &self.raw[EVENT_HUB.len()..],
            Form::EventGrid => return None,
        };
        // `parse` accepted this very text, and URL parsing is deterministic.
        Url::parse(text).ok()
    }

    /// The URL with its user-info and query values replaced by `***`.
    pub fn redacted(&self) -> String {
        redact(&self.raw)
    }

    /// Everything Graph would refuse or could not reach, in a stable order.
    pub fn findings(&self) -> Vec<Finding> {
        self.url_and_findings().1
    }

    /// [`NotificationUrl::url`] and [`NotificationUrl::findings`] from one parse.
    pub(crate) fn url_and_findings(&self) -> (Option<Url>, Vec<Finding>) {
        let mut found = Vec::new();
        if self.form == Form::EventGrid {
            let query = self.raw.split_once('?').map_or("", |(_, q)| q);
            for name in EVENT_GRID_PARAMETERS {
                let given = query.split('&').any(|p| {
                    p.split_once('=')
                        .is_some_and(|(n, v)| n.eq_ignore_ascii_case(name) && !v.is_empty())
                });
                if !given {
                    found.push(Finding::EventGridParameterMissing { name });
                }
            }
            return (None, found);
        }
        let Some(url) = self.url() else {
            return (None, found);
        };
        if url.scheme() != "https" {
            found.push(Finding::NotHttps {
                scheme: url.scheme().to_owned(),
            });
        }
        found.extend(url.host().and_then(host_finding));
        if !url.username().is_empty() || url.password().is_some() {
            found.push(Finding::Credentials);
        }
        if url.fragment().is_some() {
            found.push(Finding::Fragment);
        }
        (Some(url), found)
    }

    /// Whether the host is this machine.
    pub fn is_loopback(&self) -> bool {
        self.findings().contains(&Finding::Loopback)
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// Parses `text` as an absolute `scheme://host...` URL; `whole` is what messages show.
fn parse_absolute(text: &str, whole: &str) -> Result<Url, UrlError> {
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err(UrlError::NotAbsolute(redact(whole)));
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return Err(UrlError::NotAbsolute(redact(whole)));
    }
    if rest.is_empty() || rest.starts_with(['/', '?', '#']) {
        return Err(UrlError::NoHost(redact(whole)));
    }
    let url = Url::parse(text).map_err(|e| match e {
        url::ParseError::EmptyHost => UrlError::NoHost(redact(whole)),
        other => UrlError::Invalid {
            redacted: redact(whole),
            reason: other.to_string(),
        },
    })?;
    match url.host() {
        None => return Err(UrlError::NoHost(redact(whole))),
        Some(Host::Domain(domain)) => {
            let domain = domain.strip_suffix('.').unwrap_or(domain);
            if domain.split('.').any(str::is_empty) {
                return Err(UrlError::EmptyLabel(redact(whole)));
            }
        }
        Some(_) => {}
    }
    Ok(url)
}

/// What a host is, for Graph: `localhost` (and its subdomains) and loopback addresses
/// are this machine; some addresses Graph cannot reach; `None` for any other.
pub fn host_finding(host: Host<&str>) -> Option<Finding> {
    match host {
        Host::Domain(domain) => {
            let domain = domain.trim_end_matches('.').to_ascii_lowercase();
            (domain == "localhost" || domain.ends_with(".localhost")).then_some(Finding::Loopback)
        }
        Host::Ipv4(ip) => classify(IpAddr::V4(ip)),
        Host::Ipv6(ip) => classify(IpAddr::V6(ip)),
    }
}

/// Whether `host` is this machine: the one rule for notification URLs and for anything
/// else that asks (is a service root an emulator on this machine?).
pub fn is_loopback_host(host: Host<&str>) -> bool {
    host_finding(host) == Some(Finding::Loopback)
}

/// What an IP address is, for Graph.
fn classify(ip: IpAddr) -> Option<Finding> {
    let ip = match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Finding> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some(Finding::Loopback)
    } else if ip.is_unspecified() {
        Some(Finding::Unreachable {
            what: "the unspecified address",
        })
    } else if ip.is_broadcast() {
        Some(Finding::Unreachable {
            what: "the broadcast address",
        })
    } else if ip.is_multicast() {
        Some(Finding::Unreachable {
            what: "a multicast address",
        })
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        Some(Finding::Private)
    } else if ip.is_link_local() {
        Some(Finding::LinkLocal)
    } else {
        None
    }
}

fn classify_v6(ip: Ipv6Addr) -> Option<Finding> {
    if ip.is_loopback() {
        Some(Finding::Loopback)
    } else if ip.is_unspecified() {
        Some(Finding::Unreachable {
            what: "the unspecified address",
        })
    } else if ip.is_multicast() {
        Some(Finding::Unreachable {
            what: "a multicast address",
        })
    } else if ip.is_unique_local() {
        Some(Finding::Private)
    } else if ip.is_unicast_link_local() {
        Some(Finding::LinkLocal)
    } else {
        None
    }
}

/// `text` with user-info, query values and the fragment replaced by `***`, shortened for
/// a message. Works on any text, URL or not, so that even a URL that does not parse is
/// never quoted with its secrets (see [`crate::quote::redact_url`]).
pub fn redact(text: &str) -> String {
    crate::quote::redact_url(text, URL_SHOWN)
}

/// How many characters of a URL a message shows: more than of other values, since the
/// host and path are what a reader needs.
const URL_SHOWN: usize = 200;

impl fmt::Display for NotificationUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for NotificationUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NotificationUrl({:?})", self.redacted())
    }
}

impl std::str::FromStr for NotificationUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NotificationUrl::parse(s)
    }
}

impl Serialize for NotificationUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for NotificationUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        // The error names what is wrong with the URL, redacted: never the URL itself.
        NotificationUrl::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_is_the_http_url_of_each_form() {
        let webhook = NotificationUrl::parse("https://Example.com:8443/api/notify?code=k").unwrap();
        let url = webhook.url().unwrap();
        assert_eq!(url.host_str(), Some("example.com"));
        assert_eq!(url.port(), Some(8443));
        assert_eq!(
            webhook.as_str(),
            "https://Example.com:8443/api/notify?code=k"
        );

        let hub = NotificationUrl::parse(
            "EventHub:https://ns.servicebus.windows.net/eventhubname/hub?tenantId=contoso.com",
        )
        .unwrap();
        assert_eq!(hub.delivery(), Delivery::EventHub);
        let url = hub.url().unwrap();
        assert_eq!(url.scheme(), "https");
        assert_eq!(url.host_str(), Some("ns.servicebus.windows.net"));
        assert_eq!(url.path(), "/eventhubname/hub");

        let grid = NotificationUrl::parse(
            "EventGrid:?azuresubscriptionid=s&resourcegroup=g&partnertopic=t&location=l",
        )
        .unwrap();
        assert_eq!(grid.url(), None);
    }

    #[test]
    fn one_rule_says_which_hosts_are_this_machine() {
        let host = |u: &str| Url::parse(u).unwrap().host().map(|h| is_loopback_host(h));
        for local in [
            "http://localhost:8080/v1.0",
            "http://LOCALHOST./v1.0",
            "http://api.localhost/",
            "http://127.0.0.1:8080/v1.0",
            "http://127.8.9.10/",
            "http://[::1]:8080/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            assert_eq!(host(local), Some(true), "{local}");
        }
        for remote in [
            "https://graph.microsoft.com/v1.0",
            "http://127.example.com/",
            "http://10.0.0.1/",
            "http://0.0.0.0/",
        ] {
            assert_eq!(host(remote), Some(false), "{remote}");
        }
    }

    /// A store of a million subscriptions holds two of these each (docs/performance.md).
    #[test]
    fn a_notification_url_is_its_text_and_a_tag() {
        assert!(std::mem::size_of::<NotificationUrl>() <= 24);
        assert!(std::mem::size_of::<Option<NotificationUrl>>() <= 24);
    }

    fn findings(text: &str) -> Vec<Finding> {
        NotificationUrl::parse(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .findings()
    }

    #[test]
    fn classifies_hosts_with_the_standard_library() {
        let loopback = [
            "https://localhost/hook",
            "https://LOCALHOST./hook",
            "https://api.localhost/hook",
            "https://127.0.0.1/hook",
            "https://127.1.2.3:8443/hook",
            "https://0x7f.1/hook",
            "https://[::1]/hook",
            "https://[::ffff:127.0.0.1]/hook",
        ];
        for url in loopback {
            assert_eq!(findings(url), [Finding::Loopback], "{url}");
        }
        let public = [
            "https://127.example.com/hook",
            "https://webhook.azurewebsites.net/api/send/myNotifyClient",
            "https://example.com./hook",
            "https://xn--e1afmkfd.xn--p1ai/hook",
            "https://[2001:db8::1]/hook",
        ];
        for url in public {
            assert_eq!(findings(url), [], "{url}");
        }
        for url in [
            "https://10.1.2.3/",
            "https://172.20.0.1/",
            "https://192.168.1.1/",
            "https://100.64.0.1/",
            "https://[fd00::1]/",
        ] {
            assert_eq!(findings(url), [Finding::Private], "{url}");
        }
        for url in ["https://169.254.169.254/", "https://[fe80::1]/"] {
            assert_eq!(findings(url), [Finding::LinkLocal], "{url}");
        }
        for (url, what) in [
            ("https://0.0.0.0/", "the unspecified address"),
            ("https://[::]/", "the unspecified address"),
            ("https://255.255.255.255/", "the broadcast address"),
            ("https://224.0.0.1/", "a multicast address"),
            ("https://[::ffff:0.0.0.0]/", "the unspecified address"),
        ] {
            assert_eq!(findings(url), [Finding::Unreachable { what }], "{url}");
        }
        assert_eq!(
            findings("http://webhook.example.com/x#top"),
            [
                Finding::NotHttps {
                    scheme: "http".into()
                },
                Finding::Fragment
            ]
        );
    }

    #[test]
    fn refuses_what_graph_cannot_call() {
        type Expected = fn(&UrlError) -> bool;
        let cases: [(&str, Expected); 10] = [
            ("", |e| matches!(e, UrlError::Empty)),
            (" https://example.com/", |e| {
                matches!(e, UrlError::SurroundingWhitespace(_))
            }),
            ("https://exa\u{200b}mple.com/", |e| {
                matches!(
                    e,
                    UrlError::InvisibleCharacter {
                        found: '\u{200b}',
                        ..
                    }
                )
            }),
            ("webhook.example.com/notify", |e| {
                matches!(e, UrlError::NotAbsolute(_))
            }),
            ("https:/webhook.example.com", |e| {
                matches!(e, UrlError::NotAbsolute(_))
            }),
            ("https:///path", |e| matches!(e, UrlError::NoHost(_))),
            ("https://a..example.com/", |e| {
                matches!(e, UrlError::EmptyLabel(_))
            }),
            ("https://.example.com/", |e| {
                matches!(e, UrlError::EmptyLabel(_))
            }),
            ("https://example.com:99999/", |e| {
                matches!(e, UrlError::Invalid { .. })
            }),
            ("https://exa mple.com/", |e| {
                matches!(e, UrlError::Invalid { .. })
            }),
        ];
        for (text, expected) in cases {
            let e = NotificationUrl::parse(text).expect_err(text);
            assert!(expected(&e), "{text}: {e:?}");
            assert!(!e.hint().is_empty());
        }
    }

    #[test]
    fn reads_the_three_documented_forms() {
        let hub = NotificationUrl::parse(
            "EventHub:https://ns.servicebus.windows.net/eventhubname/hub?tenantId=contoso.com",
        )
        .unwrap();
        assert_eq!(hub.delivery(), Delivery::EventHub);
        assert_eq!(hub.findings(), []);
        let grid = NotificationUrl::parse(
            "EventGrid:?azuresubscriptionid=8aa&resourcegroup=rg&partnertopic=t&location=westus",
        )
        .unwrap();
        assert_eq!(grid.delivery(), Delivery::EventGrid);
        assert_eq!(grid.findings(), []);
        let partial =
            NotificationUrl::parse("EventGrid:?azuresubscriptionid=8aa&location=").unwrap();
        assert_eq!(
            partial.findings(),
            [
                Finding::EventGridParameterMissing {
                    name: "resourcegroup"
                },
                Finding::EventGridParameterMissing {
                    name: "partnertopic"
                },
                Finding::EventGridParameterMissing { name: "location" },
            ]
        );
    }

    #[test]
    fn secrets_never_reach_a_message() {
        let secret = "CANARY-7f3a";
        let texts = [
            format!("https://admin:{secret}@hooks.example.com/p?code={secret}"),
            format!("https://{secret}@hooks.example.com/"),
            format!("https://hooks.example.com/p?{secret}"),
            format!("https://hooks.example.com/p#{secret}"),
            format!("https://admin:{secret}@exa mple.com/p?code={secret}"),
            format!("https://admin:{secret}@/p"),
            format!(" https://admin:{secret}@example.com "),
            format!("https://admin:{secret}@exa\u{200b}mple.com"),
            format!("admin:{secret}@example.com/?code={secret}"),
            format!("https://user:pa/{secret}@host.example.com/"),
            format!("https://user:pa#{secret}@host.example.com/"),
            format!("https://user:pa?{secret}@host.example.com/"),
            format!("user:{secret}@https://host.example.com/"),
            format!("EventHub:https://admin:{secret}@ns.servicebus.windows.net/?tenantId={secret}"),
        ];
        for text in &texts {
            let shown = match NotificationUrl::parse(text) {
                Ok(url) => format!("{url} {url:?} {}", url.redacted()),
                Err(e) => format!("{e} {e:?} {}", e.hint()),
            };
            assert!(!shown.contains(secret), "{text} → {shown}");
        }
        assert_eq!(
            redact("https://u:p@h.example.com/a/b?code=x&flag&y=2#frag"),
            "https://***@h.example.com/a/b?code=***&***&y=***#***"
        );
        assert_eq!(
            redact("https://user:pa/ss@host.example.com/"),
            "https://***@host.example.com/"
        );
    }

    #[test]
    fn keeps_the_text_as_written() {
        let text = "https://Webhook.Example.com:443/api/Send?x=1";
        let url = NotificationUrl::parse(text).unwrap();
        assert_eq!(url.as_str(), text);
        assert_eq!(serde_json::to_string(&url).unwrap(), format!("\"{text}\""));
        let back: NotificationUrl = serde_json::from_str(&format!("\"{text}\"")).unwrap();
        assert_eq!(back, url);
        let e = serde_json::from_str::<NotificationUrl>("\"https://u:CANARY@/x\"").unwrap_err();
        assert!(!e.to_string().contains("CANARY"), "{e}");
    }
}

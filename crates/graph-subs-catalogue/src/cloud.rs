//! National clouds: where Graph and its token authority live, and what each supports.
//!
//! Subscription create, update, delete, list and reauthorize exist in all four clouds;
//! a few resources do not (todoTask webhooks exist only in the global service). Which
//! clouds a resource kind supports is data in the catalogue
//! ([`crate::catalogue::KindSpec::clouds`]).

use std::fmt;
use std::str::FromStr;

use crate::catalogue::ResourceKind;

/// A Microsoft Graph deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cloud {
    /// The global service.
    Global,
    /// US Government L4.
    UsGovL4,
    /// US Government L5 (DOD).
    UsGovL5,
    /// China, operated by 21Vianet.
    China,
}

/// Every cloud.
pub const ALL_CLOUDS: &[Cloud] = &[Cloud::Global, Cloud::UsGovL4, Cloud::UsGovL5, Cloud::China];
/// The global service only.
pub const GLOBAL_ONLY: &[Cloud] = &[Cloud::Global];

impl Cloud {
    /// The command-line spelling: `global`, `usgov-l4`, `usgov-l5`, `china`.
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::UsGovL4 => "usgov-l4",
            Cloud::UsGovL5 => "usgov-l5",
            Cloud::China => "china",
        }
    }

    /// The name in words.
    pub fn title(self) -> &'static str {
        match self {
            Cloud::Global => "Global service",
            Cloud::UsGovL4 => "US Government L4",
            Cloud::UsGovL5 => "US Government L5 (DOD)",
            Cloud::China => "China operated by 21Vianet",
        }
    }

    /// The Microsoft Graph root.
    pub fn graph_root(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com",
            Cloud::UsGovL4 => "https://graph.microsoft.us",
            Cloud::UsGovL5 => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    /// The token authority.
    pub fn login_root(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::UsGovL4 | Cloud::UsGovL5 => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    /// Whether subscriptions on `kind` can be created in this cloud.
    pub fn supports(self, kind: ResourceKind) -> bool {
        kind.spec().clouds.contains(&self)
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no cloud.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown cloud `{0}`: expected one of global, usgov-l4, usgov-l5, china")]
pub struct UnknownCloud(pub String);

impl FromStr for Cloud {
    type Err = UnknownCloud;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL_CLOUDS
            .iter()
            .copied()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownCloud(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_per_cloud() {
        let cases = [
            (
                "global",
                "https://graph.microsoft.com",
                "https://login.microsoftonline.com",
            ),
            (
                "usgov-l4",
                "https://graph.microsoft.us",
                "https://login.microsoftonline.us",
            ),
            (
                "usgov-l5",
                "https://dod-graph.microsoft.us",
                "https://login.microsoftonline.us",
            ),
            (
                "china",
                "https://microsoftgraph.chinacloudapi.cn",
                "https://login.chinacloudapi.cn",
            ),
        ];
        for (name, graph, login) in cases {
            let cloud: Cloud = name.parse().unwrap();
            assert_eq!((cloud.graph_root(), cloud.login_root()), (graph, login));
            assert_eq!(cloud.as_str(), name);
        }
        assert_eq!("mars".parse::<Cloud>(), Err(UnknownCloud("mars".into())));
    }

    #[test]
    fn todo_tasks_exist_only_in_the_global_cloud() {
        let todo = ResourceKind::from_name("todoTask").unwrap();
        let mail = ResourceKind::from_name("message").unwrap();
        for &cloud in ALL_CLOUDS {
            assert_eq!(cloud.supports(todo), cloud == Cloud::Global, "{cloud}");
            assert!(cloud.supports(mail), "{cloud}");
        }
    }
}

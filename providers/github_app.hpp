#pragma once
// provider = github-app: a GitHub App's installation access token (docs/github.md). The App signs
// a short JWT with its private key (RS256), finds its installation when the profile names a
// repository, organization or user instead of its id, and exchanges the JWT for an installation
// token, optionally narrowed to some repositories and permissions.
#include <string>
#include <string_view>

#include "providers/provider.hpp"

namespace tok {

ProviderInfo github_app_provider_info();

// The api_url a github-app profile talks to when it sets none.
inline constexpr std::string_view kGithubApiUrl = "https://api.github.com";

// The git host a github-app profile answers for when it sets no git_hosts, as a git_hosts entry:
// github.com for the public API (api.github.com), the Enterprise Server's host for
// https://HOST/api/v3, and `http://HOST:PORT` for a plain-http (loopback) API. Empty when the URL
// has no host.
std::string github_git_host(std::string_view api_url);

// The memo keys the provider keeps in the cache entry (never secrets): what tok status shows.
inline constexpr const char* kGithubInstallationMemo = "github_installation_id";
inline constexpr const char* kGithubPermissionsMemo = "github_permissions";
inline constexpr const char* kGithubSelectionMemo = "github_repository_selection";

}  // namespace tok

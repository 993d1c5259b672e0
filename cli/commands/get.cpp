// tok get: print a token (docs/tok.1, "tok get").
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/id_token.hpp"
#include "cli/session.hpp"
#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/time_format.hpp"
#include "providers/aws_credential.hpp"

namespace tok {

void add_get_command(CLI::App& app, Session& session) {
  auto flags = std::make_shared<GetFlags>();
  CLI::App* cmd = add_get_subcommand(app, *flags);
  cmd->callback([&session, flags] { session.run = [&session, flags] { return run_get(session, *flags); }; });
}

namespace {

// botocore (the AWS CLI's, boto3's) refuses credentials that expire within 10 minutes of use
// (its mandatory refresh window) and asks credential_process again within 15: a credential with
// less than this left is refreshed before it is printed, so one `aws` call runs tok once.
constexpr Duration kCredentialProcessMinValid = std::chrono::minutes(11);

// tok get --id-token: the login's ID token, in the formats a token has (docs/login.md).
std::string id_token_output(Session& session, ProfileContext& ctx, const GetResult& result, const std::string& format) {
  const TimePoint now = ctx.clock.now();
  const IdToken id = require_id_token(result.token, now, ctx.profile.name, ctx.profile.engine,
                                     [&session](const std::string& m) { session.warn(m); });
  if (format == "token") return fmt::format("{}\n", id.token);
  if (format == "header") return fmt::format("Authorization: Bearer {}\n", id.token);
  {
    nlohmann::json out;
    out["json_version"] = 1;
    out["id_token"] = id.token;
    if (id.expiry) {
      out["expires_at"] = format_rfc3339(*id.expiry);
      out["expires_in"] = std::max<std::int64_t>(0, std::chrono::floor<std::chrono::seconds>(*id.expiry - now).count());
    } else {
      out["expires_at"] = nullptr;
      out["expires_in"] = nullptr;
    }
    out["profile"] = ctx.profile.name;
    return fmt::format("{}\n", out.dump());
  }
}

}  // namespace

int run_get(Session& session, const GetFlags& f) {
  fmt::print("{}", get_output(session, f));
  return 0;
}

GetOptions get_flags_options(const GetFlags& flags, const ProfileContext& ctx) {
  const bool credential_process = flags.format == "credential-process";
  GetOptions options;
  options.force_refresh = flags.force_refresh;
  options.allow_async = !flags.no_async;
  if (credential_process) options.min_valid = kCredentialProcessMinValid;
  if (flags.min_valid) options.min_valid = parse_duration_or_throw(*flags.min_valid, "--min-valid", ZeroIs::none);
  if (flags.id_token && credential_process) {
    throw Error(ErrorKind::usage, "--id-token: an ID token is no AWS credential", "use --format token, json or header");
  }
  if (flags.id_token) options = id_token_options(options, ctx.profile.engine);
  return options;
}

std::string get_output(Session& session, const GetFlags& flags) {
  ProfileContext ctx(session);
  const GetOptions options = get_flags_options(flags, ctx);
  session.verbose(fmt::format("profile from {}; cache entry {}", ctx.profile.source,
                              ctx.store.entry_path(ctx.profile.cache_key).string()));
  const GetResult result = ctx.engine(session).get(options);
  session.verbose(fmt::format("token was {} at the start of the call", to_string(result.state)));
  return format_get_result(session, ctx, flags, result);
}

std::string format_get_result(Session& session, ProfileContext& ctx, const GetFlags& f, const GetResult& result) {
  const GetFlags* flags = &f;
  const bool credential_process = flags->format == "credential-process";
  const Token& token = result.token;
  if (result.failing) {
    // Served while its refresh fails: the user must see it before the token runs out.
    const TimePoint now = ctx.clock.now();
    session.warn(fmt::format(
        "serving the cached token ({}) while its background refresh fails: {} ({})",
        token.expiry
            ? "valid for another " + format_duration(std::chrono::floor<std::chrono::seconds>(*token.expiry - now))
            : std::string("no expiry"),
        result.failing->message, kept_failure_note(result.failing->at, *result.retry_at, now)));
  }
  if (flags->id_token) return id_token_output(session, ctx, result, flags->format);
  // An AWS credential is not a bearer token, and a bearer token is no AWS credential: either way
  // round is the profile's mistake, said as such, rather than an answer the caller chokes on.
  if (credential_process != is_aws_credential(token)) {
    throw Error(ErrorKind::usage,
                credential_process
                    ? fmt::format("--format credential-process: profile '{}' holds a token, not an AWS credential (its "
                                  "source printed no credential_process JSON)",
                                  ctx.profile.name)
                    : fmt::format("--format {}: profile '{}' holds an AWS credential, not a token", flags->format,
                                  ctx.profile.name),
                credential_process ? "" : "use --format credential-process, tok env or tok exec");
  }
  if (credential_process) return fmt::format("{}\n", write_credential_process(token));
  if (flags->format == "token") return fmt::format("{}\n", token.access_token);
  if (flags->format == "header") {
    return fmt::format("Authorization: {} {}\n", authorization_scheme(token.token_type), token.access_token);
  }
  {
    nlohmann::json out;
    out["json_version"] = 1;
    out["access_token"] = token.access_token;
    out["token_type"] = token.token_type;
    if (token.expiry) {
      out["expires_at"] = format_rfc3339(*token.expiry);
      const auto left = std::chrono::floor<std::chrono::seconds>(*token.expiry - ctx.clock.now());
      out["expires_in"] = std::max<std::int64_t>(0, left.count());
    } else {
      out["expires_at"] = nullptr;
      out["expires_in"] = nullptr;
    }
    out["state"] = to_string(result.state);
    out["profile"] = ctx.profile.name;
    return fmt::format("{}\n", out.dump());
  }
}

}  // namespace tok

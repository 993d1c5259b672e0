#include "providers/command.hpp"

#include <cctype>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "providers/http.hpp"
#include "providers/process.hpp"
#include "providers/token_response.hpp"

namespace tok {

namespace {

using namespace std::chrono_literals;

[[noreturn]] void bad_command(std::string_view why) {
  throw KeyError("command", why);
}

// What the program printed on stdout that may be a secret: its stderr is quoted with these cut
// out (a helper that fails may still have printed its credential, and echo part of it on stderr).
// The string values of JSON (its field names stay readable), else the words of 6 or more
// characters; at most 64.
std::vector<std::string> stdout_secrets(std::string_view out) {
  std::vector<std::string> secrets;
  const auto j = nlohmann::json::parse(out, nullptr, false);
  if (!j.is_discarded()) {
    std::vector<const nlohmann::json*> todo{&j};
    while (!todo.empty() && secrets.size() < 64) {
      const nlohmann::json* v = todo.back();
      todo.pop_back();
      if (v->is_string() && v->get_ref<const std::string&>().size() >= 6) secrets.push_back(v->get<std::string>());
      if (v->is_structured()) {
        for (const auto& item : *v) todo.push_back(&item);
      }
    }
    return secrets;
  }
  std::size_t i = 0;
  while (i < out.size() && secrets.size() < 64) {
    const auto begin = out.find_first_not_of(" \t\r\n", i);
    if (begin == std::string_view::npos) break;
    auto end = out.find_first_of(" \t\r\n", begin);
    if (end == std::string_view::npos) end = out.size();
    if (end - begin >= 6) secrets.emplace_back(out.substr(begin, end - begin));
    i = end;
  }
  return secrets;
}

std::string program_name(const std::string& argv0) {
  const auto slash = argv0.rfind('/');
  return slash == std::string::npos ? argv0 : argv0.substr(slash + 1);
}

class CommandProvider final : public Provider {
 public:
  CommandProvider(const ProviderSettings& s, const ProviderDeps& deps)
      : deps_(deps), default_lifetime_(s.duration("default_lifetime")), argv_(split_command(s.require("command"))), timeout_(*s.duration("command_timeout")) {}

  Token fetch(Deadline deadline, ProviderMemo&, FetchMode) override {
    // One attempt in either mode: the program is the authority on retrying its own source.
    check_program(argv_[0], "command");
    ProcessRequest request;
    request.argv = argv_;
    request.deadline = std::min(deadline, deps_.the_world().steady_now() + timeout_);
    const auto started = deps_.the_world().steady_now();
    const ProcessResult result = deps_.processes().run(request);
    if (deps_.note) {
      deps_.note(fmt::format(
          "ran {}: {} in {}ms", printable(program_name(argv_[0])), result.summary(),
          std::chrono::duration_cast<std::chrono::milliseconds>(deps_.the_world().steady_now() - started).count()));
    }
    // Only the program's name: its arguments may be anything, so they are never echoed.
    const std::string what = fmt::format("command '{}'", printable(program_name(argv_[0])));
    if (result.not_found) {
      throw Error(ErrorKind::unavailable, fmt::format("{}: not found", what),
                  "check the command key: no shell runs it, so give the program's path or put it on PATH");
    }
    if (!result.spawn_error.empty()) {
      throw Error(ErrorKind::unavailable, fmt::format("{}: cannot run it: {}", what, result.spawn_error));
    }
    if (result.timed_out) {
      throw Error(ErrorKind::unavailable,
                  fmt::format("{}: no answer within {}; killed", what, format_duration(timeout_)),
                  "raise command_timeout if it is just slow");
    }
    // Its stderr is quoted (redacted); its stdout never is: that is where its secret is.
    const std::string line = quote_body(first_line(result.err), stdout_secrets(result.out));
    if (!result.exit_status) {
      throw Error(ErrorKind::unavailable,
                  fmt::format("{}: killed by signal {}{}{}", what, result.signal, line.empty() ? "" : ": ", line));
    }
    if (*result.exit_status != 0) {
      // The program refused (not logged in, no such secret): it said why on stderr.
      throw Error(ErrorKind::refused,
                  fmt::format("{}: exit status {}{}{}", what, *result.exit_status, line.empty() ? "" : ": ", line));
    }
    if (result.out_truncated) {
      throw Error(ErrorKind::unavailable, fmt::format("{}: printed more than {} KiB", what, request.max_stdout / 1024));
    }
    try {
      return read_output(result.out);
    } catch (const Error& e) {
      throw in_context(e, what);
    }
  }

 private:
  Token read_output(const std::string& out) const {
    std::string_view text = out;
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    if (text.empty()) throw Error(ErrorKind::unavailable, "malformed response: it printed nothing on stdout");
    if (text.front() == '{') return parse_token_response(text, deps_.time().now(), {.program_output = true, .default_lifetime = default_lifetime_, .quote = false});
    // A bare token. Its text is never quoted: whatever it printed is probably the secret.
    if (text.find('\n') != std::string_view::npos) {
      throw Error(ErrorKind::unavailable,
                  "malformed response: more than one line on stdout (expected a token on one line, or JSON)");
    }
    if (!is_b64token(text)) {
      throw Error(ErrorKind::unavailable,
                  "malformed response: stdout is not a token (a token has no spaces or control characters)");
    }
    Token token;
    token.access_token = std::string(text);
    // No expiry (docs/keys.md: kept until refreshed by hand), unless the profile gives one.
    if (default_lifetime_) token.expiry = deps_.time().now() + *default_lifetime_;
    return token;
  }

  ProviderDeps deps_;
  std::optional<Duration> default_lifetime_;  // for answers that carry no lifetime
  std::vector<std::string> argv_;
  Duration timeout_;
};

}  // namespace

std::vector<std::string> split_command(std::string_view text) {
  std::size_t b = 0;
  while (b < text.size() && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  if (b < text.size() && text[b] == '[') {
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_array()) bad_command("starts with '[' but is not a JSON array");
    std::vector<std::string> argv;
    for (const auto& item : j) {
      if (!item.is_string()) bad_command("a JSON array of strings is expected");
      argv.push_back(item.get<std::string>());
    }
    if (argv.empty() || argv[0].empty()) bad_command("names no program");
    for (const auto& a : argv) {
      if (a.find('\0') != std::string::npos) bad_command("an argument contains a NUL character");
    }
    return argv;
  }

  std::vector<std::string> argv;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) argv.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\'') {
      const auto close = text.find('\'', i + 1);
      if (close == std::string_view::npos) bad_command("unterminated ' quote");
      word.append(text.substr(i + 1, close - i - 1));
      i = close;
      in_word = true;
    } else if (c == '"') {
      std::size_t j = i + 1;
      for (; j < text.size() && text[j] != '"'; ++j) {
        if (text[j] == '\\' && j + 1 < text.size() &&
            (text[j + 1] == '"' || text[j + 1] == '\\' || text[j + 1] == '$' || text[j + 1] == '`')) {
          ++j;
        }
        word += text[j];
      }
      if (j >= text.size()) bad_command("unterminated \" quote");
      i = j;
      in_word = true;
    } else if (c == '\\') {
      if (i + 1 >= text.size()) bad_command("ends with a lone backslash");
      word += text[++i];
      in_word = true;
    } else if (std::string_view("|&;<>()$`").find(c) != std::string_view::npos) {
      bad_command(
          fmt::format("'{}' outside quotes: no shell runs the command, so pipes, redirections and "
                      "variables do not work; quote it to pass it on, or use [\"sh\", \"-c\", \"...\"]",
                      c));
    } else if (c == '\0') {
      bad_command("contains a NUL character");
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) argv.push_back(std::move(word));
  if (argv.empty() || argv[0].empty()) bad_command("names no program");
  return argv;
}

// provider = command's keys. The order is the cache key's: a new key goes at the end.
constexpr KeySpec kCommandKeys[] = {
    {.name = "command", .owner = KeyOwner::provider, .cache_key = true,
     .help = "program and arguments (JSON array or shell-like words, no shell); it prints a token, token JSON or AWS credential_process JSON"},
    {.name = "command_timeout", .owner = KeyOwner::provider, .type = KeyType::duration, .default_value = "30s",
     .cache_key = true, .help = "kill the command after this long"},
};

ProviderInfo command_provider_info() {
  return provider_info<CommandProvider>("command", kCommandKeys);
}

}  // namespace tok

// tok init: writes a first profile, commented, for the chosen provider. Asks on a terminal; flags
// for scripts (--provider and any profile key: `tok init --provider oauth --token-url URL`). Never
// overwrites: the config file is created (mode 0600, its directory 0700) or nothing happens;
// `--print` writes the profile to stdout instead, to append it to an existing file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/session.hpp"
#include "core/error.hpp"
#include "providers/http.hpp"

namespace tok {

namespace {

// One line of a profile template: a key with a placeholder (set: written as a key; unset: written
// commented out, for the user to fill in) and why it is there.
struct TemplateKey {
  std::string_view key;
  std::string_view placeholder;
  bool set;
  std::string_view comment;
};

struct Template {
  std::string_view provider;
  std::vector<TemplateKey> keys;
};

// Every placeholder that is set is a valid value, so the file passes `tok profiles` as written.
const std::vector<Template>& templates() {
  static const std::vector<Template> all = {
      {"oauth",
       {{"token_url", "https://login.example.com/oauth2/token", true,
         "The token endpoint (or: issuer = https://login.example.com, found by discovery)."},
        {"client_id", "my-client", true, "The client's id."},
        {"client_secret_env", "TOK_CLIENT_SECRET", true,
         "The variable that holds the secret (or: client_secret_file = a file only you can read)."},
        {"scopes", "api:read", false, "Scopes, space- or comma-separated, if the service wants them."}}},
      {"azure-cli",
       {{"resource", "https://management.azure.com/", true,
         "What the token is for (or: scope = https://graph.microsoft.com/.default). Needs 'az login'."},
        {"tenant", "contoso.onmicrosoft.com", false, "The tenant, when not az's default."}}},
      {"metadata",
       {{"flavor", "azure-imds", true, "databricks, azure-imds or gcp: the metadata service of this machine."},
        {"resource", "https://management.azure.com/", true, "azure-imds: what the token is for."},
        {"client_id", "00000000-0000-0000-0000-000000000000", false, "azure-imds: a user-assigned identity."}}},
      {"command",
       {{"command", "[\"gh\", \"auth\", \"token\"]", true,
         "The program that prints a token: a JSON array, or words; no shell runs it."},
        {"default_lifetime", "1h", true, "How long a bare token (no expiry in the output) is kept."}}},
      {"oidc-federation",
       {{"token_url", "https://login.example.com/oauth2/token", true, "Where the CI job's ID token is exchanged."},
        {"id_token_source", "github", true, "github, gitlab or file: where the CI job's ID token comes from."},
        {"id_token_audience", "api://my-app", true, "github: the audience to ask for."}}},
      {"file",
       {{"token_file", "/var/run/secrets/kubernetes.io/serviceaccount/token", true,
         "The file another program keeps the token in (here: Kubernetes'), read again whenever it changes."}}},
  };
  return all;
}

const Template* find_template(std::string_view provider) {
  for (const auto& t : templates()) {
    if (t.provider == provider) return &t;
  }
  return nullptr;
}

// A value as an INI line keeps it: quoted when it holds what would start a comment.
std::string ini_value(std::string_view key, const std::string& value) {
  if (value.find_first_of("\r\n") != std::string::npos || value.find('\0') != std::string::npos) {
    throw Error(ErrorKind::usage, fmt::format("key '{}': a value is one line", key));
  }
  const bool comment_like = value.find(" ;") != std::string::npos || value.find(" #") != std::string::npos ||
                            value.find("\t;") != std::string::npos || value.find("\t#") != std::string::npos;
  const bool edges = !value.empty() && (value.front() == '"' || value.front() == ' ' || value.back() == ' ');
  if (!comment_like && !edges) return value;
  if (value.find('"') != std::string::npos && value.front() != '"') return value;  // kept as written
  if (value.find('"') != std::string::npos) {
    throw Error(ErrorKind::usage, fmt::format("key '{}': a value cannot both start with '\"' and need quoting", key));
  }
  return "\"" + value + "\"";
}

std::string profile_text(const std::string& name, const Template& t, const KeyValues& given) {
  std::string out = fmt::format(
      "# A tok profile, written by 'tok init'. Every key: 'tok help keys {}'; more in 'man tok'.\n"
      "# Lines starting with ; are left for you to fill in.\n"
      "[{}]\n"
      "provider = {}\n",
      t.provider, name, t.provider);
  for (const auto& k : t.keys) {
    out += fmt::format("# {}\n", k.comment);
    const auto it = given.find(k.key);
    if (it != given.end()) {
      out += fmt::format("{} = {}\n", k.key, ini_value(k.key, it->second));
    } else {
      out += fmt::format("{}{} = {}\n", k.set ? "" : "; ", k.key, k.placeholder);
    }
  }
  bool others = false;
  for (const auto& [key, value] : given) {
    if (key == "provider") continue;
    if (std::any_of(t.keys.begin(), t.keys.end(), [&](const TemplateKey& k) { return k.key == key; })) continue;
    if (!others) out += "# Given on the command line.\n";
    others = true;
    out += fmt::format("{} = {}\n", key, ini_value(key, value));
  }
  out +=
      "# The refresh engine (any provider), with its defaults:\n"
      "; expiry_buffer = 40s      ; treat a token as expired this long before it is\n"
      "; retry_backoff = 1m       ; wait this long after a failed background refresh\n"
      "; refresh_timeout = 60s    ; how long a caller waits for a token\n";
  return out;
}

// A line from the terminal, or `fallback` for an empty answer; at most 4 KiB are read.
std::string ask(const std::string& question, const std::string& fallback) {
  fmt::print(stderr, "{} [{}]: ", question, fallback);
  char buffer[4096];
  if (std::fgets(buffer, sizeof buffer, stdin) == nullptr) throw Error(ErrorKind::usage, "no answer (end of input)");
  std::string line = buffer;
  if (line.empty() || line.back() != '\n') {
    if (!std::feof(stdin)) throw Error(ErrorKind::usage, "that answer is longer than any profile value needs");
  } else {
    line.pop_back();
  }
  const auto first = line.find_first_not_of(" \t\r");
  if (first == std::string::npos) return fallback;
  return line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
}

void write_new_file(const std::filesystem::path& path, const std::string& text) {
  std::error_code ec;
  const auto dir = path.parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error(ErrorKind::usage, fmt::format("cannot create {}: {}", dir.string(), ec.message()));
    ::chmod(dir.c_str(), 0700);
  }
  // O_EXCL: an existing file (or a link planted there) is never written through.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      throw Error(ErrorKind::usage, fmt::format("{} exists; tok init never overwrites it", path.string()),
                  "add the profile to it yourself: 'tok init --print ... >> FILE', or use --config NEW-FILE");
    }
    throw Error(ErrorKind::usage, fmt::format("cannot create {}: {}", path.string(), std::strerror(errno)));
  }
  std::size_t done = 0;
  int failed = 0;
  while (done < text.size() && failed == 0) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failed = n < 0 ? errno : EIO;
    } else {
      done += static_cast<std::size_t>(n);
    }
  }
  if (failed == 0 && ::fsync(fd) != 0) failed = errno;
  if (::close(fd) != 0 && failed == 0) failed = errno;
  if (failed != 0) {
    ::unlink(path.c_str());  // a half-written profile would be worse than none
    throw Error(ErrorKind::usage, fmt::format("cannot write {}: {}", path.string(), std::strerror(failed)));
  }
}

std::string provider_list() {
  std::vector<std::string_view> names;
  for (const auto& t : templates()) names.push_back(t.provider);
  return fmt::format("{}", fmt::join(names, ", "));
}

int run_init(Session& session, bool print_only) {
  KeyValues given = session.options.key_flags;
  const bool terminal = ::isatty(STDIN_FILENO) == 1;
  std::string provider = given.count("provider") ? given.at("provider") : std::string();
  if (provider.empty()) {
    if (!terminal) {
      throw Error(ErrorKind::usage, "which provider? stdin is not a terminal to ask on",
                  fmt::format("pass --provider ({})", provider_list()));
    }
    provider = ask(fmt::format("provider ({})", provider_list()), "oauth");
  }
  const Template* t = find_template(provider);
  if (t == nullptr) {
    std::vector<std::string> names;
    for (const auto& x : templates()) names.emplace_back(x.provider);
    const auto near = did_you_mean(provider, names);
    throw Error(ErrorKind::usage,
                fmt::format("no provider '{}'{}", printable(provider.substr(0, 64)),
                            near ? fmt::format(" (did you mean '{}'?)", *near) : std::string()),
                fmt::format("this build knows: {}", provider_list()));
  }
  if (terminal && !print_only) {
    for (const auto& k : t->keys) {
      if (k.set && given.count(k.key) == 0) given[std::string(k.key)] = ask(std::string(k.key), std::string(k.placeholder));
    }
  }
  const std::string name = profile_name(session.options);
  if (name.empty() || name.find_first_of("[]\r\n;#") != std::string::npos || name.size() > 200) {
    throw Error(ErrorKind::usage, "a profile name is one line without [ ] ; #");
  }
  const std::string text = profile_text(name, *t, given);
  // What is written must work as it is: resolved here as `tok -p NAME` will resolve it.
  const auto path = config_path(session.options);
  GlobalOptions check = session.options;
  check.profile = name;
  check.key_flags.clear();
  try {
    resolve_profile(check, parse_ini(text, path.string()));
  } catch (const Error& e) {
    throw Error(ErrorKind::usage, fmt::format("nothing written: the profile would not work: {}", e.what()), e.advice());
  }
  if (print_only) {
    fmt::print("{}", text);
    return 0;
  }
  write_new_file(path, text);
  fmt::print("wrote profile '{}' (provider {}) to {}\n", printable(name), t->provider, path.string());
  fmt::print("next: edit it if needed, then 'tok profiles' and 'tok get{}'\n",
             name == "default" ? std::string() : " -p " + printable(name));
  return 0;
}

}  // namespace

void add_init_command(CLI::App& app, Session& session) {
  auto print_only = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("init", "Write a first profile for a provider (asks on a terminal; never overwrites)");
  cmd->add_flag("--print", *print_only, "Print the profile instead of creating the config file");
  cmd->callback([&session, print_only] { session.run = [&session, print_only] { return run_init(session, *print_only); }; });
}

}  // namespace tok

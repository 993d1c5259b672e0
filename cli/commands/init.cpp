// tok init: writes a profile, commented, for the chosen provider. Asks on a terminal; flags for
// scripts (--provider and any profile key: `tok init --provider oauth --token-url URL`). The config
// file is created (mode 0600, each directory made 0700 whatever the umask), or the profile is
// added to the existing one (its other lines, comments and mode kept; one atomic rename); a
// profile of that name is never changed. Every value is written so that tok's own reader
// (parse_ini, cli/config.cpp) reads it back as given, or refused. `--print` writes the profile to
// stdout instead.
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
#include "core/descriptors.hpp"
#include "core/error.hpp"
#include "providers/http.hpp"

namespace tok {

namespace {

// When a template's placeholder is written as a key (the rest are written commented out, for the
// user to fill in): an oauth profile is a service's (client_credentials) or a person's login.
enum class Set { always, never, service, login };

// One line of a profile template: a key with a placeholder and why it is there.
struct TemplateKey {
  std::string_view key;
  std::string_view placeholder;
  Set set;
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
       {{"grant", "client_credentials", Set::never,
         "client_credentials (the default): the service's own token; authorization_code or device_code: a "
         "person's login, with 'tok login' ('tok help login')."},
        {"token_url", "https://login.example.com/oauth2/token", Set::service,
         "The token endpoint (or: issuer = https://login.example.com, found by discovery)."},
        {"issuer", "https://login.example.com", Set::login,
         "The issuer: its endpoints are found by discovery (a login needs it)."},
        {"client_id", "my-client", Set::always, "The client's id."},
        {"client_secret_env", "TOK_CLIENT_SECRET", Set::service,
         "The variable that holds the secret (or: client_secret_file = a file only you can read)."},
        {"scopes", "api:read", Set::never, "Scopes, space- or comma-separated, if the service wants them."}}},
      {"azure-cli",
       {{"resource", "https://management.azure.com/", Set::always,
         "What the token is for (or: scope = https://graph.microsoft.com/.default). Needs 'az login'."},
        {"tenant", "contoso.onmicrosoft.com", Set::never, "The tenant, when not az's default."}}},
      {"metadata",
       {{"flavor", "azure-imds", Set::always, "databricks, azure-imds or gcp: the metadata service of this machine."},
        {"resource", "https://management.azure.com/", Set::always, "azure-imds: what the token is for."},
        {"client_id", "00000000-0000-0000-0000-000000000000", Set::never, "azure-imds: a user-assigned identity."}}},
      {"command",
       {{"command", "[\"gh\", \"auth\", \"token\"]", Set::always,
         "The program that prints a token: a JSON array, or words; no shell runs it."},
        {"default_lifetime", "1h", Set::always, "How long a bare token (no expiry in the output) is kept."}}},
      {"oidc-federation",
       {{"token_url", "https://login.example.com/oauth2/token", Set::always,
         "Where the CI job's ID token is exchanged."},
        {"id_token_source", "github", Set::always, "github, gitlab or file: where the CI job's ID token comes from."},
        {"id_token_audience", "api://my-app", Set::always, "github: the audience to ask for."}}},
      {"github-app",
       {{"app_id", "123456", Set::always, "The GitHub App's id (or: client_id = its client ID)."},
        {"private_key_file", "github-app.private-key.pem", Set::always,
         "The App's private key as GitHub generated it (or: private_key_env = a variable holding it)."},
        {"repository", "my-org/my-repo", Set::always,
         "Whose installation to use (or: installation_id, organization, user)."},
        {"permissions", "contents:read", Set::never, "Narrow the token: NAME:LEVEL, comma-separated."}}},
      {"file",
       {{"token_file", "/var/run/secrets/kubernetes.io/serviceaccount/token", Set::always,
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

bool is_login_grant(const KeyValues& given) {
  const auto grant = given.find("grant");
  return grant != given.end() && (grant->second == "authorization_code" || grant->second == "device_code");
}

// Whether the template's placeholder for `k` is written as a key: by its rule, and never beside a
// given key of its exclusive group (--issuer replaces the template's token_url, --client-secret-file
// its client_secret_env), which the profile would refuse.
bool placeholder_set(const Template& t, const TemplateKey& k, const KeyValues& given) {
  const bool login = is_login_grant(given);
  const bool by_rule = k.set == Set::always || (k.set == Set::service && !login) || (k.set == Set::login && login);
  if (!by_rule) return false;
  const auto tables = tables_for(key_catalog(), t.provider);
  const KeySpec* spec = find_key(tables, k.key);
  if (spec == nullptr || spec->exclusive_group.empty()) return true;
  for (const auto& [key, value] : given) {
    const KeySpec* other = find_key(tables, key);
    if (other != nullptr && other->exclusive_group == spec->exclusive_group) return false;
  }
  return true;
}

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Whether parse_ini (cli/config.cpp) reads `key = VALUE` back as VALUE: it trims blanks at both
// ends, reads a leading '"' as a quote (to the next '"', no escapes), a leading ';' or '#' as a
// comment, and cuts an inline comment at ';' or '#' after a blank.
bool reads_back_bare(std::string_view value) {
  if (value.empty()) return true;
  if (value.front() == '"' || value.front() == ';' || value.front() == '#') return false;
  if (blank(value.front()) || blank(value.back())) return false;
  for (std::size_t i = 1; i < value.size(); ++i) {
    if ((value[i] == ';' || value[i] == '#') && blank(value[i - 1])) return false;
  }
  return true;
}

// A value as the right side of an INI line that reads back as exactly `value`: bare when it can
// be, else quoted; a value that neither form keeps (a line break; a '"' in one that needs the
// quotes) is refused, since the reader has no escapes.
std::string ini_value(std::string_view key, const std::string& value) {
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
    throw Error(ErrorKind::usage, fmt::format("key '{}': a value is one line (no line break); nothing written", key));
  }
  if (reads_back_bare(value)) return value;
  if (value.find('"') == std::string::npos) return "\"" + value + "\"";
  throw Error(ErrorKind::usage,
              fmt::format("key '{}': a config file cannot hold this value: it has a '\"' and also needs quoting (a "
                          "blank at an end, a leading ';' or '#', or ';' or '#' after a blank); nothing written",
                          key),
              "drop the '\"', or the blank before the ';' or '#'");
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
      out += fmt::format("{}{} = {}\n", placeholder_set(t, k, given) ? "" : "; ", k.key, k.placeholder);
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
  if (fallback.empty()) {
    fmt::print(stderr, "{} [none]: ", question);
  } else {
    fmt::print(stderr, "{} [{}]: ", question, fallback);
  }
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

// Asks for `key` unless given; an empty answer to an optional question leaves it unset.
void ask_key(KeyValues& given, std::string_view key, const std::string& question, const std::string& fallback) {
  if (given.count(key) != 0) return;
  std::string answer = ask(question, fallback);
  if (!answer.empty()) given[std::string(key)] = std::move(answer);
}

// provider = oauth on a terminal: a service's token or a person's login first, since that decides
// the rest (a login names an issuer and keeps no secret: docs/login.md).
void ask_oauth(KeyValues& given) {
  ask_key(given, "grant",
          "grant: client_credentials (a service's own token), authorization_code (log in with a browser) or "
          "device_code (log in with a code)",
          "client_credentials");
  const bool endpoint_given = given.count("token_url") != 0 || given.count("issuer") != 0;
  if (is_login_grant(given)) {
    if (!endpoint_given) {
      ask_key(given, "issuer", "issuer (the identity provider; endpoints are discovered)", "https://login.example.com");
    }
    ask_key(given, "client_id", "client_id (registered for tok: a public client, no secret)", "my-client");
    ask_key(given, "scopes", "scopes", "openid offline_access");
    return;
  }
  if (!endpoint_given) ask_key(given, "token_url", "token_url", "https://login.example.com/oauth2/token");
  ask_key(given, "client_id", "client_id", "my-client");
  if (given.count("client_secret_file") == 0 && given.count("private_key_file") == 0) {
    ask_key(given, "client_secret_env", "client_secret_env (the variable that holds the secret)", "TOK_CLIENT_SECRET");
  }
  ask_key(given, "scopes", "scopes (space-separated)", "");
}

// Creates the missing directories of `dir`, each 0700 whatever the umask (an existing one is
// left as it is).
void make_private_dirs(const std::filesystem::path& dir) {
  std::filesystem::path at;
  for (const auto& part : dir) {
    at /= part;
    if (::mkdir(at.c_str(), 0700) == 0) {
      if (::chmod(at.c_str(), 0700) != 0) {  // the umask took bits off
        throw Error(ErrorKind::usage, fmt::format("cannot make {} private: {}", at.string(), std::strerror(errno)));
      }
    } else if (errno != EEXIST) {
      throw Error(ErrorKind::usage, fmt::format("cannot create {}: {}", at.string(), std::strerror(errno)));
    }
  }
}

void write_all(int fd, const std::string& text, const std::filesystem::path& path) {
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
    throw Error(ErrorKind::usage, fmt::format("cannot write {}: {}", path.string(), std::strerror(failed)));
  }
}

void write_new_file(const std::filesystem::path& path, const std::string& text) {
  // O_EXCL: a file (or a link planted there) that appeared meanwhile is never written through.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(ErrorKind::usage, fmt::format("cannot create {}: {}", path.string(), std::strerror(errno)));
  try {
    write_all(fd, text, path);
  } catch (const Error&) {
    ::unlink(path.c_str());  // a half-written profile would be worse than none
    throw;
  }
}

// The config file as it is now, to add a profile to.
struct Existing {
  std::filesystem::path path;  // the file itself (a symbolic link's target)
  std::string text;
  struct stat st {};
};

// Reads the existing config file (nullopt when there is none): a regular file of this user, at
// most 1 MiB, as tok reads it.
std::optional<Existing> read_existing(const std::filesystem::path& path) {
  struct stat link {};
  if (::lstat(path.c_str(), &link) != 0) {
    if (errno == ENOENT) return std::nullopt;
    throw Error(ErrorKind::usage, fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)));
  }
  Existing e;
  std::error_code ec;
  // A config kept elsewhere and linked (a dotfiles repository): the file is changed, the link stays.
  e.path = S_ISLNK(link.st_mode) ? std::filesystem::canonical(path, ec) : path;
  if (ec) throw Error(ErrorKind::usage, fmt::format("cannot follow {}: {}", path.string(), ec.message()));
  const int fd = ::open(e.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);
  if (fd < 0) throw Error(ErrorKind::usage, fmt::format("cannot read {}: {}", e.path.string(), std::strerror(errno)));
  std::optional<std::string> text;
  std::string why;
  if (::fstat(fd, &e.st) != 0) {
    why = std::strerror(errno);
  } else if (!S_ISREG(e.st.st_mode)) {
    why = "it is not a regular file";
  } else if (e.st.st_uid != ::geteuid()) {
    why = "it belongs to another user";
  } else if (!(text = read_capped(fd, 1 << 20))) {
    why = "it is larger than 1024 KiB (or cannot be read)";
  }
  ::close(fd);
  if (!why.empty()) {
    throw Error(ErrorKind::usage, fmt::format("{}: not adding a profile to it: {}", e.path.string(), why));
  }
  e.text = std::move(*text);
  return e;
}

// Replaces the file with `text` in one rename: a reader sees the old file or the new one, never
// a part; the file's mode is kept. Refused when the file changed since it was read.
void replace_file(const Existing& e, const std::string& text) {
  std::string temp = e.path.string() + ".tok-init-XXXXXX";
  const int fd = ::mkstemp(temp.data());  // 0600, O_EXCL
  if (fd < 0) {
    throw Error(ErrorKind::usage, fmt::format("cannot write beside {}: {}", e.path.string(), std::strerror(errno)));
  }
  try {
    if (::fchmod(fd, e.st.st_mode & 07777) != 0) {
      const int err = errno;
      ::close(fd);
      throw Error(ErrorKind::usage, fmt::format("cannot write {}: {}", temp, std::strerror(err)));
    }
    write_all(fd, text, temp);
    struct stat now {};
    if (::stat(e.path.c_str(), &now) != 0 || now.st_ino != e.st.st_ino || now.st_dev != e.st.st_dev ||
        now.st_size != e.st.st_size || now.st_mtim.tv_sec != e.st.st_mtim.tv_sec ||
        now.st_mtim.tv_nsec != e.st.st_mtim.tv_nsec) {
      throw Error(ErrorKind::usage, fmt::format("{} changed while tok init read it; nothing written", e.path.string()),
                  "run tok init again");
    }
    if (::rename(temp.c_str(), e.path.c_str()) != 0) {
      throw Error(ErrorKind::usage, fmt::format("cannot replace {}: {}", e.path.string(), std::strerror(errno)));
    }
  } catch (const Error&) {
    ::unlink(temp.c_str());
    throw;
  }
  const auto parent = e.path.parent_path();
  const int dir = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);  // the rename itself, durable
    ::close(dir);
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
  const std::string name = profile_name(session.options);
  if (!valid_profile_name(name)) {
    throw Error(ErrorKind::usage, fmt::format("-p '{}' is not a profile name", printable(name)),
                "a profile name is letters, digits, '.', '_', '@' and '-'");
  }
  const auto path = config_path(session.options);
  // An existing file first: a name it already has is refused before any question.
  const std::optional<Existing> existing = print_only ? std::nullopt : read_existing(path);
  if (existing) {
    std::optional<IniFile> before;
    try {
      before = parse_ini(existing->text, path.string());
    } catch (const Error& e) {
      throw Error(ErrorKind::usage, fmt::format("nothing written: {}", e.what()), "fix the file first");
    }
    if (before->find(name) != nullptr) {
      throw Error(ErrorKind::usage,
                  fmt::format("{} has a profile '{}' already; tok init never changes one", path.string(), name),
                  "name the new one with -p NAME, or edit the file");
    }
  }
  if (terminal && !print_only) {
    if (t->provider == "oauth") {
      ask_oauth(given);
    } else {
      for (const auto& k : t->keys) {
        if (k.set == Set::always && given.count(k.key) == 0) {
          given[std::string(k.key)] = ask(std::string(k.key), std::string(k.placeholder));
        }
      }
    }
  }
  const std::string profile = profile_text(name, *t, given);
  std::string text;
  if (existing) {
    text = existing->text;
    if (!text.empty() && text.back() != '\n') text += '\n';
    if (!text.empty()) text += '\n';
  }
  text += profile;
  // What is written must work as it is, and read back as given: resolved here as `tok -p NAME`
  // will resolve it.
  GlobalOptions check = session.options;
  check.profile = name;
  check.key_flags.clear();
  try {
    const IniFile after = parse_ini(text, path.string());
    const IniSection* section = after.find(name);
    if (section == nullptr) throw Error(ErrorKind::internal, "the profile would not read back");
    for (const auto& [key, value] : given) {
      const auto it = section->values.find(key);
      if (it == section->values.end() || it->second != value) {
        throw Error(ErrorKind::internal, fmt::format("key '{}' would not read back as given", key));
      }
    }
    resolve_profile(check, after);
  } catch (const Error& e) {
    throw Error(ErrorKind::usage, fmt::format("nothing written: the profile would not work: {}", e.what()), e.advice());
  }
  if (print_only) {
    fmt::print("{}", profile);
    return 0;
  }
  if (existing) {
    replace_file(*existing, text);
    fmt::print("added profile '{}' (provider {}) to {}\n", name, t->provider, path.string());
  } else {
    if (!path.parent_path().empty()) make_private_dirs(path.parent_path());
    write_new_file(path, text);
    fmt::print("wrote profile '{}' (provider {}) to {}\n", name, t->provider, path.string());
  }
  if (is_login_grant(given)) {
    fmt::print("next: edit it if needed, then 'tok login -p {}' and 'tok get -p {}'\n", name, name);
  } else {
    fmt::print("next: edit it if needed, then 'tok profiles' and 'tok get{}'\n",
               name == "default" ? std::string() : " -p " + name);
  }
  return 0;
}

}  // namespace

void add_init_command(CLI::App& app, Session& session) {
  auto print_only = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "init", "Write a profile for a provider: a new config file, or added to yours (asks on a terminal)");
  cmd->add_flag("--print", *print_only, "Print the profile instead of writing the config file");
  cmd->callback([&session, print_only] { session.run = [&session, print_only] { return run_init(session, *print_only); }; });
}

}  // namespace tok

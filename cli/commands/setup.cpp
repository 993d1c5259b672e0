// tok setup git|docker|kube|aws: points a program at tok for a profile, as `gh auth setup-git`
// and `gcloud auth configure-docker` do (docs/integrations.md, "tok setup"). Idempotent; --dry-run
// prints the change and writes nothing; --remove takes out only what tok setup wrote. git's and
// kubectl's files are written by git and kubectl themselves; Docker's JSON and the AWS INI
// section by cli/setup_edits.hpp, replaced atomically.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/atomic_file.hpp"
#include "cli/helpers/helper_url.hpp"
#include "cli/session.hpp"
#include "cli/commands/setup_edits.hpp"
#include "core/descriptors.hpp"
#include "core/error.hpp"
#include "providers/github_app.hpp"
#include "providers/http.hpp"
#include "providers/jws.hpp"
#include "providers/process.hpp"

namespace tok {

// Named inside the anonymous namespace: tok is built as one unity translation unit, where other
// commands' file-local helpers (write_fail...) live too.
namespace {
namespace setup_cmd {

struct SetupFlags {
  std::string target;
  bool dry_run = false;
  bool remove = false;
  std::string file;
  std::string context;
  std::string name;
};

// What one run of tok setup works with.
struct Setup {
  Session& session;
  const SetupFlags& flags;
  std::string profile;
  KeyValues values;
  std::string tok;  // how the written configuration names tok
};

// -- small pieces -------------------------------------------------------------------------------

// The first `program` on $PATH that may be run, or nullopt.
std::optional<std::filesystem::path> find_on_path(const World& world, const std::string& program) {
  const char* path = world.env("PATH");
  if (path == nullptr) return std::nullopt;
  std::string_view dirs = path;
  while (true) {
    const std::size_t colon = dirs.find(':');
    const std::string dir(dirs.substr(0, colon));
    std::filesystem::path candidate = std::filesystem::path(dir.empty() ? "." : dir) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) return std::nullopt;
    dirs.remove_prefix(colon + 1);
  }
}

// How the written lines name tok: `tok` when the first `tok` on $PATH is this very program (the
// line keeps working after an upgrade that moves nothing), else this program's absolute path
// (a build tree's tok, or one not on PATH), so the line runs the tok that wrote it.
std::string tok_program(const World& world) {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec || self.empty()) return "tok";
  const auto found = find_on_path(world, "tok");
  if (found && std::filesystem::equivalent(*found, self, ec) && !ec) return "tok";
  return self.string();
}

std::string home(const Setup& s) {
  const char* h = s.session.world().env("HOME");
  if (h == nullptr || *h == '\0') {
    throw Error(ErrorKind::usage, fmt::format("$HOME is not set: say which file with --file"));
  }
  return h;
}

std::string command_line(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& word : argv) {
    if (!out.empty()) out += ' ';
    out += word.empty() ? "''" : shell_quote(word);
  }
  return out;
}

std::string undo_line(const Setup& s) {
  std::string line = fmt::format("tok setup {} -p {}", s.flags.target, s.profile);
  if (!s.flags.file.empty()) line += " --file " + shell_quote(s.flags.file);
  if (!s.flags.name.empty()) line += " --name " + shell_quote(s.flags.name);
  if (!s.flags.context.empty()) line += " --context " + shell_quote(s.flags.context);
  return line + (s.flags.remove ? "" : " --remove");
}

// Prints what changed (or would), and how to undo it.
void report(const Setup& s, const std::string& where, const std::vector<std::string>& changes) {
  if (changes.empty()) {
    fmt::print("tok setup {}: no change: {} {}\n", s.flags.target, where,
               s.flags.remove ? "holds nothing tok setup wrote for this profile" : "is already set up for this profile");
    return;
  }
  fmt::print("tok setup {}: {}{}:\n", s.flags.target, s.flags.dry_run ? "would change " : "changed ", where);
  for (const std::string& change : changes) fmt::print("  {}\n", change);
  if (s.flags.dry_run) {
    fmt::print("dry run: nothing was written\n");
  } else if (!s.flags.remove) {
    fmt::print("undo: {}\n", undo_line(s));
  } else {
    fmt::print("redo: {}\n", undo_line(s));
  }
}

ProcessResult run_program(const Setup& s, const std::vector<std::string>& argv) {
  ProcessRequest request;
  request.argv = argv;
  request.deadline = s.session.world().steady_now() + std::chrono::seconds(60);
  request.max_stdout = std::size_t{16} << 20;
  const ProcessResult result = s.session.provider_deps().processes().run(request);
  s.session.verbose(fmt::format("ran {}: {}", command_line(argv), result.summary()));
  if (result.not_found) {
    throw Error(ErrorKind::usage, fmt::format("{} is not installed (not found on PATH)", argv[0]),
                fmt::format("install {} first", argv[0]));
  }
  if (!result.spawn_error.empty()) {
    throw Error(ErrorKind::usage, fmt::format("cannot run {}: {}", argv[0], result.spawn_error));
  }
  if (result.timed_out) throw Error(ErrorKind::usage, fmt::format("{} did not finish in 60 s", command_line(argv)));
  return result;
}

// Runs a command that changes the file; a failure stops tok setup with the program's message.
void must_run(const Setup& s, const std::vector<std::string>& argv) {
  const ProcessResult result = run_program(s, argv);
  if (!result.succeeded()) {
    throw Error(ErrorKind::usage, fmt::format("{} failed ({}): {}", command_line(argv), result.summary(),
                                              printable(first_line(result.err))));
  }
}

// -- files tok writes itself ------------------------------------------------------------------

struct TextFile {
  std::filesystem::path path;  // a symlink's target: the link stays
  bool exists = false;
  mode_t mode = 0600;
  std::string text;
};

TextFile read_text_file(const std::filesystem::path& given) {
  TextFile file;
  std::error_code ec;
  file.path = given;
  if (std::filesystem::is_symlink(std::filesystem::symlink_status(given, ec))) {
    file.path = std::filesystem::canonical(given, ec);
    if (ec) throw Error(ErrorKind::usage, fmt::format("{}: a symbolic link to nowhere", given.string()));
  }
  UniqueFd fd(above_stdio(::open(file.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY)));
  if (!fd) {
    if (errno == ENOENT) return file;
    throw Error(ErrorKind::usage, fmt::format("cannot read {}: {}", file.path.string(), std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw Error(ErrorKind::usage, fmt::format("{} is not a regular file", file.path.string()));
  }
  auto text = read_capped(fd.get(), std::size_t{4} << 20);
  if (!text) throw Error(ErrorKind::usage, fmt::format("{}: unreadable, or larger than 4 MiB", file.path.string()));
  file.exists = true;
  file.mode = st.st_mode & 07777;
  file.text = std::move(*text);
  return file;
}

[[noreturn]] void write_fail(const std::filesystem::path& path, const char* what, int error) {
  file_write_failed(path, what, error);
}

// Replaces the file atomically with `text`, in its mode (0600 for a new one): a temporary file
// beside it, fsync, rename over it, fsync of the directory. A reader sees the old file or the
// new one, never a part; a failure leaves the old one.
void write_text_file(const TextFile& file, const std::string& text) {
  const std::filesystem::path dir = file.path.has_parent_path() ? file.path.parent_path() : ".";
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    if (::mkdir(dir.c_str(), 0700) != 0) write_fail(file.path, "cannot create its directory", errno);
  }
  const UniqueFd dfd(above_stdio(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)));
  if (!dfd) write_fail(file.path, "cannot open its directory", errno);
  const std::string name = file.path.filename().string();
  replace_file_atomically(dfd.get(), name, text, file.mode, file.path);
}

// Applies an edit of a file tok writes itself (Docker's, the AWS config).
template <typename Edit>
void edit_file(const Setup& s, const std::filesystem::path& path, Edit edit) {
  const TextFile file = read_text_file(path);
  FileEdit change;
  try {
    change = edit(file.text);
  } catch (const Error& e) {
    throw Error(e.kind(), fmt::format("{}: {}", file.path.string(), e.what()), e.advice());
  }
  if (change.text && !s.flags.dry_run) write_text_file(file, *change.text);
  report(s, file.path.string(), change.changes);
}

// -- git ----------------------------------------------------------------------------------------

std::vector<std::string> git_config(const Setup& s) {
  std::vector<std::string> argv = {"git", "config"};
  if (s.flags.file.empty()) {
    argv.emplace_back("--global");
  } else {
    argv.insert(argv.end(), {"--file", s.flags.file});
  }
  return argv;
}

// Every value of `key`, as git reads the file (none: empty).
std::vector<std::string> git_get_all(const Setup& s, const std::string& key) {
  auto argv = git_config(s);
  argv.insert(argv.end(), {"-z", "--get-all", key});
  const ProcessResult result = run_program(s, argv);
  if (result.exit_status == 1 && result.out.empty()) return {};
  if (!result.succeeded()) {
    throw Error(ErrorKind::usage, fmt::format("{} failed ({}): {}", command_line(argv), result.summary(),
                                              printable(first_line(result.err))));
  }
  std::vector<std::string> values;
  std::string_view out = result.out;
  while (!out.empty()) {
    const std::size_t nul = out.find('\0');
    values.emplace_back(out.substr(0, nul));
    if (nul == std::string_view::npos) break;
    out.remove_prefix(nul + 1);
  }
  return values;
}

// The variables set in git's `credential.<url>` section (lowercased), one per value.
std::vector<std::string> git_section_variables(const Setup& s, const std::string& url) {
  auto argv = git_config(s);
  argv.insert(argv.end(), {"-z", "--list"});
  const ProcessResult result = run_program(s, argv);
  std::vector<std::string> names;
  if (!result.succeeded()) return names;  // no file yet
  const std::string prefix = "credential." + url + ".";
  std::string_view out = result.out;
  while (!out.empty()) {
    const std::size_t nul = out.find('\0');
    const std::string_view entry = out.substr(0, nul);
    const std::string_view key = entry.substr(0, entry.find('\n'));
    if (key.size() > prefix.size() && key.substr(0, prefix.size()) == prefix &&
        key.find('.', prefix.size()) == std::string_view::npos) {
      names.emplace_back(key.substr(prefix.size()));
    }
    if (nul == std::string_view::npos) break;
    out.remove_prefix(nul + 1);
  }
  return names;
}

std::vector<std::string> git_urls(const Setup& s) {
  std::string hosts = value_or_default(s.values, "git_hosts");
  if (hosts.empty()) {
    if (const auto p = s.values.find("provider"); p != s.values.end() && p->second == "github-app") {
      const auto api = s.values.find("api_url");
      hosts = github_git_host(api == s.values.end() ? kGithubApiUrl : std::string_view(api->second));
    }
  }
  std::vector<std::string> urls;
  for (const std::string& text : split_list(hosts)) {
    const HelperEntry entry = read_helper_entry(text);
    std::string url = entry.scheme + "://" + entry.address.host;
    if (!entry.address.port.empty()) url += ":" + entry.address.port;
    for (const std::string& segment : entry.path) url += "/" + segment;
    urls.push_back(url);
  }
  if (urls.empty()) {
    throw Error(ErrorKind::usage, fmt::format("profile {} names no git_hosts: tok setup git has nothing to set up", s.profile),
                "add git_hosts = git.example.com (or host/path-prefix) to the profile");
  }
  return urls;
}

void setup_git(const Setup& s) {
  const std::string helper = fmt::format("!{} git-credential -p {}", shell_quote(s.tok), shell_quote(s.profile));
  const std::string tail = fmt::format(" git-credential -p {}", shell_quote(s.profile));
  const auto ours = [&](const std::vector<std::string>& values) {
    return values.size() == 2 && values[0].empty() && values[1].size() > tail.size() && values[1][0] == '!' &&
           values[1].compare(values[1].size() - tail.size(), tail.size(), tail) == 0;
  };
  std::vector<std::vector<std::string>> commands;
  std::vector<std::string> changes;
  for (const std::string& url : git_urls(s)) {
    const bool path = url.find('/', url.find("://") + 3) != std::string::npos;
    const std::string helper_key = "credential." + url + ".helper";
    const std::string path_key = "credential." + url + ".useHttpPath";
    const auto helpers = git_get_all(s, helper_key);
    const auto use_path = git_get_all(s, path_key);
    if (!helpers.empty() && !ours(helpers)) {
      throw Error(ErrorKind::usage,
                  fmt::format("{} already holds {} helper value{} that tok setup did not write; tok leaves {}",
                              helper_key, helpers.size(), helpers.size() == 1 ? "" : "s",
                              helpers.size() == 1 ? "it" : "them"),
                  fmt::format("remove them first if tok should answer for {}: {}", url,
                              command_line([&] {
                                auto argv = git_config(s);
                                argv.insert(argv.end(), {"--unset-all", helper_key});
                                return argv;
                              }())));
    }
    auto add = [&](std::vector<std::string> tail_args) {
      auto argv = git_config(s);
      argv.insert(argv.end(), tail_args.begin(), tail_args.end());
      changes.push_back(command_line(argv));
      commands.push_back(std::move(argv));
    };
    if (s.flags.remove) {
      if (helpers.empty()) continue;
      add({"--unset-all", helper_key});
      // useHttpPath goes too when it is all that is left of the section (tok set it), and the
      // section's header when nothing is left at all.
      auto rest = git_section_variables(s, url);
      rest.erase(std::remove(rest.begin(), rest.end(), "helper"), rest.end());
      const bool only_path = path && !rest.empty() && std::all_of(rest.begin(), rest.end(), [](const std::string& v) {
        return v == "usehttppath";
      }) && use_path == std::vector<std::string>{"true"};
      if (only_path) add({"--unset-all", path_key});
      if (rest.empty() || only_path) add({"--remove-section", "credential." + url});
      continue;
    }
    if (helpers != std::vector<std::string>{"", helper}) {
      add({"--replace-all", helper_key, ""});
      add({"--add", helper_key, helper});
    }
    if (path && use_path != std::vector<std::string>{"true"}) add({"--replace-all", path_key, "true"});
  }
  if (!s.flags.dry_run) {
    for (const auto& argv : commands) {
      // git 2.39 drops a section's header with its last variable, and then says "no such section".
      if (std::find(argv.begin(), argv.end(), "--remove-section") != argv.end()) {
        run_program(s, argv);
      } else {
        must_run(s, argv);
      }
    }
  }
  report(s, s.flags.file.empty() ? "the global git config (git config --global)" : s.flags.file, changes);
}

// -- Docker -------------------------------------------------------------------------------------

void setup_docker(const Setup& s) {
  std::vector<std::string> registries;
  for (const std::string& text : split_list(value_or_default(s.values, "docker_registries"))) {
    const HelperEntry entry = read_helper_entry(text);
    // Docker names a registry to its helpers by host[:port] (cli/helper_url.hpp).
    std::string key = entry.address.host + (entry.address.port.empty() ? "" : ":" + entry.address.port);
    if (std::find(registries.begin(), registries.end(), key) == registries.end()) registries.push_back(key);
  }
  if (registries.empty()) {
    throw Error(ErrorKind::usage,
                fmt::format("profile {} names no docker_registries: tok setup docker has nothing to set up", s.profile),
                "add docker_registries = registry.example.com to the profile");
  }
  std::filesystem::path path = s.flags.file;
  if (path.empty()) {
    const char* dir = s.session.world().env("DOCKER_CONFIG");
    path = std::filesystem::path(dir != nullptr && *dir != '\0' ? std::string(dir) : home(s) + "/.docker") /
           "config.json";
  }
  edit_file(s, path, [&](const std::string& text) {
    return edit_docker_config(text, registries, "tok", s.flags.remove);
  });
  if (!s.flags.remove && !find_on_path(s.session.world(), "docker-credential-tok")) {
    s.session.warn("docker-credential-tok is not on PATH, where Docker looks for the helper: make install puts it "
                   "beside tok");
  }
}

// -- kubectl ------------------------------------------------------------------------------------

std::vector<std::string> kubectl_config(const Setup& s) {
  std::vector<std::string> argv = {"kubectl", "config"};
  if (!s.flags.file.empty()) argv.insert(argv.end(), {"--kubeconfig", s.flags.file});
  return argv;
}

void setup_kube(const Setup& s) {
  const std::string user = s.flags.name.empty() ? "tok-" + s.profile : s.flags.name;
  for (const std::string* name : {&user, &s.flags.context, &s.tok}) {
    shell_quote(*name);  // refuses a control character
  }
  if (user.find(',') != std::string::npos) throw Error(ErrorKind::usage, "--name: kubectl reads a ',' there as a list");
  auto view = kubectl_config(s);
  view.insert(view.end(), {"view", "--raw", "-o", "json"});
  const ProcessResult shown = run_program(s, view);
  if (!shown.succeeded()) {
    throw Error(ErrorKind::usage, fmt::format("{} failed ({}): {}", command_line(view), shown.summary(),
                                              printable(first_line(shown.err))));
  }
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(shown.out);
  } catch (const nlohmann::json::exception&) {
    throw Error(ErrorKind::usage, fmt::format("{} printed something that is not JSON", command_line(view)));
  }
  const auto find = [&](const char* list, const std::string& name) -> const nlohmann::json* {
    if (!config.contains(list) || !config[list].is_array()) return nullptr;
    for (const auto& item : config[list]) {
      if (item.is_object() && item.value("name", "") == name) return &item;
    }
    return nullptr;
  };
  const std::vector<std::string> args = {"kube-credential", "-p", s.profile};
  const nlohmann::json* existing = find("users", user);
  bool is_ours = false;
  bool same = false;
  if (existing != nullptr) {
    const nlohmann::json u = existing->value("user", nlohmann::json::object());
    const nlohmann::json exec = u.value("exec", nlohmann::json());
    is_ours = exec.is_object() && exec.value("args", nlohmann::json()) == nlohmann::json(args);
    same = is_ours && u.size() == 1 && exec.value("command", "") == s.tok &&
           exec.value("apiVersion", "") == "client.authentication.k8s.io/v1" &&
           exec.value("interactiveMode", "") == "Never" &&
           (exec.value("env", nlohmann::json()).is_null() || exec["env"].empty()) &&
           !exec.value("provideClusterInfo", false);
    if (!is_ours) {
      throw Error(ErrorKind::usage,
                  fmt::format("the kubeconfig already has a user {} that tok setup did not write; tok leaves it", user),
                  "name another user with --name");
    }
  }
  std::string context_user;
  if (!s.flags.context.empty()) {
    const nlohmann::json* context = find("contexts", s.flags.context);
    if (context == nullptr) {
      throw Error(ErrorKind::usage, fmt::format("the kubeconfig has no context {}", s.flags.context),
                  "kubectl config get-contexts lists them; tok setup points an existing context at its user");
    }
    context_user = context->value("context", nlohmann::json::object()).value("user", "");
  }
  std::vector<std::vector<std::string>> commands;
  std::vector<std::string> changes;
  const auto add = [&](std::vector<std::string> tail) {
    auto argv = kubectl_config(s);
    argv.insert(argv.end(), tail.begin(), tail.end());
    changes.push_back(command_line(argv));
    commands.push_back(std::move(argv));
  };
  if (s.flags.remove) {
    if (!s.flags.context.empty() && context_user == user) {
      add({"set-context", s.flags.context, "--user="});
    }
    if (existing != nullptr) {
      add({"delete-user", user});
      if (config.contains("contexts") && config["contexts"].is_array()) {
        for (const auto& c : config["contexts"]) {
          if (!c.is_object()) continue;
          const std::string name = c.value("name", "");
          if (name != s.flags.context &&
              c.value("context", nlohmann::json::object()).value("user", "") == user) {
            s.session.warn(fmt::format("the context {} still names the user {}: kubectl config set-context {} "
                                       "--user=ANOTHER",
                                       name, user, shell_quote(name)));
          }
        }
      }
    }
  } else {
    if (!same) {
      add({"set-credentials", user, "--exec-api-version=client.authentication.k8s.io/v1",
           "--exec-command=" + s.tok, "--exec-arg=" + args[0], "--exec-arg=" + args[1], "--exec-arg=" + args[2],
           "--exec-interactive-mode=Never"});
    }
    if (!s.flags.context.empty() && context_user != user) {
      add({"set-context", s.flags.context, "--user=" + user});
      if (!context_user.empty()) {
        changes.push_back(fmt::format("(context {} named the user {} before; back to it: kubectl config set-context {} "
                                      "--user={})",
                                      s.flags.context, context_user, shell_quote(s.flags.context),
                                      shell_quote(context_user)));
      }
    }
  }
  if (!s.flags.dry_run) {
    for (const auto& argv : commands) must_run(s, argv);
  }
  report(s, s.flags.file.empty() ? "the kubeconfig (kubectl's: $KUBECONFIG or ~/.kube/config)" : s.flags.file,
         changes);
}

// -- AWS ----------------------------------------------------------------------------------------

void setup_aws(const Setup& s) {
  const std::string name = s.flags.name.empty() ? s.profile : s.flags.name;
  std::filesystem::path path = s.flags.file;
  if (path.empty()) {
    const char* file = s.session.world().env("AWS_CONFIG_FILE");
    std::string chosen = file != nullptr && *file != '\0' ? std::string(file) : "~/.aws/config";
    if (chosen.rfind("~/", 0) == 0) chosen = home(s) + chosen.substr(1);  // as the AWS CLI reads it
    path = chosen;
  }
  const std::string value =
      fmt::format("{} get -p {} --format credential-process", shell_quote(s.tok), shell_quote(s.profile));
  edit_file(s, path, [&](const std::string& text) {
    return edit_aws_config(text, name, value, is_tok_credential_process, s.profile, s.flags.remove);
  });
}

int run_setup(Session& session, const SetupFlags& flags) {
  if (session.options.key_flags.count("provider") != 0) {
    throw Error(ErrorKind::usage, "tok setup writes `-p PROFILE` into the program's configuration: the profile must be "
                                  "in the config file, not given with --provider",
                "tok init adds one");
  }
  if (!flags.context.empty() && flags.target != "kube") throw Error(ErrorKind::usage, "--context is for tok setup kube");
  if (!flags.name.empty() && flags.target != "kube" && flags.target != "aws") {
    throw Error(ErrorKind::usage, "--name is for tok setup kube and tok setup aws");
  }
  if (!flags.file.empty()) shell_quote(flags.file);  // refuses a newline
  const Profile profile = resolve_profile(session.options);
  Setup s{session, flags, profile.name, profile.values, tok_program(session.world())};
  shell_quote(s.tok);
  if (!session.options.config_path.empty()) {
    session.warn("the written command names the profile, not --config: the program that runs it must find the same "
                 "config file ($TOK_CONFIG or the default)");
  }
  if (flags.target == "git") {
    setup_git(s);
  } else if (flags.target == "docker") {
    setup_docker(s);
  } else if (flags.target == "kube") {
    try {
      setup_kube(s);
    } catch (const nlohmann::json::exception&) {
      throw Error(ErrorKind::usage, "kubectl config view printed a kubeconfig of a shape tok does not know; nothing "
                                    "was changed");
    }
  } else {
    setup_aws(s);
  }
  return 0;
}

}  // namespace setup_cmd
}  // namespace

void add_setup_command(CLI::App& app, Session& session) {
  using namespace setup_cmd;
  auto flags = std::make_shared<SetupFlags>();
  CLI::App* cmd = app.add_subcommand(
      "setup", "Point git, Docker, kubectl or the AWS CLI at tok for a profile (idempotent; --remove undoes it)");
  cmd->add_option("program", flags->target, "git, docker, kube or aws")
      ->required()
      ->check(CLI::IsMember({"git", "docker", "kube", "aws"}));
  cmd->add_flag("--dry-run", flags->dry_run, "Print the change and write nothing");
  cmd->add_flag("--remove", flags->remove, "Take out what tok setup wrote for the profile, and only that");
  cmd->add_option("--file", flags->file,
                  "The file to change instead of the default: git's global config, $DOCKER_CONFIG/config.json, "
                  "kubectl's kubeconfig, $AWS_CONFIG_FILE");
  cmd->add_option("--name", flags->name, "kube: the kubeconfig user (default tok-PROFILE); aws: the AWS profile "
                                         "(default PROFILE)");
  cmd->add_option("--context", flags->context, "kube: also point this existing kubeconfig context at the user");
  cmd->callback([&session, flags] { session.run = [&session, flags] { return run_setup(session, *flags); }; });
}

}  // namespace tok

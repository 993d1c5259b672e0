// The completion scripts' global flags (cli/completion_flags.hpp): the build writes them from
// kGlobalFlags, and every row of the table, a row only this test adds included, is in every
// shell's script with its names, whether it takes a value, and its help text.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <set>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/arguments.hpp"
#include "cli/completion_flags.hpp"

namespace {

std::string read_completion_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in, path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct CompletionScript {
  const char* shell;
  const char* file;
};
const CompletionScript kScripts[] = {{"bash", "tok.bash"}, {"zsh", "_tok"}, {"fish", "tok.fish"}};

std::string template_of(const CompletionScript& s) {
  return read_completion_file(std::string(TOK_SOURCE_DIR) + "/completions/" + s.file + ".in");
}
// What the build wrote (and tok prints and make install installs).
std::string built_script(const CompletionScript& s) {
  return read_completion_file(std::string(TOK_BINARY_DIR) + "/completions/" + s.file);
}

std::vector<std::string> text_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::set<std::string> word_set(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

// The value of `name="..."` on the line that declares it (bash).
std::string bash_list(const std::string& script, const std::string& name) {
  const auto at = script.find(" " + name + "=\"");
  if (at == std::string::npos) return "<none>";
  const auto from = at + name.size() + 3;
  return script.substr(from, script.find('"', from) - from);
}

std::string replaced_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// The rows of `table` a script does not offer as the row says, each named by its long name:
// read from the script as each shell reads it, not made by the code that wrote it.
std::vector<std::string> global_flags_missing(std::span<const tok::GlobalFlag> table, const std::string& script,
                                              const std::string& shell) {
  std::vector<std::string> missing;
  const auto lines = text_lines(script);
  const std::set<std::string> every = word_set(bash_list(script, "global_flags"));
  std::set<std::string> zsh_values;
  for (const auto& line : lines) {
    const auto at = line.find("global_values=(");
    if (at != std::string::npos) zsh_values = word_set(line.substr(at + 15, line.find(')', at) - at - 15));
  }
  for (const tok::GlobalFlag& flag : table) {
    std::vector<std::string> names;
    if (!flag.short_name.empty()) names.emplace_back(flag.short_name);
    names.emplace_back(flag.long_name);
    const bool takes_value = flag.value != nullptr;
    const std::string help = flag.help;
    bool ok = true;
    if (shell == "bash") {
      // Every name among the flags, and among the value lists exactly when it takes one, in the
      // list of what its value names.
      const char* kinds[] = {"global_profile", "global_file", "global_directory", "global_text"};
      for (const auto& name : names) {
        ok = ok && every.count(name) == 1;
        for (const char* kind : kinds) {
          const bool listed = word_set(bash_list(script, kind)).count(name) == 1;
          const bool wanted = (flag.completes == tok::GlobalFlagValue::profile && kind == kinds[0]) ||
                              (flag.completes == tok::GlobalFlagValue::file && kind == kinds[1]) ||
                              (flag.completes == tok::GlobalFlagValue::directory && kind == kinds[2]) ||
                              (flag.completes == tok::GlobalFlagValue::text && kind == kinds[3]);
          ok = ok && listed == wanted;
        }
      }
    } else if (shell == "zsh") {
      // An _arguments spec a name: NAME, then = (long) or + (short) when it takes a value, then
      // [help] (\ ] : escaped, ' as '\'' in the single quotes); a value's spec says it is one.
      std::string explanation = replaced_all(replaced_all(replaced_all(help, "\\", "\\\\"), "]", "\\]"), ":", "\\:");
      explanation = replaced_all(explanation, "'", "'\\''");
      for (const auto& name : names) {
        const std::string spec =
            name + (takes_value ? (name.substr(0, 2) == "--" ? "=" : "+") : "") + "[" + explanation + "]";
        bool found = false;
        for (const auto& line : lines) {
          const auto at = line.find(spec);
          if (at == std::string::npos || at == 0 || (line[at - 1] != '\'' && line[at - 1] != ')')) continue;
          const std::string rest = line.substr(at + spec.size());
          found = found || (takes_value ? rest.size() > 2 && rest[0] == ':' : rest == "'");
        }
        ok = ok && found && zsh_values.count(name) == (takes_value ? 1U : 0U);
      }
    } else {
      // complete -c tok [-s X] -l NAME [-x or -r when it takes a value] ... -d 'help'
      std::string prefix = "complete -c tok";
      if (!flag.short_name.empty()) prefix += " -s " + std::string(flag.short_name.substr(1));
      prefix += " -l " + std::string(flag.long_name.substr(2));
      const std::string description = " -d '" + replaced_all(replaced_all(help, "\\", "\\\\"), "'", "\\'") + "'";
      bool found = false;
      for (const auto& line : lines) {
        if (line.rfind(prefix + " ", 0) != 0 || line.size() < description.size() ||
            line.substr(line.size() - description.size()) != description) {
          continue;
        }
        const std::string between = line.substr(prefix.size(), line.size() - prefix.size() - description.size());
        const bool value = between.rfind(" -x", 0) == 0 || between.rfind(" -r", 0) == 0;
        found = found || (value == takes_value && (takes_value || between.empty()));
      }
      ok = found;
    }
    if (!ok) missing.emplace_back(flag.long_name);
  }
  return missing;
}

// kGlobalFlags and a row only this test knows, whose help needs quoting in every shell.
std::vector<tok::GlobalFlag> table_with_fake_row(tok::GlobalFlagValue completes = tok::GlobalFlagValue::text) {
  std::vector<tok::GlobalFlag> table(std::begin(tok::kGlobalFlags), std::end(tok::kGlobalFlags));
  table.push_back({"-z", "--fake-global", &tok::GlobalOptions::profile, nullptr, completes,
                   "A flag only this test knows: it's [odd] \\ $HOME `x`"});
  return table;
}

}  // namespace

TEST_SUITE("completion") {

TEST_CASE("every row of kGlobalFlags is in every completion script the build wrote, with its value and help") {
  for (const CompletionScript& s : kScripts) {
    CAPTURE(s.file);
    const std::string script = built_script(s);
    CHECK(script == tok::fill_completion_template(template_of(s), tok::kGlobalFlags, s.shell));
    CHECK(global_flags_missing(tok::kGlobalFlags, script, s.shell).empty());
    CHECK(script.find(tok::kGlobalFlagsMarker) == std::string::npos);
  }
}

TEST_CASE("a row added to the global flags' table is in every shell's script, and missing from one without it") {
  for (const auto completes : {tok::GlobalFlagValue::text, tok::GlobalFlagValue::profile, tok::GlobalFlagValue::file,
                               tok::GlobalFlagValue::directory}) {
    const auto table = table_with_fake_row(completes);
    for (const CompletionScript& s : kScripts) {
      CAPTURE(s.file);
      // The build's script, written without the row, lacks it (and only it).
      CHECK(global_flags_missing(table, built_script(s), s.shell) == std::vector<std::string>{"--fake-global"});
      // Written from the table with it, it has every row.
      const std::string script = tok::fill_completion_template(template_of(s), table, s.shell);
      CHECK(global_flags_missing(table, script, s.shell).empty());
    }
  }
  // A switch, too.
  std::vector<tok::GlobalFlag> table(std::begin(tok::kGlobalFlags), std::end(tok::kGlobalFlags));
  table.push_back({"", "--fake-switch", nullptr, &tok::GlobalOptions::verbose, tok::GlobalFlagValue::none, "A switch"});
  for (const CompletionScript& s : kScripts) {
    CAPTURE(s.file);
    CHECK(global_flags_missing(table, built_script(s), s.shell) == std::vector<std::string>{"--fake-switch"});
    CHECK(global_flags_missing(table, tok::fill_completion_template(template_of(s), table, s.shell), s.shell).empty());
  }
}

TEST_CASE("a global flag the scripts cannot spell safely stops the build") {
  const auto refused = [](tok::GlobalFlag row) {
    std::vector<tok::GlobalFlag> table{row};
    for (const char* shell : {"bash", "zsh", "fish"}) {
      CAPTURE(shell);
      CHECK_THROWS_AS(tok::global_flags_completion(table, shell), std::invalid_argument);
    }
  };
  const tok::GlobalFlag good{"-z", "--zed", &tok::GlobalOptions::profile, nullptr, tok::GlobalFlagValue::text, "Zed"};
  for (const char* shell : {"bash", "zsh", "fish"}) {
    CHECK_NOTHROW(tok::global_flags_completion(std::vector<tok::GlobalFlag>{good}, shell));
  }
  CHECK_THROWS_AS(tok::global_flags_completion(std::vector<tok::GlobalFlag>{good}, "tcsh"), std::invalid_argument);
  for (const char* name : {"--Zed", "--z$(x)", "-zed", "--", "---z", "--z ed", "--z\"d"}) {
    CAPTURE(name);
    auto row = good;
    row.long_name = name;
    refused(row);
  }
  for (const char* name : {"z", "-zz", "-$", "--"}) {
    CAPTURE(name);
    auto row = good;
    row.short_name = name;
    refused(row);
  }
  auto row = good;
  row.help = "two\nlines";
  refused(row);
  row = good;
  row.help = "";
  refused(row);
  row = good;
  row.completes = tok::GlobalFlagValue::none;  // takes a value but completes none
  refused(row);
  row = {"", "--sw", nullptr, &tok::GlobalOptions::verbose, tok::GlobalFlagValue::file, "A switch"};
  refused(row);
  row = {"", "--both", &tok::GlobalOptions::profile, &tok::GlobalOptions::verbose, tok::GlobalFlagValue::text, "Both"};
  refused(row);
}

TEST_CASE("a completion template holds the global flags' marker once, and its lines take the marker's indentation") {
  const std::vector<tok::GlobalFlag> table{
      {"", "--zed", &tok::GlobalOptions::profile, nullptr, tok::GlobalFlagValue::text, "Zed"}};
  const std::string filled = tok::fill_completion_template("a\n    @TOK_GLOBAL_FLAGS@\nb", table, "bash");
  CHECK(filled.rfind("a\n    # The global flags", 0) == 0);
  CHECK(filled.find("\n    local global_flags=\"--zed\"\n") != std::string::npos);
  CHECK(filled.substr(filled.size() - 2) == "\nb");
  CHECK_THROWS_AS(tok::fill_completion_template("no marker\n", table, "bash"), std::invalid_argument);
  CHECK_THROWS_AS(tok::fill_completion_template("x @TOK_GLOBAL_FLAGS@\n", table, "bash"), std::invalid_argument);
  CHECK_THROWS_AS(tok::fill_completion_template("@TOK_GLOBAL_FLAGS@\n@TOK_GLOBAL_FLAGS@\n", table, "fish"),
                  std::invalid_argument);
}

}  // TEST_SUITE

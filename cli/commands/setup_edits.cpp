#include "cli/commands/setup_edits.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/env_lines.hpp"
#include "core/error.hpp"

namespace tok {

namespace {

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

}  // namespace

std::string shell_quote(std::string_view word) {
  if (has_control(word)) {
    throw Error(ErrorKind::usage, "a path or name with a control character (a newline) cannot be written into a "
                                  "configuration line");
  }
  const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("_./@%+=:,-").find(c) != std::string_view::npos;
  });
  return plain ? std::string(word) : sh_quote(word);
}

// -- Docker -----------------------------------------------------------------------------------

FileEdit edit_docker_config(std::string_view text, const std::vector<std::string>& registries,
                            std::string_view helper, bool remove) {
  using Json = nlohmann::ordered_json;
  const bool blank = text.find_first_not_of(" \t\r\n") == std::string_view::npos;
  Json doc = Json::object();
  if (!blank) {
    try {
      doc = Json::parse(text);
    } catch (const Json::parse_error& e) {
      // nlohmann's message names the byte offset and the token, never more of the file.
      throw Error(ErrorKind::usage, fmt::format("it is not JSON Docker can read ({}); it was left as it is", e.what()),
                  "fix it (or move it away) and run tok setup docker again");
    }
  }
  if (!doc.is_object()) {
    throw Error(ErrorKind::usage, "it is not a JSON object, which Docker cannot read; it was left as it is");
  }
  if (doc.contains("credHelpers")) {
    const Json& helpers = doc["credHelpers"];
    const bool strings = helpers.is_object() && std::all_of(helpers.begin(), helpers.end(),
                                                            [](const Json& v) { return v.is_string(); });
    if (!strings) {
      throw Error(ErrorKind::usage,
                  "its credHelpers is not an object of helper names, which Docker cannot read; it was left as it is");
    }
  }
  // The layout to write back: the first of Docker's (tabs), two or four spaces that reproduces
  // the file as it is, so that a file tok only added to comes back byte for byte.
  const bool final_newline = !text.empty() && text.back() == '\n';
  struct Layout {
    int width;
    char fill;
  };
  Layout layout{1, '\t'};
  for (const Layout candidate : {Layout{1, '\t'}, Layout{2, ' '}, Layout{4, ' '}}) {
    if (!blank && doc.dump(candidate.width, candidate.fill) + (final_newline ? "\n" : "") == text) {
      layout = candidate;
      break;
    }
  }
  FileEdit edit;
  Json helpers = doc.contains("credHelpers") ? doc["credHelpers"] : Json::object();
  for (const std::string& registry : registries) {
    const auto it = helpers.find(registry);
    if (remove) {
      if (it != helpers.end() && *it == helper) {
        helpers.erase(registry);
        edit.changes.push_back(fmt::format("removed credHelpers[\"{}\"] = \"{}\"", registry, helper));
      }
      continue;
    }
    if (it == helpers.end()) {
      helpers[registry] = helper;
      edit.changes.push_back(fmt::format("added credHelpers[\"{}\"] = \"{}\"", registry, helper));
    } else if (*it != helper) {
      throw Error(ErrorKind::usage,
                  fmt::format("credHelpers[\"{}\"] already names the helper \"{}\"; tok leaves it", registry,
                              it->get<std::string>()),
                  "remove that entry first if tok should answer for this registry");
    }
  }
  if (edit.changes.empty()) return edit;
  if (helpers.empty() && remove) {
    doc.erase("credHelpers");
  } else {
    doc["credHelpers"] = helpers;
  }
  edit.text = doc.dump(layout.width, layout.fill) + (final_newline || blank ? "\n" : "");
  return edit;
}

// -- AWS --------------------------------------------------------------------------------------

namespace {

constexpr std::string_view kProfileSafe = "_.@%+=:,-/";

bool plain_profile_name(std::string_view name) {
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kProfileSafe.find(c) != std::string_view::npos;
  });
}

// A header's words as shlex.split reads them (botocore: `[profile "my name"]` is the profile
// `my name`): blanks separate words, quotes group them, a backslash outside single quotes keeps
// the next character. nullopt when the quotes do not close.
std::optional<std::vector<std::string>> shlex_words(std::string_view s) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(std::exchange(word, {}));
      in_word = false;
    } else if (c == '\'' || c == '"') {
      in_word = true;
      const std::size_t end = s.find(c, i + 1);
      if (end == std::string_view::npos) return std::nullopt;
      for (std::size_t j = i + 1; j < end; ++j) {
        if (c == '"' && s[j] == '\\' && j + 1 < end && (s[j + 1] == '"' || s[j + 1] == '\\')) ++j;
        word += s[j];
      }
      i = end;
    } else if (c == '\\' && i + 1 < s.size()) {
      in_word = true;
      word += s[++i];
    } else {
      in_word = true;
      word += c;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

struct Line {
  std::size_t begin;  // offset in the text
  std::size_t end;    // past its newline
  std::string_view body;  // without the newline
};

std::vector<Line> split_lines(std::string_view text) {
  std::vector<Line> lines;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t nl = text.find('\n', at);
    const std::size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string_view body = text.substr(at, (nl == std::string_view::npos ? text.size() : nl) - at);
    if (!body.empty() && body.back() == '\r') body.remove_suffix(1);
    lines.push_back({at, end, body});
    at = end;
  }
  return lines;
}

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// A section header as Python's configparser reads it: '[' first on the line, up to the last ']'.
std::optional<std::string_view> header_of(std::string_view line) {
  if (line.empty() || line[0] != '[') return std::nullopt;
  const std::size_t close = line.rfind(']');
  if (close == std::string_view::npos || close < 2) return std::nullopt;
  return line.substr(1, close - 1);
}

bool names_profile(std::string_view header, std::string_view name) {
  if (name == "default" && trim(header) == "default") return true;
  const auto words = shlex_words(header);
  return words && words->size() == 2 && (*words)[0] == "profile" && (*words)[1] == name;
}

// A `key = value` (or `key: value`) line of a section: not blank, not a comment, not indented
// (an indented line continues the value above).
struct KeyLine {
  std::string key;  // lowercased, as configparser's optionxform
  std::string_view value;
};
std::optional<KeyLine> key_line(std::string_view line) {
  if (line.empty() || line[0] == ' ' || line[0] == '\t' || line[0] == '#' || line[0] == ';') return std::nullopt;
  const std::size_t at = line.find_first_of("=:");
  if (at == std::string_view::npos) return std::nullopt;
  std::string key(trim(line.substr(0, at)));
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return KeyLine{key, trim(line.substr(at + 1))};
}

bool is_blank(std::string_view line) { return trim(line).empty(); }

}  // namespace

std::string aws_profile_header(std::string_view name) {
  if (name.empty() || has_control(name) || name.find_first_of("\"\\[]") != std::string_view::npos ||
      trim(name).size() != name.size()) {
    throw Error(ErrorKind::usage, "an AWS profile name must be one line without quotes, backslashes, brackets or "
                                  "blanks at its ends");
  }
  return plain_profile_name(name) ? fmt::format("[profile {}]", name) : fmt::format("[profile \"{}\"]", name);
}

bool is_tok_credential_process(std::string_view value, std::string_view profile) {
  const std::string tail = fmt::format(" get -p {} --format credential-process", shell_quote(profile));
  return value.size() > tail.size() && value.substr(value.size() - tail.size()) == tail;
}

FileEdit edit_aws_config(std::string_view text, std::string_view name, std::string_view value,
                         bool (*ours)(std::string_view value, std::string_view profile), std::string_view profile,
                         bool remove) {
  const std::string header = aws_profile_header(name);
  if (has_control(value)) throw Error(ErrorKind::usage, "a credential_process with a control character");
  const std::string wanted = fmt::format("credential_process = {}", value);
  const auto lines = split_lines(text);
  // The profile's section: its header and the lines up to the next header.
  std::size_t head = lines.size();
  for (std::size_t i = 0; i < lines.size() && head == lines.size(); ++i) {
    if (const auto h = header_of(lines[i].body); h && names_profile(*h, name)) head = i;
  }
  FileEdit edit;
  if (head == lines.size()) {
    if (remove) return edit;
    std::string out(text);
    if (!out.empty() && out.back() != '\n') out += '\n';
    if (!out.empty()) out += '\n';
    out += header + "\n" + wanted + "\n";
    edit.text = std::move(out);
    edit.changes.push_back(fmt::format("added {}", header));
    edit.changes.push_back(fmt::format("added {}", wanted));
    return edit;
  }
  std::size_t end = head + 1;
  while (end < lines.size() && !header_of(lines[end].body)) ++end;
  std::size_t process = end;  // the credential_process line
  static constexpr std::array kOtherSources = {"aws_access_key_id", "aws_secret_access_key", "aws_session_token",
                                              "role_arn", "source_profile", "credential_source",
                                              "web_identity_token_file", "sso_session", "sso_start_url",
                                              "sso_account_id", "login_session"};
  for (std::size_t i = head + 1; i < end; ++i) {
    const auto kv = key_line(lines[i].body);
    if (!kv) continue;
    if (kv->key == "credential_process") {
      if (process != end) {
        throw Error(ErrorKind::usage, fmt::format("{} sets credential_process twice; tok leaves it alone", header));
      }
      process = i;
    } else if (!remove && std::find(kOtherSources.begin(), kOtherSources.end(), kv->key) != kOtherSources.end()) {
      throw Error(ErrorKind::usage,
                  fmt::format("{} already gets its credentials another way ({}); tok leaves it alone", header, kv->key),
                  "name another AWS profile with --name, or take those lines out first");
    }
  }
  if (process != end) {
    const std::string_view current = key_line(lines[process].body)->value;
    // A value that continues on indented lines is not one tok wrote.
    const bool continued = process + 1 < end && !lines[process + 1].body.empty() &&
                           (lines[process + 1].body[0] == ' ' || lines[process + 1].body[0] == '\t') &&
                           !is_blank(lines[process + 1].body);
    if (continued || !ours(current, profile)) {
      throw Error(ErrorKind::usage,
                  fmt::format("{} already has a credential_process that is not tok's for profile {}; tok leaves it",
                              header, profile),
                  remove ? "nothing was removed" : "name another AWS profile with --name, or take that line out first");
    }
  }
  std::string out;
  if (remove) {
    if (process == end) return edit;
    edit.changes.push_back(fmt::format("removed {} from {}", lines[process].body, header));
    bool empty = true;
    for (std::size_t i = head + 1; i < end; ++i) empty = empty && (i == process || is_blank(lines[i].body));
    std::size_t cut_begin = lines[process].begin;
    std::size_t cut_end = lines[process].end;
    if (empty) {
      // The section holds nothing else: it goes, with the blank line tok put before it when it
      // was the file's last.
      cut_begin = lines[head].begin;
      cut_end = end < lines.size() ? lines[end].begin : text.size();
      if (end == lines.size() && head > 0 && is_blank(lines[head - 1].body)) cut_begin = lines[head - 1].begin;
      edit.changes.push_back(fmt::format("removed {} (nothing else was in it)", header));
    }
    out = std::string(text.substr(0, cut_begin)) + std::string(text.substr(cut_end));
  } else if (process == end) {
    const std::size_t at = lines[head].end;
    const std::string before(text.substr(0, at));
    out = before + (before.back() == '\n' ? "" : "\n") + wanted + "\n" + std::string(text.substr(at));
    edit.changes.push_back(fmt::format("added {} to {}", wanted, header));
  } else {
    if (lines[process].body == wanted) return edit;
    const Line& line = lines[process];
    const std::string_view eol = text.substr(line.begin + line.body.size(), line.end - line.begin - line.body.size());
    out = std::string(text.substr(0, line.begin)) + wanted + std::string(eol.empty() ? "\n" : eol) +
          std::string(text.substr(line.end));
    edit.changes.push_back(fmt::format("replaced {} in {}", line.body, header));
    edit.changes.push_back(fmt::format("  with {}", wanted));
  }
  edit.text = std::move(out);
  return edit;
}

}  // namespace tok

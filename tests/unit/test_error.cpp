// core/error: one exit status per error kind, the few others named beside them, and errors that
// keep their advice when a provider puts its context in front.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "core/error.hpp"

namespace {

std::string read_source(const std::string& relative) {
  std::ifstream in(std::string(TOK_SOURCE_DIR) + "/" + relative);
  REQUIRE_MESSAGE(in.good(), "cannot read " << relative);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("in_context: the message gains its context, the kind, advice and outage stay") {
  tok::Error e(tok::ErrorKind::refused, "HTTP 401: bad client", "check client_id");
  e.mark_outage(std::chrono::milliseconds(1500));
  const tok::Error wrapped = tok::in_context(e, "fetching a token from https://idp.example/token");
  CHECK(std::string(wrapped.what()) == "fetching a token from https://idp.example/token: HTTP 401: bad client");
  CHECK(wrapped.kind() == tok::ErrorKind::refused);
  CHECK(wrapped.advice() == "check client_id");
  CHECK(wrapped.outage());
  CHECK(wrapped.retry_after() == std::chrono::milliseconds(1500));
}

TEST_CASE("every exit status tok uses is core/error's, and each is in the man page") {
  std::set<int> ours = {0, tok::kExitDockerHelperFailure, tok::kExitNoUsableToken, tok::kExitCannotRun,
                        tok::kExitNotFound};
  for (auto kind : {tok::ErrorKind::usage, tok::ErrorKind::refused, tok::ErrorKind::unavailable,
                    tok::ErrorKind::storage, tok::ErrorKind::internal}) {
    ours.insert(tok::exit_code(kind));
  }
  // docs/tok.1, EXIT STATUS: ".B N" or ".BR "N, " M" lines, up to the next section.
  const std::string man = read_source("docs/tok.1");
  const auto from = man.find(".SH EXIT STATUS");
  REQUIRE(from != std::string::npos);
  const std::string section = man.substr(from, man.find("\n.SH", from + 1) - from);
  std::set<int> documented;
  const std::regex status_line(R"re(\n\.BR? "?(\d+)"?(?: ", " (\d+))?\n)re");
  for (auto it = std::sregex_iterator(section.begin(), section.end(), status_line); it != std::sregex_iterator(); ++it) {
    documented.insert(std::stoi((*it)[1]));
    if ((*it)[2].matched) documented.insert(std::stoi((*it)[2]));
  }
  CHECK(documented == ours);

  // A command that returned a number of its own would choose an exit status behind error.hpp's back.
  const std::regex literal_status(R"re(\breturn\s+[1-9]\d*\s*;|\?\s*1[0-9][0-9]\s*:)re");
  // Every folder of cli/ (commands/, helpers/, serve/), not only its top.
  const std::filesystem::path root(TOK_SOURCE_DIR);
  for (const auto& item : std::filesystem::recursive_directory_iterator(root / "cli")) {
    if (item.path().extension() != ".cpp") continue;
    const std::string file = item.path().lexically_relative(root).string();
    CAPTURE(file);
    CHECK_FALSE(std::regex_search(read_source(file), literal_status));
  }
}

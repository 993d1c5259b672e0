#pragma once
// The seams of ProviderDeps, faked for provider tests: a scripted HTTP transport, a scripted
// process runner, the fake world (fake_world.hpp: clocks that move only when something sleeps,
// an environment of its own), and a guard that sets the time zone for one test.
#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>
#include <deque>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "fake_world.hpp"
#include "providers/http.hpp"
#include "providers/process.hpp"
#include "providers/provider.hpp"

namespace tok_test {

using namespace std::chrono_literals;

using Settings = std::map<std::string, std::string, std::less<>>;

class ScriptedTransport final : public tok::HttpTransport {
 public:
  std::deque<tok::HttpResult> script;  // answers in order; the last one repeats
  std::vector<tok::HttpRequest> requests;

  tok::HttpResult perform(const tok::HttpRequest& request) override {
    requests.push_back(request);
    REQUIRE_FALSE(script.empty());
    tok::HttpResult r = script.front();
    if (script.size() > 1) script.pop_front();
    return r;
  }

  ScriptedTransport& answer(long status, std::string body,
                            std::vector<std::pair<std::string, std::string>> headers = {}) {
    tok::HttpResult r;
    r.response.status = status;
    r.response.body = std::move(body);
    r.response.headers = std::move(headers);
    script.push_back(std::move(r));
    return *this;
  }

  ScriptedTransport& fail(tok::TransportFailure failure, std::string error) {
    tok::HttpResult r;
    r.failure = failure;
    r.error = std::move(error);
    script.push_back(std::move(r));
    return *this;
  }

  // "Name: value" of the last request, or nullopt.
  std::optional<std::string> header(std::string_view name, std::size_t request = SIZE_MAX) const {
    const auto& r = request == SIZE_MAX ? requests.back() : requests.at(request);
    for (const auto& h : r.headers) {
      if (h.size() > name.size() && h.compare(0, name.size(), name) == 0 && h[name.size()] == ':') {
        return h.substr(name.size() + 2);
      }
    }
    return std::nullopt;
  }
};

class ScriptedRunner final : public tok::ProcessRunner {
 public:
  std::deque<tok::ProcessResult> script;  // answers in order; the last one repeats
  std::vector<tok::ProcessRequest> requests;

  tok::ProcessResult run(const tok::ProcessRequest& request) override {
    requests.push_back(request);
    REQUIRE_FALSE(script.empty());
    tok::ProcessResult r = script.front();
    if (script.size() > 1) script.pop_front();
    return r;
  }

  ScriptedRunner& exits(int status, std::string out, std::string err = {}) {
    tok::ProcessResult r;
    r.exit_status = status;
    r.out = std::move(out);
    r.err = std::move(err);
    script.push_back(std::move(r));
    return *this;
  }
};

// TZ for the guard's life (mktime and localtime read it after tzset): the C library's time zone,
// which no World carries. The only variable a test sets in the process environment.
class TzGuard {
 public:
  explicit TzGuard(const std::string& zone) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    ::setenv("TZ", zone.c_str(), 1);
    ::tzset();
  }
  TzGuard(const TzGuard&) = delete;
  TzGuard& operator=(const TzGuard&) = delete;
  ~TzGuard() {
    if (old_) {
      ::setenv("TZ", old_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

 private:
  std::optional<std::string> old_;
};
// The tok::Error that `f` throws (a failed test if it throws none).
template <typename F>
tok::Error error_from(F&& f) {
  try {
    f();
  } catch (const tok::Error& e) {
    return e;
  }
  FAIL("expected a tok::Error");
  return tok::Error(tok::ErrorKind::internal, "unreachable");
}

inline bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

inline tok::HttpResult http_status(long code, std::string body = {},
                                   std::vector<std::pair<std::string, std::string>> headers = {}) {
  tok::HttpResult r;
  r.response.status = code;
  r.response.body = std::move(body);
  r.response.headers = std::move(headers);
  return r;
}

// A field of an application/x-www-form-urlencoded body, decoded; "<absent>" when it is not there.
inline std::string form_field(const std::string& body, const std::string& name) {
  const auto decode = [](const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        out += ' ';
      } else if (s[i] == '%' && i + 2 < s.size()) {
        out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  };
  std::size_t pos = 0;
  while (pos <= body.size()) {
    const auto amp = std::min(body.find('&', pos), body.size());
    const std::string pair = body.substr(pos, amp - pos);
    const auto eq = pair.find('=');
    if (decode(pair.substr(0, eq)) == name) return eq == std::string::npos ? "" : decode(pair.substr(eq + 1));
    pos = amp + 1;
  }
  return "<absent>";
}

// A login's entry token: an old access token and its refresh token.
inline tok::Token with_refresh_token(std::string refresh_token) {
  tok::Token t;
  t.access_token = "old";
  t.fields[tok::kRefreshTokenField] = std::move(refresh_token);
  return t;
}

}  // namespace tok_test

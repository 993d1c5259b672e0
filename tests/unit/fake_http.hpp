#pragma once
// A scripted HTTP transport for provider tests: answers in order (the last one repeats) and
// keeps every request it was given.
#include <doctest/doctest.h>

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "providers/http.hpp"

namespace tok_test {

class FakeTransport final : public tok::HttpTransport {
 public:
  std::deque<tok::HttpResult> script;
  std::vector<tok::HttpRequest> requests;

  tok::HttpResult perform(const tok::HttpRequest& request) override {
    requests.push_back(request);
    REQUIRE_FALSE(script.empty());
    tok::HttpResult r = script.front();
    if (script.size() > 1) script.pop_front();
    return r;
  }
};

inline tok::HttpResult http_status(long code, std::string body = {},
                                   std::vector<std::pair<std::string, std::string>> headers = {}) {
  tok::HttpResult r;
  r.response.status = code;
  r.response.body = std::move(body);
  r.response.headers = std::move(headers);
  return r;
}

// The form fields of an application/x-www-form-urlencoded body, decoded.
std::vector<std::pair<std::string, std::string>> form_fields(const std::string& body);
std::string form_field(const std::string& body, const std::string& name);

}  // namespace tok_test

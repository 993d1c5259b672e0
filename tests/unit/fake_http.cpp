#include "fake_http.hpp"

namespace tok_test {

namespace {

std::string decode(const std::string& s) {
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
}

}  // namespace

std::vector<std::pair<std::string, std::string>> form_fields(const std::string& body) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    const auto amp = std::min(body.find('&', pos), body.size());
    const std::string pair = body.substr(pos, amp - pos);
    const auto eq = pair.find('=');
    if (!pair.empty()) out.emplace_back(decode(pair.substr(0, eq)), eq == std::string::npos ? "" : decode(pair.substr(eq + 1)));
    pos = amp + 1;
  }
  return out;
}

std::string form_field(const std::string& body, const std::string& name) {
  for (const auto& [k, v] : form_fields(body)) {
    if (k == name) return v;
  }
  return "<absent>";
}

}  // namespace tok_test

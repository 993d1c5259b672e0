#include "providers/key_spec.hpp"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "core/duration.hpp"
#include "providers/http.hpp"

namespace tok {

namespace {

constexpr KeySpec kCommonKeys[] = {
    {.name = "default_lifetime",
     .owner = KeyOwner::provider,
     .type = KeyType::duration,
     .help = "lifetime of an answer that carries none (else it is malformed)"},
};

}  // namespace

KeyError::KeyError(std::string key, std::string_view what, std::string advice)
    : Error(ErrorKind::usage, fmt::format("key '{}': {}", key, what), std::move(advice)), key_(std::move(key)) {}

KeyError::KeyError(Worded, std::string key, std::string message, std::string advice)
    : Error(ErrorKind::usage, std::move(message), std::move(advice)), key_(std::move(key)) {}

KeyError KeyError::worded(std::string key, std::string message, std::string advice) {
  return KeyError(Worded{}, std::move(key), std::move(message), std::move(advice));
}

std::span<const KeySpec> provider_common_keys() { return kCommonKeys; }

const KeySpec* find_key(std::span<const KeySpec> keys, std::string_view name) {
  for (const KeySpec& k : keys) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

std::string flag_of(std::string_view key) {
  std::string flag = "--" + std::string(key);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

std::vector<std::string_view> choices_of(const KeySpec& spec) {
  std::vector<std::string_view> out;
  std::string_view rest = spec.choices;
  while (!rest.empty()) {
    const auto bar = rest.find('|');
    out.push_back(rest.substr(0, bar));
    rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
  }
  return out;
}

Duration key_duration(const KeySpec& spec, std::string_view value) {
  // Named by the bare key (no message is formatted on the cache hit's path); an error's words
  // are kept behind "key 'NAME': ".
  try {
    return parse_duration_or_throw(value, spec.name,
                                   spec.type == KeyType::duration_or_zero ? ZeroIs::none : ZeroIs::an_error);
  } catch (const Error& e) {
    const std::string_view message = e.what();
    const std::string prefix = std::string(spec.name) + ": ";
    throw KeyError(std::string(spec.name),
                   message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message, e.advice());
  }
}

bool key_boolean(const KeySpec& spec, std::string_view v) {
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  throw KeyError(std::string(spec.name), fmt::format("'{}' is not true or false", printable(v)));
}

double key_fraction(const KeySpec& spec, std::string_view text) {
  // A plain decimal fraction: 0, 0.1, 1 (strtod would also take "nan", "inf" and hex floats).
  const bool decimal = !text.empty() && text.size() <= 16 && text.find_first_not_of("0123456789.") == std::string::npos &&
                       std::count(text.begin(), text.end(), '.') <= 1 && text.front() != '.' && text.back() != '.';
  const double value = decimal ? std::strtod(std::string(text).c_str(), nullptr) : -1.0;
  if (!(value >= 0.0 && value <= 1.0)) {
    throw KeyError(std::string(spec.name), fmt::format("'{}' is not a fraction from 0 to 1", printable(text)));
  }
  return value;
}

void check_key_value(const KeySpec& spec, std::string_view value) {
  switch (spec.type) {
    case KeyType::text:
      // One line, as a config file writes it: the helpers hand these values on in line protocols
      // (git's credential answer, GCP's metadata lists), where a line break or a NUL would be read
      // as a line of its own or cut the value. Not quoted: a command's arguments may carry a secret.
      if (value.find_first_of(std::string_view("\n\r\0", 3)) != std::string_view::npos) {
        throw KeyError(std::string(spec.name), "the value holds a line break or a NUL: a value is one line");
      }
      return;
    case KeyType::url:
      if (auto problem = check_url(std::string(value))) throw KeyError(std::string(spec.name), *problem);
      return;
    case KeyType::duration:
    case KeyType::duration_or_zero: (void)key_duration(spec, value); return;
    case KeyType::boolean: (void)key_boolean(spec, value); return;
    case KeyType::fraction: (void)key_fraction(spec, value); return;
    case KeyType::choice: {
      const auto choices = choices_of(spec);
      if (std::find(choices.begin(), choices.end(), value) != choices.end()) return;
      throw KeyError(std::string(spec.name),
                     fmt::format("'{}' is not one of: {}", printable(value), fmt::join(choices, ", ")));
    }
  }
}

}  // namespace tok

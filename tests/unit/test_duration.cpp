// core/duration: durations as users write them ("40s", "5m", "1h30m", "250ms", "2d").
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "core/duration.hpp"
#include "core/error.hpp"

using namespace std::chrono_literals;
using tok::Duration;
using tok::format_duration;
using tok::parse_duration;

TEST_SUITE("duration") {

TEST_CASE("parse_duration: valid forms") {
  CHECK(parse_duration("40s") == Duration{40s});
  CHECK(parse_duration("5m") == Duration{5min});
  CHECK(parse_duration("1h30m") == Duration{90min});
  CHECK(parse_duration("250ms") == Duration{250ms});
  CHECK(parse_duration("2d") == Duration{48h});
  CHECK(parse_duration("0") == Duration{0});
  CHECK(parse_duration("0s") == Duration{0});
  CHECK(parse_duration("0ms") == Duration{0});
  CHECK(parse_duration("90s") == Duration{90s});  // no normalisation required
  CHECK(parse_duration("1m30s") == Duration{90s});
  CHECK(parse_duration("1d2h3m4s5ms") == Duration{24h + 2h + 3min + 4s + 5ms});
  CHECK(parse_duration("1h5ms") == Duration{1h + 5ms});  // units may be skipped
  CHECK(parse_duration("007s") == Duration{7s});
  CHECK(parse_duration("1000ms") == Duration{1s});
}

TEST_CASE("parse_duration: rejected forms") {
  for (const char* bad : {"", "5", "m", "ms", "5x", "5 s", " 5s", "5s ", "\t5s", "-5s", "+5s", "5s-", "1m1h", "1s1m",
                          "1ms1s", "30m1h", "1h1h", "1m1m", "5s5s", "1h30", "1.5h", "5S", "5M", "1h 30m", "s5",
                          "00", "0x10s", "5min", "5sec", "5mss"}) {
    CAPTURE(std::string(bad));
    CHECK_FALSE(parse_duration(bad).has_value());
  }
}

TEST_CASE("parse_duration: overflow is rejected, not wrapped") {
  CHECK_FALSE(parse_duration("99999999999999999999ms").has_value());   // the number itself
  CHECK_FALSE(parse_duration("9223372036854775807s").has_value());     // number * unit
  CHECK_FALSE(parse_duration("106751991168d").has_value());            // just over int64 ms
  CHECK_FALSE(parse_duration("106751991167d23h").has_value());         // the sum
  CHECK(parse_duration("106751991167d").has_value());                  // just under
  CHECK(parse_duration("9223372036854775ms") == Duration{9223372036854775});
  CHECK_FALSE(parse_duration("9223372036854775808ms").has_value());
}

TEST_CASE("parse_duration_or_throw names what was being parsed") {
  CHECK(tok::parse_duration_or_throw("5m", "key 'retry_backoff'") == Duration{5min});
  try {
    tok::parse_duration_or_throw("5x", "key 'retry_backoff'");
    FAIL("expected an error");
  } catch (const tok::Error& e) {
    CHECK(e.kind() == tok::ErrorKind::usage);
    const std::string m = e.what();
    CHECK(m.find("key 'retry_backoff'") != std::string::npos);
    CHECK(m.find("'5x'") != std::string::npos);
  }
}

TEST_CASE("parse_duration_or_throw: bounds (docs/engine.md, Bounds)") {
  using tok::ZeroIs;
  const auto message = [](std::string_view text, ZeroIs zero) -> std::string {
    try {
      tok::parse_duration_or_throw(text, "key 'x'", zero);
    } catch (const tok::Error& e) {
      CHECK(e.kind() == tok::ErrorKind::usage);
      return e.what();
    }
    return {};
  };
  CHECK(tok::parse_duration_or_throw("1ms", "x") == Duration{1});
  CHECK(tok::parse_duration_or_throw("365d", "x") == Duration{24h * 365});
  CHECK(message("365d1ms", ZeroIs::none).find("more than a year") != std::string::npos);
  CHECK(message("3000000h", ZeroIs::none).find("more than a year") != std::string::npos);
  CHECK(message("0", ZeroIs::an_error).find("at least 1ms") != std::string::npos);
  CHECK(message("0s", ZeroIs::an_error).find("at least 1ms") != std::string::npos);
  CHECK(tok::parse_duration_or_throw("0", "x", ZeroIs::none) == Duration{0});
  CHECK(tok::parse_duration_or_throw("0s", "x", ZeroIs::none) == Duration{0});
  CHECK(message("", ZeroIs::none).find("empty") != std::string::npos);
  CHECK(message("", ZeroIs::an_error).find("empty") != std::string::npos);
}

TEST_CASE("format_duration: shortest form") {
  CHECK(format_duration(Duration{0}) == "0s");
  CHECK(format_duration(Duration{90000}) == "1m30s");
  CHECK(format_duration(250ms) == "250ms");
  CHECK(format_duration(40s) == "40s");
  CHECK(format_duration(5min) == "5m");
  CHECK(format_duration(90min) == "1h30m");
  CHECK(format_duration(48h) == "2d");
  CHECK(format_duration(24h + 1ms) == "1d1ms");
  CHECK(format_duration(1s + 1ms) == "1s1ms");
  CHECK(format_duration(-5s) == "-5s");
}

TEST_CASE("format_duration and parse_duration round trip") {
  for (Duration d : {Duration{0}, Duration{1}, Duration{999}, Duration{1000}, Duration{1001}, Duration{59999},
                     Duration{60000}, Duration{3599999}, Duration{3600000}, Duration{86399999}, Duration{86400000},
                     Duration{90061001}, Duration{40s}, Duration{20min}, Duration{24h * 400 + 1ms},
                     Duration{INT64_MAX}}) {
    CAPTURE(d.count());
    const std::string text = format_duration(d);
    CAPTURE(text);
    const auto back = parse_duration(text);
    REQUIRE(back.has_value());
    CHECK(*back == d);
  }
  for (const char* text : {"40s", "5m", "1h30m", "250ms", "2d", "1d2h3m4s5ms"}) {
    CHECK(format_duration(*parse_duration(text)) == text);
  }
}

}  // TEST_SUITE

// Profile keys as data (providers/key_spec.hpp, cli/config.hpp key_catalog()): the tables drive
// the help, "did you mean", the completions' check and the cache key, and a key added to a table
// appears in all of them.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/arguments.hpp"
#include "cli/config.hpp"
#include "cli/key_help.hpp"
#include "core/duration.hpp"
#include "core/policy.hpp"
#include "providers/key_spec.hpp"
#include "providers/provider.hpp"

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string completion_file(const std::string& name) {
  std::ifstream in(std::string(TOK_SOURCE_DIR) + "/completions/" + name);
  REQUIRE(in);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The templates the build writes the scripts from (the key flags are written there by hand).
const std::pair<const char*, const char*> kCompletionFiles[] = {
    {"bash", "tok.bash.in"}, {"zsh", "_tok.in"}, {"fish", "tok.fish.in"}};

// The build's catalog with `extra` added to the table of `provider` (empty: the engine's).
struct CatalogWithKey {
  std::vector<std::vector<tok::KeySpec>> owned;  // the copied tables the catalog points into
  tok::KeyCatalog catalog;
  CatalogWithKey(std::string_view provider, tok::KeySpec extra, tok::KeyOwner table_owner) {
    const tok::KeyCatalog& real = tok::key_catalog();
    owned.reserve(real.size());
    bool added = false;
    for (const auto& t : real) {
      owned.emplace_back(t.keys.begin(), t.keys.end());
      const bool engine_table = !t.keys.empty() && t.keys.front().owner == table_owner;
      if (!added && t.provider == provider && (!provider.empty() || engine_table)) {
        owned.back().push_back(extra);
        added = true;
      }
      catalog.push_back({t.provider, owned.back()});
    }
    REQUIRE(added);
  }
};

}  // namespace

TEST_SUITE("keys") {

TEST_CASE("every key of the build has help, and choice keys their choices") {
  for (const auto& table : tok::key_catalog()) {
    for (const tok::KeySpec& k : table.keys) {
      CAPTURE(std::string(k.name));
      CHECK_FALSE(k.help.empty());
      CHECK((k.type == tok::KeyType::choice) == !k.choices.empty());
      // A default is a value of the key's own type.
      if (!k.default_value.empty()) CHECK_NOTHROW(tok::check_key_value(k, k.default_value));
      if (k.owner == tok::KeyOwner::integration) CHECK_FALSE(k.read_by.empty());
      if (k.owner != tok::KeyOwner::provider) CHECK_FALSE(k.cache_key);
    }
  }
}

TEST_CASE("every key that names a variable (*_env) says whether it holds a secret: all of this build's do") {
  int secret = 0;
  for (const auto& table : tok::key_catalog()) {
    for (const tok::KeySpec& k : table.keys) {
      CAPTURE(std::string(k.name));
      // tok exec removes these variables from the command's environment: a new *_env key that
      // names no secret must say so here rather than be removed by accident.
      CHECK(k.secret_variable == k.name.ends_with("_env"));
      secret += k.secret_variable ? 1 : 0;
    }
  }
  CHECK(secret >= 2);  // client_secret_env, id_token_env
}

TEST_CASE("the engine table's defaults are EngineSettings'") {
  const tok::EngineSettings defaults;
  const auto spec = [](std::string_view name) {
    const tok::KeySpec* k = tok::find_key(tok::engine_key_specs(), name);
    REQUIRE(k != nullptr);
    return *k;
  };
  const auto duration = [&](std::string_view name) { return tok::key_duration(spec(name), spec(name).default_value); };
  CHECK(duration("expiry_buffer") == defaults.expiry_buffer);
  CHECK(duration("max_stale_window") == defaults.max_stale_window);
  CHECK(duration("retry_backoff") == defaults.retry_backoff);
  CHECK(duration("refresh_timeout") == defaults.refresh_timeout);
  CHECK(duration("failure_cache") == defaults.failure_cache);
  CHECK(spec("stale_window").default_value.empty() == !defaults.stale_window.has_value());
  CHECK(tok::key_boolean(spec("async_refresh"), spec("async_refresh").default_value) == defaults.async_refresh);
  CHECK(tok::key_fraction(spec("refresh_jitter"), spec("refresh_jitter").default_value) == defaults.refresh_jitter);
  CHECK(tok::engine_key_specs().size() == 8);  // a new engine key needs its line here
}

TEST_CASE("the completion files offer every key of the build as a flag") {
  for (const auto& [shell, file] : kCompletionFiles) {
    CAPTURE(file);
    CHECK(tok::key_flags_missing_from_completion(tok::key_catalog(), completion_file(file), shell).empty());
  }
}

// The man page's PROFILE KEYS section names each provider's keys under `.B provider` (roff
// spells '-' as '\-'), and the engine's and integrations' after them.
TEST_CASE("the man page's key list names every key of the tables, under its provider") {
  std::ifstream in(std::string(TOK_SOURCE_DIR) + "/docs/tok.1");
  REQUIRE(in);
  std::ostringstream text;
  text << in.rdbuf();
  const std::string man = text.str();
  const auto begin = man.find(".SH PROFILE KEYS");
  const auto end = man.find(".SH", begin + 1);
  REQUIRE(begin != std::string::npos);
  const std::string section = man.substr(begin, end - begin);
  const auto roff = [](std::string_view name) {
    std::string out;
    for (char c : name) out += c == '-' ? std::string("\\-") : std::string(1, c);
    return out;
  };
  const auto names = [](const std::string& block, std::string_view key) {
    // .B key / .BR key ... / ", " key ", " in a .BR line: the key as a word of a macro line
    std::istringstream lines(block);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(".B", 0) != 0) continue;
      for (auto at = line.find(key); at != std::string::npos; at = line.find(key, at + 1)) {
        const auto after = at + key.size();
        const bool left = at > 0 && (line[at - 1] == ' ' || line[at - 1] == '"');
        const bool right = after == line.size() || line[after] == ' ' || line[after] == '"' || line[after] == ',' ||
                           line[after] == '.';
        if (left && right) return true;
      }
    }
    return false;
  };
  for (const auto& table : tok::key_catalog()) {
    std::string block = section;
    if (!table.provider.empty()) {
      const auto at = section.find(".TP\n.B " + roff(table.provider) + "\n");
      REQUIRE_MESSAGE(at != std::string::npos, "no .TP block for provider ", std::string(table.provider));
      const auto next = section.find("\n.TP", at + 4);
      const auto para = section.find("\n.PP", at + 4);
      block = section.substr(at, std::min(next, para) - at);
    }
    for (const tok::KeySpec& k : table.keys) {
      CAPTURE(std::string(table.provider));
      CAPTURE(std::string(k.name));
      CHECK(names(block, k.name));
    }
  }
}

TEST_CASE("a key added to a provider's table is in the help, did-you-mean, completions' check and cache key") {
  const tok::KeySpec fake{.name = "fake_key", .owner = tok::KeyOwner::provider, .default_value = "7s",
                          .cache_key = true, .help = "a key only this test knows"};
  CatalogWithKey with("oauth", fake, tok::KeyOwner::provider);

  // tok help keys oauth
  const std::string help = *tok::profile_keys_help(with.catalog, "oauth");
  CHECK(contains(help, "--fake-key"));
  CHECK(contains(help, "a key only this test knows (7s)"));
  CHECK_FALSE(contains(*tok::profile_keys_help("oauth"), "--fake-key"));
  CHECK_FALSE(contains(*tok::profile_keys_help(with.catalog, "command"), "--fake-key"));

  // did you mean, for a profile of that provider; another provider's profile hears whose it is
  CHECK(tok::unknown_key_hint(with.catalog, "oauth", "fake_kye") == " (did you mean 'fake_key'?)");
  CHECK(tok::unknown_key_hint(tok::key_catalog(), "oauth", "fake_kye").empty());
  CHECK(tok::unknown_key_hint(with.catalog, "command", "fake_key") == " (a key of provider oauth)");
  CHECK(contains(tok::did_you_mean("--fake-kye", [&] {
                   std::vector<std::string> flags;
                   for (const auto& k : tok::profile_keys(with.catalog)) flags.push_back(tok::flag_of(k));
                   return flags;
                 }()).value_or(""),
                 "--fake-key"));

  // the completions' check finds it missing from every file, and nothing else
  for (const auto& [shell, file] : kCompletionFiles) {
    CAPTURE(file);
    CHECK(tok::key_flags_missing_from_completion(with.catalog, completion_file(file), shell) ==
          std::vector<std::string>{"--fake-key"});
  }

  // the cache key
  const tok::KeyTable* oauth = nullptr;
  for (const auto& t : with.catalog) {
    if (t.provider == "oauth") oauth = &t;
  }
  REQUIRE(oauth != nullptr);
  const tok::KeyValues values = {{"provider", "oauth"}, {"token_url", "https://a.example/t"}, {"client_id", "c"}};
  tok::KeyValues with_fake = values;
  with_fake["fake_key"] = "1";
  const auto identity = tok::cache_identity("oauth", oauth->keys, with_fake, {});
  CHECK(std::find(identity.begin(), identity.end(), std::pair<std::string, std::string>{"fake_key", "1"}) !=
        identity.end());
  CHECK(identity != tok::cache_identity("oauth", oauth->keys, values, {}));
  // and with cache_key false it stays out
  tok::KeySpec outside = fake;
  outside.cache_key = false;
  CatalogWithKey without("oauth", outside, tok::KeyOwner::provider);
  for (const auto& t : without.catalog) {
    if (t.provider == "oauth") {
      CHECK(tok::cache_identity("oauth", t.keys, with_fake, {}) == tok::cache_identity("oauth", t.keys, values, {}));
    }
  }
}

TEST_CASE("a key added to the engine's table is in every engine command's help") {
  const tok::KeySpec fake{.name = "fake_engine_key", .owner = tok::KeyOwner::engine, .type = tok::KeyType::duration,
                          .default_value = "3m", .help = "an engine key only this test knows"};
  CatalogWithKey with("", fake, tok::KeyOwner::engine);
  CHECK(contains(tok::command_help_footer(with.catalog, "get"), "--fake-engine-key"));
  CHECK(contains(tok::command_help_footer(with.catalog, "get"), "an engine key only this test knows (3m)"));
  CHECK_FALSE(contains(tok::command_help_footer(with.catalog, "clear"), "--fake-engine-key"));  // reads none
  CHECK(contains(*tok::profile_keys_help(with.catalog, ""), "--fake-engine-key"));
  CHECK(tok::unknown_key_hint(with.catalog, "command", "fake_engin_key") == " (did you mean 'fake_engine_key'?)");
}

TEST_CASE("per-command help: only the keys that command reads") {
  const std::string get = tok::command_help_footer("get");
  CHECK(contains(get, "--expiry-buffer"));
  CHECK(contains(get, "(40s)"));
  CHECK_FALSE(contains(get, "--git-hosts"));
  CHECK_FALSE(contains(get, "--token-url"));  // a provider's: tok help keys PROVIDER
  const std::string git = tok::command_help_footer("git-credential");
  CHECK(contains(git, "--git-hosts"));
  CHECK(contains(git, "(x-access-token)"));
  CHECK_FALSE(contains(git, "--docker-registries"));
  CHECK(contains(tok::command_help_footer("serve"), "--gcp-service-account"));
  CHECK_FALSE(contains(tok::command_help_footer("version"), "--provider"));
}

TEST_CASE("the help footers list every global flag of kGlobalFlags, with its value's name, wrapped at 100 columns") {
  for (const std::string& footer : {tok::main_help_footer(), tok::command_help_footer("get"),
                                    tok::command_help_footer("version")}) {
    // The footer's global-flag sentence, lines joined.
    const auto begin = footer.find("Global flags, before or after the command:");
    REQUIRE(begin != std::string::npos);
    std::string sentence = footer.substr(begin, footer.find("'default'.", begin) - begin);
    std::istringstream lines(sentence);
    for (std::string line; std::getline(lines, line);) CHECK(line.size() <= 100);
    std::replace(sentence.begin(), sentence.end(), '\n', ' ');
    for (const tok::GlobalFlag& flag : tok::kGlobalFlags) {
      std::string listed = flag.short_name.empty() ? std::string(flag.long_name)
                                                   : std::string(flag.short_name) + "/" + std::string(flag.long_name);
      if (flag.value != nullptr) listed += " ";  // a value's name follows
      CHECK_MESSAGE(contains(sentence, " " + listed), listed);
    }
    CHECK(contains(sentence, "--profile NAME"));
    CHECK(contains(sentence, "--cache-dir DIR"));
  }
}

TEST_CASE("settings: typed by the table, errors name the key as a field") {
  const auto error_key = [](tok::KeyValues v) -> std::string {
    try {
      tok::make_provider(tok::ProviderSettings(std::move(v)));
    } catch (const tok::KeyError& e) {
      CHECK(e.kind() == tok::ErrorKind::usage);
      CHECK(std::string(e.what()).rfind("key '" + e.key() + "'", 0) == 0);
      return e.key();
    }
    FAIL_CHECK("expected a KeyError");
    return {};
  };
  const tok::KeyValues oauth = {{"provider", "oauth"}, {"token_url", "https://a.example/t"}, {"client_id", "c"}};
  auto v = oauth;
  v["http_timeout"] = "soon";
  CHECK(error_key(v) == "http_timeout");
  v = oauth;
  v["auth_method"] = "magic";
  CHECK(error_key(v) == "auth_method");
  v = oauth;
  v["token_url"] = "http://example.com/t";  // plain http off loopback
  CHECK(error_key(v) == "token_url");
  v = oauth;
  v.erase("client_id");
  CHECK(error_key(v) == "client_id");
  CHECK(error_key({{"provider", "metadata"}}) == "flavor");
  CHECK(error_key({{"provider", "nonesuch"}}) == "provider");
  CHECK(error_key({{"provider", "command"}, {"command", "x"}, {"command_timeout", "0"}}) == "command_timeout");

  // A provider reading a key that is not in its table is a bug, not a silent empty value.
  const tok::ProviderSettings bound(oauth, tok::find_provider("oauth")->keys);
  CHECK(bound.text("client_id") == "c");
  CHECK(bound.text("auth_method") == "basic");  // the table's default
  CHECK(*bound.duration("http_timeout") == std::chrono::seconds(30));
  CHECK_FALSE(bound.duration("default_lifetime").has_value());
  CHECK_THROWS_AS(bound.text("flavor"), std::logic_error);
}

}  // TEST_SUITE

// The Keyring over libsecret (the freedesktop Secret Service: gnome-keyring, KeePassXC, ...).
// Compiled into the tok-keyring.so module only: a cache hit never loads GLib or D-Bus.
#include <libsecret/secret.h>

#include <cstdlib>
#include <future>
#include <memory>
#include <thread>

#include "providers/keyring.hpp"

namespace tok {
namespace {

// One item per cache entry and cache directory (docs/login.md, "The keyring").
const SecretSchema* schema() {
  static const SecretSchema s = {"org.tok.LoginEntry",
                                 SECRET_SCHEMA_NONE,
                                 {{"tok-entry", SECRET_SCHEMA_ATTRIBUTE_STRING},
                                  {"tok-cache-dir", SECRET_SCHEMA_ATTRIBUTE_STRING},
                                  {"tok-profile", SECRET_SCHEMA_ATTRIBUTE_STRING},
                                  {"tok-issuer", SECRET_SCHEMA_ATTRIBUTE_STRING},
                                  {"tok-client", SECRET_SCHEMA_ATTRIBUTE_STRING},
                                  {nullptr, SECRET_SCHEMA_ATTRIBUTE_STRING}},
                                 0,
                                 nullptr,
                                 nullptr,
                                 nullptr,
                                 nullptr,
                                 nullptr,
                                 nullptr,
                                 nullptr};
  return &s;
}

// What an older tok wrote: one item per (profile, issuer, client), shared by the profile's entries.
const SecretSchema* legacy_schema() {
  static const SecretSchema s = {"org.tok.Login",
                                 SECRET_SCHEMA_NONE,
                                 {{"tok-profile", SECRET_SCHEMA_ATTRIBUTE_STRING},
                                  {"tok-issuer", SECRET_SCHEMA_ATTRIBUTE_STRING},
                                  {"tok-client", SECRET_SCHEMA_ATTRIBUTE_STRING},
                                  {nullptr, SECRET_SCHEMA_ATTRIBUTE_STRING}},
                                 0,
                                 nullptr,
                                 nullptr,
                                 nullptr,
                                 nullptr,
                                 nullptr,
                                 nullptr,
                                 nullptr};
  return &s;
}

// The write check before a login: one fixed item, written and removed.
const SecretSchema* probe_schema() {
  static const SecretSchema s = {
      "org.tok.WriteCheck",
      SECRET_SCHEMA_NONE,
      {{"tok-write-check", SECRET_SCHEMA_ATTRIBUTE_STRING}, {nullptr, SECRET_SCHEMA_ATTRIBUTE_STRING}},
      0,
      nullptr,
      nullptr,
      nullptr,
      nullptr,
      nullptr,
      nullptr,
      nullptr};
  return &s;
}

// The item's attributes for its schema, as libsecret's *_v calls take them.
GHashTable* attributes(const KeyringItem& item) {
  GHashTable* table = g_hash_table_new(g_str_hash, g_str_equal);
  const auto put = [&](const char* name, const std::string& value) {
    g_hash_table_insert(table, const_cast<char*>(name), const_cast<char*>(value.c_str()));
  };
  if (!item.legacy) {
    put("tok-entry", item.entry);
    put("tok-cache-dir", item.cache_dir);
  }
  put("tok-profile", item.profile);
  put("tok-issuer", item.issuer);
  put("tok-client", item.client_id);
  return table;
}

const SecretSchema* schema_of(const KeyringItem& item) {
  return item.legacy ? legacy_schema() : schema();
}

// The error's message, freed.
std::optional<std::string> failed(GError* error, const char* what) {
  if (error == nullptr) return std::nullopt;
  std::string message = std::string(what) + ": " + error->message;
  g_error_free(error);
  return message;
}

std::string no_answer(std::chrono::milliseconds within) {
  const long long tenths = within.count() <= 0 ? 0 : (within.count() + 50) / 100;
  return "no answer from the Secret Service within " + std::to_string(tenths / 10) +
         (tenths % 10 != 0 ? "." + std::to_string(tenths % 10) : std::string()) + "s";
}

struct Outcome {
  std::optional<std::string> problem;
  std::string secret;
};

// Runs one libsecret call on a thread of its own and waits at most `within` for it: a Secret
// Service that hangs (libsecret waits 25 s per D-Bus call) must not hold a refresh past its
// deadline. Past it the call is cancelled and left to end by itself.
template <typename Call>
Outcome bounded(std::chrono::milliseconds within, Call call) {
  auto answer = std::make_shared<std::promise<Outcome>>();
  auto result = answer->get_future();
  GCancellable* cancellable = g_cancellable_new();
  g_object_ref(cancellable);
  std::thread([answer, cancellable, call] {
    Outcome outcome = call(cancellable);
    answer->set_value(std::move(outcome));
    g_object_unref(cancellable);
  }).detach();
  Outcome outcome;
  if (within.count() > 0 && result.wait_for(within) == std::future_status::ready) {
    outcome = result.get();
  } else {
    g_cancellable_cancel(cancellable);
    outcome.problem = no_answer(within);
  }
  g_object_unref(cancellable);
  return outcome;
}

class SecretServiceKeyring final : public Keyring {
 public:
  std::optional<std::string> unreachable(std::chrono::milliseconds within, const World& world) override {
    // Without a session bus libsecret would try to autolaunch one (X11): say so at once instead.
    const char* bus = world.env("DBUS_SESSION_BUS_ADDRESS");
    if (bus == nullptr || *bus == '\0')
      return std::string("no D-Bus session bus ($DBUS_SESSION_BUS_ADDRESS is not set)");
    return bounded(within,
                   [](GCancellable* cancellable) {
                     GError* error = nullptr;
                     SecretService* service = secret_service_get_sync(SECRET_SERVICE_OPEN_SESSION, cancellable, &error);
                     if (service != nullptr) g_object_unref(service);
                     return Outcome{failed(error, "the Secret Service did not answer"), {}};
                   })
        .problem;
  }

  std::optional<std::string> unwritable(std::chrono::milliseconds within) override {
    return bounded(within,
                   [](GCancellable* cancellable) {
                     GError* error = nullptr;
                     secret_password_store_sync(probe_schema(), SECRET_COLLECTION_DEFAULT, "tok keyring write check",
                                                "x", cancellable, &error, "tok-write-check", "1", nullptr);
                     if (auto problem = failed(error, "cannot write to the Secret Service"))
                       return Outcome{problem, {}};
                     secret_password_clear_sync(probe_schema(), cancellable, &error, "tok-write-check", "1", nullptr);
                     return Outcome{failed(error, "cannot remove from the Secret Service"), {}};
                   })
        .problem;
  }

  std::optional<std::string> store(const KeyringItem& item, const std::string& secret,
                                   std::chrono::milliseconds within) override {
    return bounded(within,
                   [item, secret](GCancellable* cancellable) {
                     GError* error = nullptr;
                     const std::string label = "tok login " + item.profile;
                     GHashTable* attrs = attributes(item);
                     secret_password_storev_sync(schema_of(item), attrs, SECRET_COLLECTION_DEFAULT, label.c_str(),
                                                 secret.c_str(), cancellable, &error);
                     g_hash_table_unref(attrs);
                     return Outcome{failed(error, "cannot store the refresh token in the Secret Service"), {}};
                   })
        .problem;
  }

  std::optional<std::string> lookup(const KeyringItem& item, std::string& secret,
                                    std::chrono::milliseconds within) override {
    Outcome outcome = bounded(within, [item](GCancellable* cancellable) {
      GError* error = nullptr;
      GHashTable* attrs = attributes(item);
      gchar* found = secret_password_lookupv_sync(schema_of(item), attrs, cancellable, &error);
      g_hash_table_unref(attrs);
      Outcome o{failed(error, "cannot read the refresh token from the Secret Service"), {}};
      if (found != nullptr) {
        o.secret = found;
        secret_password_free(found);
      }
      return o;
    });
    secret = std::move(outcome.secret);
    return outcome.problem;
  }

  std::optional<std::string> clear(const KeyringItem& item, std::chrono::milliseconds within) override {
    return bounded(within,
                   [item](GCancellable* cancellable) {
                     GError* error = nullptr;
                     GHashTable* attrs = attributes(item);
                     secret_password_clearv_sync(schema_of(item), attrs, cancellable, &error);
                     g_hash_table_unref(attrs);
                     return Outcome{failed(error, "cannot remove the refresh token from the Secret Service"), {}};
                   })
        .problem;
  }
};

}  // namespace
}  // namespace tok

extern "C" __attribute__((visibility("default"))) tok::Keyring* tok_create_keyring() {
  return new tok::SecretServiceKeyring();
}

extern "C" __attribute__((visibility("default"))) const char* tok_module_version() {
  return "libsecret-1";
}

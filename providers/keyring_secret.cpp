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

const SecretSchema* schema() {
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

// The error's message, freed.
std::optional<std::string> failed(GError* error, const char* what) {
  if (error == nullptr) return std::nullopt;
  std::string message = std::string(what) + ": " + error->message;
  g_error_free(error);
  return message;
}

class SecretServiceKeyring final : public Keyring {
 public:
  std::optional<std::string> unreachable(std::chrono::milliseconds within, const World& world) override {
    // Without a session bus libsecret would try to autolaunch one (X11): say so at once instead.
    const char* bus = world.env("DBUS_SESSION_BUS_ADDRESS");
    if (bus == nullptr || *bus == '\0') return std::string("no D-Bus session bus ($DBUS_SESSION_BUS_ADDRESS is not set)");
    // A bus whose Secret Service hangs must not hang a login: ask on a thread, wait `within`.
    auto answer = std::make_shared<std::promise<std::optional<std::string>>>();
    auto result = answer->get_future();
    std::thread([answer] {
      GError* error = nullptr;
      SecretService* service = secret_service_get_sync(SECRET_SERVICE_OPEN_SESSION, nullptr, &error);
      if (service != nullptr) g_object_unref(service);
      answer->set_value(failed(error, "the Secret Service did not answer"));
    }).detach();
    if (result.wait_for(within) != std::future_status::ready) {
      return "no answer from the Secret Service within " + std::to_string(within.count() / 1000) + "s";
    }
    return result.get();
  }

  std::optional<std::string> store(const KeyringItem& item, const std::string& secret) override {
    GError* error = nullptr;
    const std::string label = "tok login " + item.profile;
    secret_password_store_sync(schema(), SECRET_COLLECTION_DEFAULT, label.c_str(), secret.c_str(), nullptr, &error,
                               "tok-profile", item.profile.c_str(), "tok-issuer", item.issuer.c_str(), "tok-client",
                               item.client_id.c_str(), nullptr);
    return failed(error, "cannot store the refresh token in the Secret Service");
  }

  std::optional<std::string> lookup(const KeyringItem& item, std::string& secret) override {
    GError* error = nullptr;
    gchar* found = secret_password_lookup_sync(schema(), nullptr, &error, "tok-profile", item.profile.c_str(),
                                               "tok-issuer", item.issuer.c_str(), "tok-client",
                                               item.client_id.c_str(), nullptr);
    secret.clear();
    if (found != nullptr) {
      secret = found;
      secret_password_free(found);
    }
    return failed(error, "cannot read the refresh token from the Secret Service");
  }

  std::optional<std::string> clear(const KeyringItem& item) override {
    GError* error = nullptr;
    secret_password_clear_sync(schema(), nullptr, &error, "tok-profile", item.profile.c_str(), "tok-issuer",
                               item.issuer.c_str(), "tok-client", item.client_id.c_str(), nullptr);
    return failed(error, "cannot remove the refresh token from the Secret Service");
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

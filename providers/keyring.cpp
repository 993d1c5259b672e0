#include "providers/keyring.hpp"

#include "core/module.hpp"

namespace tok {

Keyring& secret_service_keyring() {
  static Keyring* const keyring =
      static_cast<Keyring*>(create_from_module("tok-keyring.so", "tok_create_keyring", "the keyring module"));
  return *keyring;
}

}  // namespace tok

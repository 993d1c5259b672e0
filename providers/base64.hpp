#pragma once
// RFC 4648 base64, both alphabets: the standard one with padding (HTTP Basic credentials), the
// URL one without (JWS, RFC 7515; a JWT's parts).
#include <optional>
#include <string>
#include <string_view>

namespace tok {

std::string base64_encode(std::string_view bytes);
std::string base64url_encode(std::string_view bytes);
// The bytes of unpadded base64url text (padding is tolerated); nullopt for any other character or
// an impossible length.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace tok

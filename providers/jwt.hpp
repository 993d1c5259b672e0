#pragma once
// What a JWT says about its own life: its `exp`, the payload decoded and never verified (the
// service that receives the token verifies it). Shared by provider = file and the GCP identity
// tokens of provider = metadata.
#include <optional>
#include <string_view>

#include "core/clock.hpp"

namespace tok {

// The `exp` of a JWT (header.payload.signature, base64url, a JSON object payload with a numeric
// `exp` up to the year 9999); nullopt for anything else.
std::optional<TimePoint> jwt_expiry(std::string_view token);

}  // namespace tok

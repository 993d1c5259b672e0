#pragma once
// provider = command: any program that prints a token.
#include <string>
#include <string_view>
#include <vector>

#include "providers/provider.hpp"

namespace tok {

ProviderInfo command_provider_info();

// The `command` key: a JSON array of strings, or words split the way a shell would (blanks
// separate; '...' is literal; "..." keeps blanks and takes \" \\ \$ \` escapes; a backslash
// outside quotes escapes the next character), with no shell: nothing is expanded, so an unquoted
// | & ; < > ( ) $ ` is refused rather than silently passed on as an argument. Throws
// Error(usage) naming the key.
std::vector<std::string> split_command(std::string_view text);

}  // namespace tok

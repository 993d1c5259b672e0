#pragma once
// What `tok setup` writes into other programs' files, as pure functions over the file's text
// (docs/integrations.md, "tok setup"): the Docker config's credHelpers, merged into the JSON the
// file holds, and the AWS config's `[profile NAME]` section, edited in place with every other
// byte kept. git's and kubectl's files are written by git and kubectl themselves.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tok {

// A word as POSIX sh (and Python's shlex, which the AWS CLI splits credential_process with)
// reads it back: as is when it holds only [A-Za-z0-9_./@%+=:,-], else in single quotes ('
// written as '\''). Error(usage) for a control character (a newline would end the line).
std::string shell_quote(std::string_view word);

// The result of an edit: the file's new text when it changes (nullopt: nothing to do) and one
// line per change, for the user.
struct FileEdit {
  std::optional<std::string> text;
  std::vector<std::string> changes;
};

// Docker's config.json (empty text: a file that does not exist yet). `registries` are the
// credHelpers keys (host[:port]), each set to `helper`; `remove` takes out the keys whose value
// is `helper` (and credHelpers itself when that leaves it empty). Every other key keeps its
// place and value; the text is written in the layout the file had when it is one of Docker's
// (tabs), two or four spaces, with its final newline if it had one. Error(usage) for a file
// Docker could not read (not JSON, not an object, a credHelpers that is not an object of
// strings) and for a registry whose credHelpers entry names another helper.
FileEdit edit_docker_config(std::string_view text, const std::vector<std::string>& registries,
                            std::string_view helper, bool remove);

// The header tok writes for the AWS profile `name`: `[profile NAME]`, the name in double quotes
// when it needs quoting (botocore splits the header with shlex). Error(usage) for a name that
// cannot be written so (empty, a control character, '"', '\\', '[' or ']', blanks at its ends).
std::string aws_profile_header(std::string_view name);

// Sets (or with `remove`, takes out) `credential_process = <value>` in the AWS config's profile
// `name`. `ours` tells a credential_process value tok wrote (for this tok profile) from anyone
// else's, which is never replaced nor removed. A profile that gets its credentials another way
// (keys, a role, SSO) is refused. The section is appended when missing (after one blank line);
// removing the last line tok wrote takes out a section left with nothing but blank lines, with
// the blank line before it. Every other byte of the file is kept.
FileEdit edit_aws_config(std::string_view text, std::string_view name, std::string_view value,
                         bool (*ours)(std::string_view value, std::string_view profile), std::string_view profile,
                         bool remove);

// Whether a credential_process value is the one `tok setup aws` writes for `profile`, whatever
// path it names tok by: `<tok> get -p <profile> --format credential-process`.
bool is_tok_credential_process(std::string_view value, std::string_view profile);

}  // namespace tok

#pragma once
// Replacing a file so that a reader never sees it empty or in part: what `tok write` does to a
// token file and `tok setup` to Docker's and the AWS CLI's configuration.
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace tok {

// Throws Error(storage): "writing PATH: WHAT: strerror(error)".
[[noreturn]] void file_write_failed(const std::filesystem::path& path, std::string_view what, int error);

// Atomically replaces `name` in the directory open as `dir_fd` with `text`, in `mode`: a
// temporary file beside it (a random name, never derived from the content), fsync, rename over
// the old file, fsync of the directory. A reader sees the old file or the new one, whole; a
// failure removes the temporary file, leaves the old one as it was and throws through
// file_write_failed, naming the file as `shown`.
void replace_file_atomically(int dir_fd, const std::string& name, std::string_view text, mode_t mode,
                             const std::filesystem::path& shown);

}  // namespace tok

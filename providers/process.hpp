#pragma once
// The process runner the process providers share (azure-cli, command): an argv array, never a
// shell, so nothing in a setting is ever parsed as shell syntax. Tests replace the runner.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/world.hpp"

namespace tok {

struct ProcessRequest {
  std::vector<std::string> argv;  // argv[0] is looked up on PATH unless it contains a '/'
  Deadline deadline;              // then the whole process group is killed and the child reaped
  std::size_t max_stdout = std::size_t{1} << 20;
  std::size_t max_stderr = std::size_t{64} << 10;
  std::vector<std::string> unset_env;  // variables taken out of the environment the child gets
};

struct ProcessResult {
  bool not_found = false;          // argv[0] does not exist (ENOENT): nothing ran
  std::string spawn_error;         // any other reason it could not start (strerror), else empty
  bool timed_out = false;          // killed at the deadline
  std::optional<int> exit_status;  // set when it exited by itself
  int signal = 0;                  // the signal that ended it, if one did (SIGKILL after a timeout)
  std::string out;                 // stdout, at most max_stdout bytes
  std::string err;                 // stderr, at most max_stderr bytes
  bool out_truncated = false;      // more was written than max_stdout (the rest was discarded)
  bool err_truncated = false;

  bool ran() const { return !not_found && spawn_error.empty(); }
  bool succeeded() const { return ran() && !timed_out && exit_status == 0; }
  // "exit 0", "exit 1", "killed at the deadline", "signal 9", "not found": for -v.
  std::string summary() const;
};

// The seam. The real runner: the child gets its own process group, stdin on /dev/null, stdout
// and stderr on pipes, the default signal dispositions and an empty signal mask, and no
// descriptor of ours but those three. Its pipes are read until it exits or the deadline passes;
// then the group is killed with SIGKILL and the child reaped, so no zombie and no stray
// descriptor outlives a run.
class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  virtual ProcessResult run(const ProcessRequest& request) = 0;
};

// The posix_spawn runner of the real world: its clock for deadlines, its environment for the child.
ProcessRunner& system_process_runner();

// A program a profile names by its path (`key`'s value has a '/'): it runs as you, so one that
// another user could have written is refused (core/file_trust.hpp: owned by you or root, not
// writable by group or others), as Error(usage) naming the key, the file and how to fix it. A
// name looked up on PATH is not checked (PATH is yours), nor a path that does not exist (the run
// then says "not found").
void check_program(const std::string& program, std::string_view key);

// Ends (SIGKILL) the process group of every program the system runner is running now, and lets
// no new one start: for an early end of tok, such as `tok serve` stopping with a fetch still in
// flight. A program's own group keeps a terminal's Ctrl-C and a service manager's SIGTERM from
// reaching it, so tok ends it: the same is done on SIGINT, SIGTERM and SIGHUP when their
// disposition is the default (a handler installed at the first run, which then re-raises).
void end_running_processes();

// The first non-blank line of a program's output, trimmed; with `prefer`, the first line that
// starts with it if there is one (the Azure CLI prints warnings before its "ERROR:" line).
std::string first_line(std::string_view text, std::string_view prefer = {});

}  // namespace tok

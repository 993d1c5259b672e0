#pragma once
// The second seam of the refresh flow: how background work starts. In process it is a job on an
// Executor (a thread pool in `tok serve`, the manual executor in tests); for `tok get` it is a
// detached, double-forked process that outlives the caller.
#include <unistd.h>

#include <functional>
#include <vector>

#include "core/executor.hpp"

namespace tok {

class Launcher {
 public:
  virtual ~Launcher() = default;
  // Runs `work` in the background. `keep` are the descriptors (>= 3) the work must go on holding:
  // the single-flight lock, the cache directory. False when nothing could be started.
  virtual bool launch(std::vector<int> keep, std::function<void()> work) = 0;
};

class ExecutorLauncher final : public Launcher {
 public:
  explicit ExecutorLauncher(Executor& executor) : executor_(executor) {}
  bool launch(std::vector<int> keep, std::function<void()> work) override;

 private:
  Executor& executor_;
};

// Double fork: the refresher is nobody's child (so `tok exec`'s command never reaps a stranger),
// runs in its own session with stdin, stdout and stderr on /dev/null (so `$(tok get)` and git see
// end of output as soon as the caller exits), and keeps no inherited descriptor but `keep`
// (docs/design.md, "Background refresh: the process model"). True only when the refresher itself
// was forked: the middle process says so by its exit status.
class DetachedProcessLauncher final : public Launcher {
 public:
  // `fork` is ::fork; tests pass one that fails where they want it to.
  using Fork = pid_t (*)();
  explicit DetachedProcessLauncher(Fork fork = ::fork) : fork_(fork) {}
  bool launch(std::vector<int> keep, std::function<void()> work) override;

 private:
  Fork fork_;
};

}  // namespace tok

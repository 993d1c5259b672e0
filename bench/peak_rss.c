/* Peak resident memory of one command, in KiB. A small launcher of its own, because a child
 * exec'd from a big process (Python) reports the parent's pages as its peak. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  pid_t pid = fork();
  if (pid == 0) {
    /* stdout carries our figure, not the command's output */
    if (!freopen("/dev/null", "w", stdout)) _exit(127);
    execv(argv[1], argv + 1);
    _exit(127);
  }
  int status = 0;
  struct rusage usage;
  if (wait4(pid, &status, 0, &usage) < 0) return 1;
  printf("%ld\n", usage.ru_maxrss);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

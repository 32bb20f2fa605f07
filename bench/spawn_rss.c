/*
** spawn_rss FD [-t] CMD [ARGS...]: runs CMD and reports on file descriptor FD
**   pid PID                                  as soon as the child exists
**   exit STATUS MAXRSS_KIB USER_US SYS_US START_NS END_NS
** where STATUS is the exit status (128+N for a signal), the resources are
** the child's from wait4 and the times are CLOCK_MONOTONIC (Python's
** time.monotonic_ns) just before fork and just after the child was reaped.
** -t: the child starts a session whose controlling terminal is its stdin
** (a pty), as a shell would give it.
** A tiny launcher, because a child forked from a large process (Python)
** inherits that process's resident set as its starting maximum.
*/
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
  int tty = argc > 2 && strcmp(argv[2], "-t") == 0;
  char **cmd = argv + 2 + tty;
  if (!*cmd) {
    fprintf(stderr, "usage: spawn_rss FD [-t] CMD [ARGS...]\n");
    return 2;
  }
  int fd = atoi(argv[1]);
  FILE *out = fdopen(fd, "w");
  if (!out || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) return 2;
  long long t0 = now_ns();
  pid_t pid = fork();
  if (pid == 0) {
    if (tty && (setsid() < 0 || ioctl(0, TIOCSCTTY, 0) < 0)) _exit(126);
    execvp(cmd[0], cmd);
    _exit(127);
  }
  if (pid < 0) return 2;
  fprintf(out, "pid %d\n", (int)pid);
  fflush(out);
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) return 2;
  long long t1 = now_ns();
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  fprintf(out, "exit %d %ld %lld %lld %lld %lld\n", code, ru.ru_maxrss,
          (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
          (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, t0,
          t1);
  fclose(out);
  return code;
}

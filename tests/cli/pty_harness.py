"""Drives llmdo through a pseudo-terminal, as a person at the keyboard would.

    s = Session(binary, args, files)      # writes the project, starts llmdo on a new pty
    s.expect("approval 1 of 1")           # waits for text on the terminal
    s.send("a\\n")                        # types an answer
    status = s.finish()                   # waits for exit, returns the exit status
"""
import os
import pty
import re
import select
import shutil
import signal
import tempfile
import time


class Session:
    def __init__(self, binary, args, files, env=None):
        self.root = os.path.realpath(tempfile.mkdtemp(prefix="llmdo-pty-"))
        for path, content in files.items():
            full = os.path.join(self.root, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb" if isinstance(content, bytes) else "w") as f:
                f.write(content)
        e = {k: v for k, v in os.environ.items() if not k.startswith("LLMDO_")}
        e.update(env or {})
        e["TERM"] = "dumb"
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the pty is its controlling terminal
            os.chdir(self.root)
            try:
                os.execve(binary, [binary] + args, e)
            finally:
                os._exit(127)
        self.out = ""
        self.pos = 0

    def _read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            return None
        if not data:
            return None
        self.out += data.decode(errors="replace").replace("\r\n", "\n")
        return True

    def expect(self, pattern, timeout=10):
        """Waits for a regex after the last match; returns the match."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            m = rx.search(self.out, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0 or self._read(left) is None:
                m = rx.search(self.out, self.pos)
                if m:
                    self.pos = m.end()
                    return m
                raise AssertionError(f"did not see {pattern!r}; terminal so far:\n{self.out}")

    def send(self, text):
        os.write(self.fd, text.encode())

    def finish(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                while self._read(0.05):
                    pass
                os.close(self.fd)
                shutil.rmtree(self.root, ignore_errors=True)
                return os.waitstatus_to_exitcode(status)
            self._read(0.05)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        raise AssertionError(f"llmdo did not exit; terminal:\n{self.out}")

    def tail(self):
        return self.out[self.pos:]


def run_tests(tests):
    import sys
    binary = os.path.abspath(sys.argv[1])
    failed = 0
    for name, fn in tests:
        try:
            fn(binary)
            print(f"ok   {name}")
        except AssertionError as e:
            failed += 1
            print(f"FAIL {name}\n    {e}")
    print(f"{len(tests) - failed}/{len(tests)} cases passed")
    sys.exit(1 if failed else 0)

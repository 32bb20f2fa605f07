"""CLI test harness: runs the real llmdo binary on small projects written
into temporary directories and checks exit status, stdout and stderr.

A test module defines CASES, a list of Case objects, and ends with
`harness.main(CASES)`. ctest runs each module as one test:

    python3 tests/cli/test_manifest.py path/to/llmdo

In expected texts and arguments, {root} is the case's directory (the
working directory of the run, unless `cwd` says otherwise).
"""
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time

# A worker that answers offline, for cases that need a valid project.
HELLO_LUA = """
local llmdo = require "llmdo"
return { echo = llmdo.model(function(req)
  local last = req.messages[#req.messages]
  return { text = "echo: " .. last.parts[1].text }
end) }
"""


def worker(name="main", model="lua:echo", entry=True, extra="", body="Be helpful."):
    lines = ["---", f"name: {name}"]
    if model:
        lines.append(f"model: {model}")
    if entry:
        lines.append("entry: true")
    if extra:
        lines.append(textwrap.dedent(extra).strip("\n"))
    lines += ["---", body, ""]
    return "\n".join(lines)


def project(workers=("main.worker",), lua=("hello.lua",), rest=""):
    """A project.lua; unless `rest` sets runtime, approvals are approve_all
    (the tests run without a terminal, where prompt mode refuses to start)."""
    if "runtime" not in rest:
        rest = (rest + ", " if rest else "") + 'runtime = { approval_mode = "approve_all" }'
    w = ", ".join(f'"{x}"' for x in workers)
    l = ", ".join(f'"{x}"' for x in lua)
    return f"return {{ workers = {{ {w} }}, lua = {{ {l} }}, {rest} }}\n"


def basic(**over):
    """The files of a valid one-worker project, with overrides."""
    files = {"project.lua": project(), "main.worker": worker(), "hello.lua": HELLO_LUA}
    files.update(over)
    return {k: v for k, v in files.items() if v is not None}


sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from mock_provider import MockProvider  # noqa: E402

# Keys the mock accepts; no output may ever contain them.
SECRETS = {"ANTHROPIC_API_KEY": "sk-ant-test-SECRET-9f8e7d", "OPENAI_API_KEY": "sk-openai-test-SECRET-1a2b3c"}
_mock = None


def mock_provider():
    global _mock
    if _mock is None:
        _mock = MockProvider()
    return _mock


class Case:
    def __init__(self, name, files, args, exit=0, stdout=None, stderr=None, env=None,
                 stdin=None, cwd=None, stdout_has=(), stderr_has=(), stderr_lacks=(), stderr_re=None,
                 timeout=20, mock=None, mock_default=None, check=None, stdout_re=None,
                 prepare=None, after=None):
        self.name, self.files, self.args = name, files, args
        self.exit, self.stdout, self.stderr = exit, stdout, stderr
        self.env, self.stdin, self.cwd = env or {}, stdin, cwd
        self.stdout_has, self.stderr_has, self.stderr_re = stdout_has, stderr_has, stderr_re
        self.stderr_lacks = stderr_lacks
        self.timeout = timeout
        # mock: the scripted provider responses (None: no provider); check(requests) -> problems
        self.mock, self.mock_default, self.check, self.stdout_re = mock, mock_default, check, stdout_re
        # prepare(root): makes what `files` cannot (FIFOs, links); after(root) -> problems, once it ran
        self.prepare, self.after = prepare, after


class Custom(Case):
    """A case that runs its own check: fn(binary) -> list of problems."""
    def __init__(self, name, fn):
        super().__init__(name, {}, [])
        self.fn = fn

    def run(self, binary):
        return self.fn(binary)


def write_files(root, files):
    """Writes {path: str or bytes} under root, making directories."""
    for path, content in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb" if isinstance(content, bytes) else "w") as f:
            f.write(content)


def running(pattern):
    """Does any process on the machine match `pgrep -f pattern`?"""
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.strip() != ""


def wait_until(cond, limit=20):
    """Polls cond() until it holds (True) or `limit` seconds pass (False):
    a bound on waiting for an event, never an assertion about speed."""
    deadline = time.monotonic() + limit
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def signalled(binary, files, args, marker, signum, count=1, ready=None):
    """Runs llmdo on `files` in a fresh directory, waits until `marker` has
    shown on its stderr `count` times (and `ready()` holds, if given), then
    sends `signum`. Ordering, not a clock: the signal lands while the run is
    where the test put it. Returns (status, stderr text); status is None if
    the run was still going 20 s after the signal (it is then killed)."""
    with tempfile.TemporaryDirectory(prefix="llmdo-sig-") as root:
        write_files(root, files)
        p = subprocess.Popen([binary] + args, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        seen = b""
        while seen.count(marker) < count:
            chunk = p.stderr.read1(4096)
            if not chunk:
                break
            seen += chunk
        if ready:
            ready()
        p.send_signal(signum)
        try:
            _, rest = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            _, rest = p.communicate()
            return None, (seen + rest).decode(errors="replace")
        return p.returncode, (seen + rest).decode(errors="replace")


def run_case(binary, case):
    with tempfile.TemporaryDirectory(prefix="llmdo-test-") as root:
        root = os.path.realpath(root)
        sub = lambda s: s.replace("{root}", root)
        write_files(root, case.files)
        if case.prepare:
            case.prepare(root)
        env = {k: v for k, v in os.environ.items()
               if k not in ("LLMDO_MODEL", "LLM_DO_MODEL", "LLMDO_SOURCE_DIR", "LLMDO_CONFIG", "LLMDO_APPROVAL_MODE")}
        # the user's own config file stays out of the tests: a case's is {root}/.config/llmdo/config.lua
        env["XDG_CONFIG_HOME"] = os.path.join(root, ".config")
        mock = None
        if case.mock is not None:
            mock = mock_provider()
            mock.reset(case.mock, case.mock_default)
            env.update(SECRETS)
            env["ANTHROPIC_BASE_URL"] = mock.url
            env["OPENAI_BASE_URL"] = mock.url + "/v1"
            env["OLLAMA_BASE_URL"] = mock.url + "/v1"
        for k, v in case.env.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = sub(v).replace("{mock}", (mock.url + "/v1") if mock else "")
        cwd = os.path.join(root, case.cwd) if case.cwd else root
        try:
            # a new session: no controlling terminal, whatever runs the tests
            p = subprocess.run([binary] + [sub(a) for a in case.args], cwd=cwd, env=env,
                               start_new_session=True,
                               input=case.stdin.encode() if case.stdin is not None else None,
                               stdin=None if case.stdin is not None else subprocess.DEVNULL,
                               capture_output=True, timeout=case.timeout)
        except subprocess.TimeoutExpired:
            return [f"timed out after {case.timeout}s"] + ((case.after(root) or []) if case.after else [])
        out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        problems = []
        if p.returncode != case.exit:
            problems.append(f"exit status {p.returncode}, want {case.exit}")
        if case.stdout is not None and out != sub(case.stdout):
            problems.append(f"stdout {out!r}, want {sub(case.stdout)!r}")
        if case.stderr is not None and err != sub(case.stderr):
            problems.append(f"stderr {err!r}, want {sub(case.stderr)!r}")
        for s in case.stdout_has:
            if sub(s) not in out:
                problems.append(f"stdout lacks {sub(s)!r}: {out!r}")
        for s in case.stderr_has:
            if sub(s) not in err:
                problems.append(f"stderr lacks {sub(s)!r}: {err!r}")
        for s in case.stderr_lacks:
            if sub(s) in err:
                problems.append(f"stderr has {sub(s)!r}: {err!r}")
        if case.stderr_re and not re.search(sub(case.stderr_re), err):
            problems.append(f"stderr does not match {case.stderr_re!r}: {err!r}")
        if case.stdout_re and not re.search(sub(case.stdout_re), out):
            problems.append(f"stdout does not match {case.stdout_re!r}: {out!r}")
        if "AddressSanitizer" in err or "runtime error:" in err:
            problems.append(f"sanitizer report: {err}")
        for secret in SECRETS.values():
            if secret in out or secret in err:
                problems.append("an API key appeared in the output")
        if case.check and mock is not None:
            problems += case.check(mock.requests) or []
        if case.after:
            problems += case.after(root) or []
        return problems


def main(cases):
    binary = os.path.abspath(sys.argv[1])
    only = sys.argv[2] if len(sys.argv) > 2 else None
    failed = 0
    names = set()
    for case in cases:
        assert case.name not in names, f"duplicate case name {case.name}"
        names.add(case.name)
        if only and only not in case.name:
            continue
        problems = case.run(binary) if hasattr(case, "run") else run_case(binary, case)
        if problems:
            failed += 1
            print(f"FAIL {case.name}")
            for pr in problems:
                print(f"    {pr}")
        else:
            print(f"ok   {case.name}")
    print(f"{len(cases) - failed}/{len(cases)} cases passed")
    sys.exit(1 if failed else 0)

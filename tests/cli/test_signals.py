"""Signals and standard streams: SIGTERM and SIGHUP stop a run as Ctrl-C
does (cleanups run, children die, 128 + the signal's number); closed
standard streams, a full disk and a reader that went away are handled;
os.exit in project code unwinds through the cleanups."""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, Custom, main, project, running, signalled, wait_until, worker

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = open(os.path.join(HERE, "lua", "script_model.lua")).read()
GREETER = os.path.join(os.path.dirname(os.path.dirname(HERE)), "examples", "greeter")

TOOLS = r"""
local llmdo = require "llmdo"
local M = {}
M.waits = llmdo.toolset { factory = function()
  return { tools = {
    nap = { approval = "pre_approved", fn = function() io.stderr:write("started\n"); llmdo.sleep(30000) end },
    leave = { approval = "pre_approved", params = { code = "integer" }, fn = function(a) os.exit(a.code) end },
  }, cleanup = function() llmdo.sleep(20); io.stderr:write("cleanup done\n") end }
end }
return M
"""

# The prompt comes from project.lua, so no llmdo process has "sleep 43.21" in its argv.
def stop_project(prompt, toolsets):
    return {"project.lua": project(workers=("main.worker",), lua=("script_model.lua", "t.lua"),
                                   rest="entry = { input = '%s' }, runtime = { approval_mode = 'approve_all' }"
                                        % prompt),
            "main.worker": worker(model="lua:script", extra="toolsets:\n" + toolsets),
            "script_model.lua": SCRIPT, "t.lua": TOOLS}


def stopped_by(signum, want_status, want_line):
    def run(binary):
        files = stop_project('sh_shell:{"command":"sleep 43.21","timeout":60}&nap:{};say',
                             "  - waits\n  - sh: {toolset: shell, rules: [{pattern: sleep, approval_required: false}]}")

        # the shell tool starts its child in the same turn; wait until it exists
        status, err = signalled(binary, files, ["run", "."], b"started\n", signum,
                                ready=lambda: wait_until(lambda: running("sleep 43[.]21"), limit=10))
        if status is None:
            return ["did not stop"]
        problems = []
        if status != want_status:
            problems.append(f"exit {status}, want {want_status}: {err!r}")
        for part in ("cleanup done\n", want_line):
            if err.count(part) != 1:
                problems.append(f"want {part!r} once: {err!r}")
        left = subprocess.run(["pgrep", "-f", "sleep 43[.]21"], capture_output=True, text=True).stdout
        if left.strip():
            problems.append("the shell child survived")
            subprocess.run(["pkill", "-f", "sleep 43[.]21"])
        return problems
    return run


def greeter(shell_redirect, want_status, want_out=None, want_err=None):
    def run(binary):
        p = subprocess.run(["bash", "-c", f'"$0" run "$1" {shell_redirect}', binary, GREETER],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
        problems = []
        if p.returncode != want_status:
            problems.append(f"exit {p.returncode}, want {want_status}: {p.stderr!r}")
        if want_out is not None and p.stdout != want_out:
            problems.append(f"stdout {p.stdout!r}, want {want_out!r}")
        if want_err is not None and p.stderr != want_err:
            problems.append(f"stderr {p.stderr!r}, want {want_err!r}")
        return problems
    return run


def broken_pipe(binary):
    r, w = os.pipe()
    os.close(r)  # the reader is gone before anything is written
    p = subprocess.run([binary, "run", GREETER], stdout=w, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    os.close(w)
    problems = []
    if p.returncode != 141:
        problems.append(f"exit {p.returncode}, want 141 (as SIGPIPE)")
    if p.stderr:
        problems.append(f"stderr {p.stderr!r}, want nothing")
    return problems


EXIT_ENTRY = r"""
local llmdo = require "llmdo"
return { main = llmdo.entry { main = function(input)
  io.stdout:write("before\n")
  os.exit(tonumber(input[1]) or input[1] == "true")
end } }
"""

CASES = [
    Custom("SIGTERM stops like Ctrl-C: cleanups run, children die, exit 143",
           stopped_by(signal.SIGTERM, 143, "Terminated (SIGTERM)\n")),
    Custom("SIGHUP stops like Ctrl-C: exit 129", stopped_by(signal.SIGHUP, 129, "Hangup (SIGHUP)\n")),
    Custom("a closed stdout: the run still succeeds", greeter(">&-", 0, want_err="")),
    Custom("closed stdin and stderr", greeter("<&- 2>&-", 0, want_out="Hello, Ada! Lovely to meet you.\n")),
    Custom("a full disk on stdout is an error", greeter(">/dev/full", 1, want_err=
           "Error: cannot write the result to standard output: No space left on device\n")),
    Custom("a reader that went away: exit 141, quietly", broken_pipe),
    Case("os.exit(3) in an entry exits 3 after flushing, saying nothing",
         {"project.lua": project(workers=(), lua=("e.lua",)), "e.lua": EXIT_ENTRY}, ["run", ".", "3"],
         exit=3, stdout="before\n", stderr=""),
    Case("os.exit() exits 0", {"project.lua": project(workers=(), lua=("e.lua",)), "e.lua": EXIT_ENTRY},
         ["run", ".", "true"], exit=0, stdout="before\n", stderr=""),
    Case("os.exit in a tool unwinds through the call's cleanups",
         stop_project('leave:{"code":4};say', "  - waits"), ["run", "."], exit=4, stderr="cleanup done\n"),
]

main(CASES)

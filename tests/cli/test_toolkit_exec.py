"""The toolset author's kit, part one: llmdo.exec (a subprocess on the loop,
with the shell toolset's scrubbed environment), the shell toolset's `cwd`,
and attachments a model names, confined to the project root."""
import json, os, signal, subprocess, sys, tempfile
sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, Custom, project, running, wait_until, worker, main, write_files

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = open(os.path.join(HERE, "lua", "script_model.lua")).read()

# An entry that runs the scenario its prompt names and prints its result as JSON.
EXEC_LUA = r"""
local llmdo = require "llmdo"
local M, S = {}, {}
local function exec(opts)
  local r = llmdo.exec(opts)
  r.stdout_len, r.stderr_len = #r.stdout, #r.stderr
  return r
end
S.stdin = function() return exec { argv = { "cat" }, stdin = "piped text\n" } end
S.status = function()
  return exec { argv = { "sh", "-c", "echo out; echo err >&2; exit 7" } }
end
S.signal = function() return exec { argv = { "sh", "-c", "kill -9 $$" } } end
S.timeout = function() return exec { argv = { "sleep", "30.0417" }, timeout = 1 } end
-- the child ignores SIGTERM (and so does its sleep): SIGKILL after the grace
S.stubborn = function()
  return exec { argv = { "sh", "-c", "trap '' TERM; sleep 30.0419" }, timeout = 0.5 }
end
S.env = function() return exec { argv = { "env" } } end
S.explicit_env = function() return exec { argv = { "env" }, env = { ONLY = "this", PATH = "/usr/bin:/bin" } } end
S.max_output = function()
  return exec { argv = { "sh", "-c", "head -c 5000 /dev/zero; head -c 70 /dev/zero >&2" }, max_output = 64 }
end
S.missing = function() return exec { argv = { "llmdo-no-such-program" } } end
S.cwd = function() return exec { argv = { "pwd" }, cwd = "sub" } end
S.bad_cwd = function() return exec { argv = { "pwd" }, cwd = "nowhere" } end
S.bad_key = function() return exec { argv = { "pwd" }, tiemout = 3 } end
S.bad_env = function() return exec { argv = { "pwd" }, env = { A = 1 } } end
S.bad_argv = function() return exec { argv = "ls -l" } end
S.bad_timeout = function() return exec { argv = { "pwd" }, timeout = 0 } end
-- the loop goes on while a child runs: the child waits for a file the
-- ticking branch writes after its ten ticks
S.parallel = function(rt)
  local log = {}
  rt:parallel(function()
    exec { argv = { "sh", "-c", "while [ ! -e go ]; do sleep 0.01; done" }, timeout = 20 }
    log[#log + 1] = "exec"
  end, function()
    for _ = 1, 10 do
      llmdo.sleep(50)
      log[#log + 1] = "tick"
    end
    rt:write_file("go", "")
  end)
  return log
end
S.long = function() return exec { argv = { "sleep", "30.0421" } } end
M.main = llmdo.entry { main = function(input, rt)
  return llmdo.json.encode(S[input[1]](rt), "s")
end }
return M
"""


def exec_project():
    return {"project.lua": 'return { lua = { "exec.lua" }, runtime = { approval_mode = "approve_all" } }\n',
            "exec.lua": EXEC_LUA, "sub/x": ""}


def err(msg):
    return f"Error: {msg}\n"


def reap(marker):
    """Kills what a failed case left behind, by process id."""
    pids = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout
    for pid in pids.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


def scenario(binary, name, env=None):
    with tempfile.TemporaryDirectory(prefix="llmdo-exec-") as root:
        write_files(root, exec_project())
        e = {k: v for k, v in os.environ.items() if k not in ("LLMDO_MODEL", "LLM_DO_MODEL", "LLMDO_SOURCE_DIR")}
        e.update(env or {})
        p = subprocess.run([binary, "run", ".", name], cwd=root, env=e, capture_output=True, text=True,
                           timeout=30, stdin=subprocess.DEVNULL, start_new_session=True)
        return p.returncode, p.stdout, p.stderr, os.path.realpath(root)


def expect(name, want_exit=0, error=None, gone=None, **fields):
    """A scenario's exit status and llmdo's stderr (error), or the fields of
    its result; gone: a pgrep pattern no process may match afterwards."""
    def fn(binary):
        code, out, e, root = scenario(binary, name)
        problems = []
        if code != want_exit:
            problems.append(f"exit {code}, want {want_exit}: {e!r}")
        if error is not None and e != error.replace("{root}", root):
            problems.append(f"stderr {e!r}, want {error!r}")
        if want_exit == 0 and code == 0:
            got = json.loads(out)
            for k, v in fields.items():
                if got.get(k) != v:
                    problems.append(f"{k} = {got.get(k)!r}, want {v!r}")
        if gone:
            if not wait_until(lambda: not running(gone), limit=5):
                reap(gone)
                problems.append(f"the child outlived the call ({gone})")
        return problems
    return fn


SECRET_ENV = {"ANTHROPIC_API_KEY": "sk-exec-leak-1", "OPENAI_API_KEY": "sk-exec-leak-2",
              "MY_SECRET_TOKEN": "sk-exec-leak-3", "LANG": "C.UTF-8"}


def scrubbed_env(binary):
    code, out, e, root = scenario(binary, "env", SECRET_ENV)
    if code != 0:
        return [f"exit {code}: {e!r}"]
    got = json.loads(out)["stdout"]
    problems = [f"{v} reached the child" for v in SECRET_ENV.values() if v.startswith("sk-") and v in got]
    lines = got.splitlines()
    if not any(l.startswith("PATH=") for l in lines) or "LANG=C.UTF-8" not in lines:
        problems.append(f"the allow-listed variables are missing: {got!r}")
    if f"PWD={root}" not in lines:
        problems.append(f"PWD is not the project root: {got!r}")
    return problems


def explicit_env(binary):
    code, out, e, _ = scenario(binary, "explicit_env", SECRET_ENV)
    if code != 0:
        return [f"exit {code}: {e!r}"]
    got = json.loads(out)["stdout"]
    return [] if got == "ONLY=this\nPATH=/usr/bin:/bin\n" else [f"the child's environment: {got!r}"]


def not_blocked(binary):
    code, out, e, _ = scenario(binary, "parallel")
    if code != 0:
        return [f"exit {code}: {e!r}"]
    log = json.loads(out)
    return [] if log == ["tick"] * 10 + ["exec"] else [f"order {log}"]


def interrupt(binary):
    marker = "sleep 30[.]0421"
    with tempfile.TemporaryDirectory(prefix="llmdo-exec-") as root:
        write_files(root, exec_project())
        p = subprocess.Popen([binary, "run", ".", "long"], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        if not wait_until(lambda: running(marker), limit=10):  # until the child runs
            p.kill()
            return ["the child never started: " + p.communicate()[1].decode()]
        p.send_signal(signal.SIGINT)
        try:
            _, e = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            return ["did not stop after Ctrl-C"]
        problems = [] if p.returncode == 130 else [f"exit {p.returncode}, want 130: {e!r}"]
        if not wait_until(lambda: not running(marker), limit=5):
            reap(marker)
            problems.append("the child survived Ctrl-C")
        return problems


# --- the shell toolset's cwd -------------------------------------------------

def shell_proj(toolset, rest="runtime = { approval_mode = 'approve_all' }"):
    return {"proj/project.lua": project(workers=("main.worker",), lua=("script_model.lua",), rest=rest),
            "proj/main.worker": worker(model="lua:script", extra="toolsets:\n" + toolset),
            "proj/script_model.lua": SCRIPT, "proj/notes/a.txt": "alpha", "proj/root.txt": "",
            "started/here.txt": ""}


def ls_result(listing):
    return json.dumps({"exit_code": 0, "stderr": "", "stdout": listing, "truncated": False},
                      separators=(",", ":")) + "\n"


LS = 'shell:{"command":"ls"};say'

# --- attachments a model names ------------------------------------------------

ATTACH_LUA = r"""
local llmdo = require "llmdo"
local M = {}
-- main: calls the worker `reader` with the attachments its prompt lists, then
-- says what came back
M.main = llmdo.model(function(req)
  local last = req.messages[#req.messages]
  if last.role == "tool" then return { text = last.parts[1].content } end
  local paths = llmdo.json.decode(req.messages[1].parts[1].text)
  return { tool_calls = { { name = "reader", args = { input = "read", attachments = paths } } } }
end)
-- reader: names the files it was given
M.reader = llmdo.model(function(req)
  local names = {}
  for _, p in ipairs(req.messages[1].parts) do
    if p.type == "attachment" then names[#names + 1] = p.path:match("[^/]+/[^/]+$") end
  end
  return { text = "got " .. table.concat(names, ", ") }
end)
return M
"""

# Entry code is trusted: its attachments are not confined.
TRUSTED_ENTRY = r"""
M.trusted = llmdo.entry { main = function(input, rt)
  return (rt:call_agent("reader", { input = "read", attachments = llmdo.json.decode(input[1]) }))
end }
return M
"""


def attach_proj(runtime="", entry_code=False):
    rt = "runtime = { approval_mode = 'approve_all'" + (", " + runtime if runtime else "") + " }"
    files = {"proj/project.lua": project(workers=("main.worker", "reader.worker"), lua=("models.lua",), rest=rt),
             "proj/main.worker": worker(model="lua:main", entry=not entry_code, extra="toolsets:\n  - reader"),
             "proj/reader.worker": worker(name="reader", model="lua:reader", entry=False),
             "proj/models.lua": ATTACH_LUA.replace("return M\n", TRUSTED_ENTRY) if entry_code else ATTACH_LUA,
             "proj/decks/a.pdf": "%PDF-1.4 a", "shared/b.pdf": "%PDF-1.4 b",
             "outside/secret.pdf": "%PDF-1.4 secret"}
    return files


def link_out(root):
    os.symlink(os.path.join(root, "outside", "secret.pdf"), os.path.join(root, "proj", "decks", "link.pdf"))


RETURN_PERM = "return_permission_errors = true"


def refused(path):
    return json.dumps({"error": f"Attachment outside the project root: {path}", "error_type": "permission",
                       "tool_name": "reader"}, separators=(",", ":"), sort_keys=True) + "\n"


CASES = [
    Custom("exec: stdin is written to the child, then closed",
           expect("stdin", status=0, stdout="piped text\n", stderr="", truncated=False)),
    Custom("exec: a non-zero status, both streams",
           expect("status", status=7, stdout="out\n", stderr="err\n", signal=None)),
    Custom("exec: killed by a signal: status nil, signal 9", expect("signal", status=None, signal=9)),
    Custom("exec: a timeout raises, and the child's group is gone",
           expect("timeout", 1, err("llmdo.exec: timed out after 1 s: sleep"), gone="sleep 30[.]0417")),
    Custom("exec: a child ignoring SIGTERM is killed after the grace",
           expect("stubborn", 1, err("llmdo.exec: timed out after 0.5 s: sh"), gone="sleep 30[.]0419")),
    Custom("exec: the scrubbed environment: no provider key, no secret; PWD", scrubbed_env),
    Custom("exec: an explicit env is the whole environment", explicit_env),
    Custom("exec: output beyond max_output is dropped, truncated = true",
           expect("max_output", stdout_len=64, stderr_len=64, truncated=True, status=0)),
    Custom("exec: a program that cannot be started",
           expect("missing", 1, err("llmdo.exec: cannot run 'llmdo-no-such-program': No such file or directory"))),
    Custom("exec: a relative cwd is resolved against the project root", lambda b: (
        lambda r: [] if r[0] == 0 and json.loads(r[1])["stdout"] == r[3] + "/sub\n" else [repr(r)])(
        scenario(b, "cwd"))),
    Custom("exec: a missing cwd is an error naming it",
           expect("bad_cwd", 1, err("llmdo.exec: cwd not found: nowhere (resolved: {root}/nowhere)"))),
    Custom("exec: an unknown key", expect("bad_key", 1, err("llmdo.exec: tiemout: unknown key; did you mean 'timeout'?"))),
    Custom("exec: env values must be strings",
           expect("bad_env", 1, err("llmdo.exec: env.A: expected a string, got an integer"))),
    Custom("exec: argv must be a list",
           expect("bad_argv", 1, err("llmdo.exec: argv: expected a non-empty list of strings, got a string"))),
    Custom("exec: timeout must be positive",
           expect("bad_timeout", 1, err("llmdo.exec: timeout: expected a number from 0.001 to 604800, got 0"))),
    Custom("exec: only the calling task waits (the other branch ticks meanwhile)", not_blocked),
    Custom("exec: Ctrl-C during a long exec: exit 130, the child is gone", interrupt),

    Case("shell cwd: the project root by default", shell_proj("  - shell_readonly"), ["run", "../proj", LS],
         cwd="started", stdout=ls_result("main.worker\nnotes\nproject.lua\nroot.txt\nscript_model.lua\n")),
    Case("shell cwd: '.' is where llmdo was started", shell_proj('  - sh: {toolset: shell_readonly, cwd: "."}'),
         ["run", "../proj", LS.replace("shell:", "sh_shell:")], cwd="started", stdout=ls_result("here.txt\n")),
    Case("shell cwd: a relative path is resolved against the project root",
         shell_proj("  - sh: {toolset: shell_readonly, cwd: notes}"),
         ["run", "../proj", LS.replace("shell:", "sh_shell:")], cwd="started", stdout=ls_result("a.txt\n")),
    Case("shell cwd: a missing directory", shell_proj("  - sh: {toolset: shell, cwd: nowhere}"),
         ["run", "proj", "say"], exit=1,
         stderr=err("shell: cwd 'nowhere' is not a directory: {root}/proj/nowhere")),
    Case("shell cwd: must be a string", shell_proj("  - sh: {toolset: shell_readonly, cwd: 5}"),
         ["check", "proj"], exit=2,
         stderr=err("proj/main.worker: toolset 'sh' (shell_readonly): cwd: expected a directory (a path, or \".\" "
                    "for where llmdo was started)")),

    Case("attachments: a model's path inside the project root is sent", attach_proj(),
         ["run", "proj", '["decks/a.pdf"]'], stdout="got decks/a.pdf\n"),
    Case("attachments: a model's '..' escape is a permission error", attach_proj(),
         ["run", "proj", '["../outside/secret.pdf"]'], exit=1,
         stderr=err("Attachment outside the project root: ../outside/secret.pdf")),
    Case("attachments: an escape goes back to the model with return_permission_errors", attach_proj(RETURN_PERM),
         ["run", "proj", '["../../etc/passwd"]'], stdout=refused("../../etc/passwd")),
    Case("attachments: an absolute path elsewhere is refused", attach_proj(RETURN_PERM),
         ["run", "proj", '["{root}/outside/secret.pdf"]'], stdout=refused("{root}/outside/secret.pdf")),
    Case("attachments: a symlink out of the root is refused", attach_proj(RETURN_PERM),
         ["run", "proj", '["decks/link.pdf"]'], stdout=refused("decks/link.pdf"), prepare=link_out),
    Case("attachments: runtime.attachment_roots lets a model name more", attach_proj("attachment_roots = { '../shared' }"),
         ["run", "proj", '["../shared/b.pdf"]'], stdout="got shared/b.pdf\n"),
    Case("attachments: runtime.attachment_roots is checked", attach_proj("attachment_roots = '../shared'"),
         ["run", "proj", "[]"], exit=2,
         stderr=err("proj/project.lua: runtime.attachment_roots: expected a list, got a string")),
    Case("attachments: entry code's are trusted as before", attach_proj(entry_code=True),
         ["run", "proj", '["../outside/secret.pdf"]'], stdout="got outside/secret.pdf\n"),
]

main(CASES)

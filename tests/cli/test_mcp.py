"""MCP servers as toolsets, against tests/mcp_server.py (a loopback MCP
server that misbehaves on purpose): stdio and Streamable HTTP, results with
text, images, resources and isError, faults (a server that exits mid-call,
malformed JSON-RPC, one that never answers initialize), calls multiplexed
by request id, lifetimes by scope, approvals, configuration errors,
check --connect, and Ctrl-C."""
import json, os, signal, subprocess, sys, tempfile
sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, Custom, project, running, wait_until, worker, main, write_files

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(os.path.dirname(HERE), "mcp_server.py")
SCRIPT = open(os.path.join(HERE, "lua", "script_model.lua")).read()


def files(options="", rest="runtime = { approval_mode = 'approve_all' }", server_args="", extra=None):
    """A project whose worker has the MCP server `t` (options: more YAML)."""
    argv = f"[python3, {SERVER}, --log, log{', ' + server_args if server_args else ''}]"
    ts = f"toolsets:\n  - t: {{ toolset: mcp, command: {argv}{', ' + options if options else ''} }}"
    f = {"project.lua": project(lua=("script_model.lua",), rest=rest),
         "main.worker": worker(model="lua:script", extra=ts), "script_model.lua": SCRIPT}
    f.update(extra or {})
    return f


def run(prompt, *more):
    return ["run", ".", prompt, *more]


def err(msg):
    return f"Error: {msg}\n"


def log_has(*lines):
    """after(root): the server's log holds these lines, in this order."""
    def check(root):
        path = os.path.join(root, "log")
        got = open(path).read().splitlines() if os.path.exists(path) else []
        it = iter(got)
        missing = [l for l in lines if not any(g == l for g in it)]
        return [f"the server's log lacks {missing} (in order): {got}"] if missing else []
    return check


def no_log(root):
    return ["the server was started"] if os.path.exists(os.path.join(root, "log")) else []


# An entry that calls the worker once per '|'-separated prompt, going on
# when a call fails; prints the outcomes.
TWICE = r"""
local llmdo = require "llmdo"
return { twice = llmdo.entry { main = function(input, rt)
  local out = {}
  for p in input[1]:gmatch("[^|]+") do
    local ok, r = pcall(rt.call_agent, rt, "main", p)
    out[#out + 1] = ok and r or "failed"
  end
  return table.concat(out, " / ")
end } }
"""


def twice(scope):
    f = files(f"scope: {scope}", extra={"twice.lua": TWICE})
    f["project.lua"] = project(lua=("script_model.lua", "twice.lua"))
    f["main.worker"] = f["main.worker"].replace("entry: true\n", "")
    return f


def pids(scope, same):
    def fn(binary):
        with tempfile.TemporaryDirectory(prefix="llmdo-mcp-") as root:
            write_files(root, twice(scope))
            p = subprocess.run([binary, "run", ".", "t_pid:{};say|t_pid:{};say"], cwd=root, capture_output=True, text=True,
                               timeout=30, stdin=subprocess.DEVNULL, start_new_session=True)
            if p.returncode != 0:
                return [f"exit {p.returncode}: {p.stderr!r}"]
            a, b = p.stdout.strip().split(" / ")
            return [] if (a == b) == same else [f"server pids {a} and {b}: same={same} wanted"]
    return fn


def http_case(name, check, prompt, env=None, headers="", exit=0, options=""):
    """Runs the project against mcp_server.py --http (started here)."""
    def fn(binary):
        with tempfile.TemporaryDirectory(prefix="llmdo-mcp-") as root:
            portfile = os.path.join(root, "port")
            e = dict(os.environ, **(env or {}))
            srv = subprocess.Popen([sys.executable, SERVER, "--http", portfile, "--log", os.path.join(root, "log")],
                                   env=e, start_new_session=True)
            try:
                if not wait_until(lambda: os.path.exists(portfile), limit=10):
                    return ["the HTTP server did not start"]
                url = f"http://127.0.0.1:{open(portfile).read()}/mcp"
                ts = (f"toolsets:\n  - t: {{ toolset: mcp, url: {url}{', headers: ' + headers if headers else ''}"
                      f"{', ' + options if options else ''} }}")
                write_files(root, {"project.lua": project(lua=("script_model.lua",)), "script_model.lua": SCRIPT,
                                   "main.worker": worker(model="lua:script", extra=ts)})
                p = subprocess.run([binary, "run", ".", prompt], cwd=root, capture_output=True, text=True,
                                   timeout=30, env=e, stdin=subprocess.DEVNULL, start_new_session=True)
                problems = [] if p.returncode == exit else [f"exit {p.returncode}, want {exit}: {p.stderr!r}"]
                log = open(os.path.join(root, "log")).read() if os.path.exists(os.path.join(root, "log")) else ""
                return problems + check(p.stdout, p.stderr, log)
            finally:
                srv.kill()
                srv.wait()
    return Custom(name, fn)


def http_ok(out, e, log):
    problems = []
    if out != "hello over http | a dot:\n[image 1: image/png, attached] [+image/png]\n":
        problems.append(f"stdout {out!r}")
    if "DELETE session-0" not in log:
        problems.append(f"the session was not ended: {log!r}")
    return problems


def http_unauthorised(out, e, log):
    want = "MCP server 't' answered initialize with HTTP 401: {\"error\": \"unauthorised\"}"
    return [] if want in e else [f"stderr {e!r}"]


def http_timeout(out, e, log):
    problems = [] if out == ("E:Tool 't_slow' got no answer from MCP server 't' within 1 s (timeout)\n\n"
                             "Fix the errors and try again.\n") else [f"stdout {out!r}"]
    lines = log.splitlines()
    if "notifications/cancelled None 3" not in lines or not any(l.startswith("DELETE ") for l in lines):
        problems.append(f"the server did not hear of the cancellation, or of the end: {lines}")
    return problems


def ctrl_c(binary):
    """Ctrl-C during a call: notifications/cancelled, then the server goes."""
    with tempfile.TemporaryDirectory(prefix="llmdo-mcp-") as root:
        write_files(root, files(server_args='--pages, "2"'))
        p = subprocess.Popen([binary, "run", ".", 't_slow:{"seconds":30.0433};say'], cwd=root,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        log = os.path.join(root, "log")
        if not wait_until(lambda: os.path.exists(log) and "tools/call" in open(log).read(), limit=15):
            p.kill()
            return ["the call never reached the server: " + p.communicate()[1].decode()]
        p.send_signal(signal.SIGINT)
        try:
            _, e = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            return ["did not stop after Ctrl-C"]
        problems = [] if p.returncode == 130 else [f"exit {p.returncode}, want 130: {e!r}"]
        problems += log_has("tools/call 4", "notifications/cancelled None 4", "stdin closed")(root)
        if not wait_until(lambda: not running(f"mcp_server.py --log log --pages 2"), limit=5):
            problems.append("the server outlived Ctrl-C")
        return problems


CASES = [
    Case("echo", files(), run('t_echo:{"text":"hi"};say'), stdout="hi\n",
         after=log_has("initialize 1", "notifications/initialized None", "tools/list 2", "tools/call 3",
                       "stdin closed")),
    Case("tools/list in pages", files(server_args='--pages, "4"'), run('t_stderr:{"text":"x"};say'),
         stdout="written\n", after=log_has("tools/list 2", "tools/list 3", "tools/list 4", "tools/list 5")),
    Case("an image is an attachment", files(), run("t_image:{};say"),
         stdout="a dot:\n[image 1: image/png, attached] [+image/png]\n"),
    Case("a resource", files(), run("t_resource:{};say"), stdout="[resource file:///notes.txt]\nresource body\n"),
    Case("isError goes to the model", files(), run("t_fail:{};say"), stdout="E:the widget is broken\n"),
    Case("a JSON-RPC error goes to the model", files(), run("t_rpc_error:{};say"),
         stdout="E:MCP error -32000: widget service unavailable\n"),
    Case("the server's requests: ping answered, sampling refused", files(),
         run('t_ask:{"method":"ping"}&t_ask:{"method":"sampling/createMessage"};say'),
         stdout='{} | {"code": -32601, "message": "Method not found"}\n'),
    Case("calls multiplexed by id", files(), run('t_slow:{"seconds":0.5,"text":"first"}&t_echo:{"text":"second"};say'),
         stdout="first | second\n"),
    Case("exits mid-call", files(), run("t_die:{};say"), exit=1,
         stderr=err("Tool 't_die' failed: MCP server 't' exited with status 3 during tools/call "
                    "(its stderr ends: dying now)")),
    Case("malformed JSON-RPC", files(), run("t_garbage:{};say"), exit=1,
         stderr=err("Tool 't_garbage' failed: MCP server 't' sent a message that is not JSON-RPC "
                    "(during tools/call): this is not JSON-RPC")),
    Case("never answers initialize", files("timeout: 0.5", server_args="--no-init"), run("t_echo:{};say"), exit=1,
         stderr=err("MCP server 't' did not answer initialize within 0.5 s (timeout)"),
         after=lambda root: ["initialize was announced as cancelled, which MCP forbids"]
         if "notifications/cancelled" in open(os.path.join(root, "log")).read() else []),
    Case("a call's timeout: the model is told, the server hears", files("timeout: 1"),
         run('t_slow:{"seconds":30};say'),
         stdout="E:Tool 't_slow' got no answer from MCP server 't' within 1 s (timeout)\n\nFix the errors and try again.\n",
         after=log_has("tools/call 3", "notifications/cancelled None 3")),
    Case("server stderr at -vv", files(), run('t_stderr:{"text":"hello from stderr"};say', "-vv"),
         stdout="written\n", stderr_has=("[mcp t] stderr: hello from stderr\n",)),
    Case("server stderr hidden at -v", files(), run('t_stderr:{"text":"hello from stderr"};say', "-v"),
         stdout="written\n", stderr_lacks=("[mcp t]",)),
    # environment: $VARS expanded at start, provider keys kept out
    Case("env", files('env: { MY_TOKEN: "${MCP_TEST_TOKEN}-x" }'),
         run('t_env:{"name":"MY_TOKEN"}&t_env:{"name":"ANTHROPIC_API_KEY"};say'),
         env={"MCP_TEST_TOKEN": "tok", "ANTHROPIC_API_KEY": "sk-mcp-leak"}, stdout="'tok-x' | None\n"),
    Case("env: replaces an inherited variable", files('env: { LANG: "C.llmdo-test" }'),
         run('t_env:{"name":"LANG"};say'), env={"LANG": "C.UTF-8"}, stdout="'C.llmdo-test'\n"),
    Case("env: $$ is a $, ${NAME} and $NAME expand", files('env: { MY_TOKEN: "$$x-${MCP_TEST_TOKEN}-$MCP_TEST_TOKEN}" }'),
         run('t_env:{"name":"MY_TOKEN"};say'), env={"MCP_TEST_TOKEN": "tok"}, stdout="'$x-tok-tok}'\n"),
    Case("env: a value with a line break", files('env: { MY_TOKEN: "$MCP_TEST_TOKEN" }'), run("t_echo:{};say"),
         env={"MCP_TEST_TOKEN": "a\nb"}, exit=1,
         stderr=err("MCP server 't': env.MY_TOKEN: the value holds a line break or a NUL")),
    Case("env: an unset variable", files('env: { MY_TOKEN: "$MCP_TEST_UNSET" }'), run("t_echo:{};say"), exit=1,
         env={"MCP_TEST_UNSET": None},
         stderr=err("MCP server 't': env.MY_TOKEN: $MCP_TEST_UNSET is not set in the environment")),
    # approvals: every tool asks unless approve names it
    Case("asks by default", files(rest="runtime = { approval_mode = 'reject_all' }"),
         run('t_echo:{"text":"hi"};say'), exit=1, stderr_has=("t_echo",), stderr_lacks=("hi\n",)),
    Case("approve lifts it", files("approve: [echo]", rest="runtime = { approval_mode = 'reject_all' }"),
         run('t_echo:{"text":"hi"};say'), stdout="hi\n"),
    Case("tools: keeps only those", files("tools: [echo]"), run("t_pid:{};say"),
         stdout_has=("E:Unknown tool name: 't_pid'. Available tools: 't_echo'",)),
    Case("tools: names a tool the server lacks", files("tools: [ehco]"), run("t_echo:{};say"), exit=1,
         stderr_has=("MCP server 't': tools: 'ehco' is not one of its tools (",)),
    # configuration errors are link errors naming the key
    Case("unknown option", files("comand: [x]"), run("x"), exit=2,
         stderr=err("main.worker: toolset 't' (mcp): unknown option 'comand' (options: command, url, headers, env, "
                    "cwd, scope, tools, approve, timeout)")),
    Case("command and url", files("url: http://127.0.0.1:9/mcp"), run("x"), exit=2,
         stderr_has=("toolset 't' (mcp): give command (a server run over stdio) or url",)),
    Case("a bad scope", files("scope: forever"), run("x"), exit=2, stderr_has=("toolset 't' (mcp): scope:",)),
    Case("mcp without an instance name", {"project.lua": project(lua=("script_model.lua",)),
                                          "script_model.lua": SCRIPT,
                                          "main.worker": worker(model="lua:script", extra="toolsets:\n  - mcp")},
         run("x"), exit=2, stderr_has=("main.worker: toolset 'mcp' needs an instance name and its server",)),
    Case("project.lua mcp, by name", {
        "project.lua": project(lua=("script_model.lua",), rest=(
            f"mcp = {{ t = {{ command = {{ 'python3', '{SERVER}' }}, approve = {{ 'echo' }} }} }}, "
            "runtime = { approval_mode = 'reject_all' }")),
        "script_model.lua": SCRIPT, "main.worker": worker(model="lua:script", extra="toolsets:\n  - t")},
        run('t_echo:{"text":"from project.lua"};say'), stdout="from project.lua\n"),
    Case("project.lua mcp, unknown option", {
        "project.lua": project(lua=("script_model.lua",), rest="mcp = { t = { command = { 'x' }, aprove = true } }"),
        "script_model.lua": SCRIPT, "main.worker": worker(model="lua:script")},
        run("x"), exit=2, stderr_has=("project.lua: mcp.t: unknown option 'aprove' (options:",)),
    # check starts no server without --connect
    Case("check", files(), ["check", "."], stdout_has=("toolsets: t = mcp (built-in)",), after=no_log),
    Case("check --tools wants --connect", files(), ["check", ".", "--tools"], exit=2,
         stderr=err("worker 'main' uses MCP server 't': check --tools starts it only with --connect"), after=no_log),
    Case("check --connect", files("approve: [echo]", server_args='--pages, "3"'), ["check", ".", "--connect"],
         stdout_has=("mcp t (worker main): python3 ", "  server:   llmdo-test-server 1.0, protocol 2025-06-18\n",
                     "  t_echo\n    Echo text\n    {\"properties\":{\"text\":{\"type\":\"string\"}},"
                     "\"required\":[\"text\"],\"type\":\"object\"}\n", "  t_stderr  [needs approval]\n"),
         after=log_has("initialize 1", "ping 2", "tools/list 3", "tools/list 4", "tools/list 5", "stdin closed")),
    # lifetimes: a server per call, or shared; a dead one is started afresh
    Custom("scope call: a server per call", pids("call", same=False)),
    Custom("scope run: one server", pids("run", same=True)),
    Custom("scope run: a server that died is started afresh", lambda b: restart(b)),
    Custom("a second Ctrl-C exits at once and takes the servers along", lambda b: forced_exit(b)),
    Custom("two calls that find the server dead start one new server", lambda b: restart(b, concurrent=True)),
    Custom("Ctrl-C mid-call", ctrl_c),
    http_case("Streamable HTTP", http_ok, 't_echo:{"text":"hello over http"}&t_image:{};say',
              env={"MCP_TEST_AUTH": "Bearer tok-1", "TOK": "tok-1"}, headers='{ Authorization: "Bearer $TOK" }'),
    http_case("Streamable HTTP: a call's timeout", http_timeout, 't_slow:{"seconds":30};say', options="timeout: 1"),
    http_case("Streamable HTTP: refused", http_unauthorised, "t_echo:{};say", exit=1,
              env={"MCP_TEST_AUTH": "Bearer tok-1", "TOK": "wrong"}, headers='{ Authorization: "Bearer $TOK" }'),
]


def forced_exit(binary):
    """A second Ctrl-C while the first one's cleanup waits on a server that
    ignores SIGTERM and end of input: llmdo exits at once (130), and takes
    the server along (SIGKILL to its group), instead of leaving it running."""
    tag = "llmdo-stubborn-server-6d1f"
    with tempfile.TemporaryDirectory(prefix="llmdo-mcp-") as root:
        write_files(root, files(server_args=f"--stubborn, --tag, {tag}"))
        p = subprocess.Popen([binary, "run", ".", 't_slow:{"seconds":60,"text":"x"};say'], cwd=root,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        try:
            log = os.path.join(root, "log")
            if not wait_until(lambda: os.path.exists(log) and "tools/call" in open(log).read()):
                return ["the call never reached the server"]
            p.send_signal(signal.SIGINT)
            if not wait_until(lambda: "stdin closed" in open(log).read()):  # the first Ctrl-C's cleanup began
                return ["the first Ctrl-C did not start closing the server"]
            p.send_signal(signal.SIGINT)
            _, err = p.communicate(timeout=20)
        finally:
            if p.poll() is None:
                p.kill()
        problems = [] if p.returncode == 130 else [f"exit {p.returncode}: {err!r}"]
        if not wait_until(lambda: not running(tag), limit=5):
            problems.append("the server outlived llmdo's forced exit")
            subprocess.run(["pkill", "-9", "-f", tag])
        return problems


def restart(binary, concurrent=False):
    """concurrent: the second call's turn makes two calls at once, which
    both find the server dead; one restart serves both."""
    second_turn = "t_pid:{}&t_pid:{};say" if concurrent else "t_pid:{};say"
    with tempfile.TemporaryDirectory(prefix="llmdo-mcp-") as root:
        write_files(root, twice("run"))
        p = subprocess.run([binary, "run", ".", "t_die:{};say|" + second_turn], cwd=root, capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL, start_new_session=True)
        if p.returncode != 0:
            return [f"exit {p.returncode}: {p.stderr!r}"]
        first, second = p.stdout.strip().split(" / ")
        log = open(os.path.join(root, "log")).read().splitlines()
        pids = second.split(" | ")
        ok = first == "failed" and all(x.isdigit() for x in pids) and len(set(pids)) == 1
        problems = [] if ok and len(pids) == (2 if concurrent else 1) else [f"outcomes: {p.stdout!r}"]
        last_init = max(i for i, l in enumerate(log) if l.startswith("initialize "))
        if concurrent and not log[last_init + 1].startswith("notifications/initialized"):
            problems.append(f"a call reached the new server before its handshake ended: {log}")
        if sum(l.startswith("initialize ") for l in log) != 2:
            problems.append(f"the server was not started afresh: {log}")
        return problems


main(CASES)

"""The run journal (docs/journal.md): record against the mock provider,
replay with no network, resume after SIGKILL without repeating finished
tool calls, secrets kept out, `llmdo logs`, --no-log, retention, a full disk."""
import sys, os, json, glob, hashlib, signal, subprocess, tempfile
sys.path.insert(0, os.path.dirname(__file__))
from harness import (Case, Custom, SECRETS, main, mock_provider, project, worker, write_files, wait_until,
                     run_case)

# Tools with side effects counted in side.txt: mark needs approval, note
# does not; env returns an environment variable (a secret, in one case).
TOOLS_LUA = r"""
local llmdo = require "llmdo"
local M = {}
local function side(ctx, line)
  local f = assert(io.open(ctx.project_root .. "/side.txt", "a"))
  f:write(line, "\n")
  f:close()
  return line
end
M.t = llmdo.toolset { factory = function()
  return { tools = {
    add = { params = { a = "number", b = "number" }, approval = "pre_approved",
            fn = function(a) return a.a + a.b end },
    mark = { params = { n = "integer" }, fn = function(a, ctx) return side(ctx, "mark " .. a.n) end },
    note = { params = { n = "integer" }, approval = "pre_approved",
             fn = function(a, ctx) return side(ctx, "note " .. a.n) end },
    env = { params = { name = "string" }, approval = "pre_approved", fn = function(a) return os.getenv(a.name) end },
  } }
end }
return M
"""

FILES = {
    "project.lua": project(workers=("main.worker", "helper.worker"), lua=("t.lua",)),
    "main.worker": worker(model="anthropic:claude-test", extra="toolsets: [t, helper]"),
    "helper.worker": worker(name="helper", model="anthropic:claude-test", entry=False, body="Help."),
    "t.lua": TOOLS_LUA,
}

def turn(*calls, text=None):
    t = {"usage": {"input": 10, "output": 5}}
    if calls:
        t["tool_calls"] = [{"name": n, "args": a, "id": f"tu_{n}_{i}"} for i, (n, a) in enumerate(calls)]
    if text:
        t["text"] = text
    return t

# A run with two tool rounds and a nested worker call.
SCRIPT = [
    turn(("add", {"a": 2, "b": 3}), ("mark", {"n": 1})),
    turn(("helper", {"input": "sub"})),
    turn(text="sub-done"),                      # the helper's answer
    turn(text="total 5; helper said sub-done"),  # main's final answer
]

DEAD = "http://127.0.0.1:9"  # nothing listens: a request would fail


def env_for(root, base_url):
    env = {k: v for k, v in os.environ.items() if k not in ("LLMDO_MODEL", "LLMDO_NO_LOG")}
    env.update(SECRETS)
    env["ANTHROPIC_BASE_URL"] = base_url
    env["XDG_STATE_HOME"] = os.path.join(root, "state")
    return env


def run(binary, root, args, base_url=DEAD, extra_env=None, **kw):
    env = env_for(root, base_url)
    env.update(extra_env or {})
    return subprocess.run([binary] + args, cwd=root, env=env, capture_output=True, text=True, timeout=60,
                          start_new_session=True, stdin=subprocess.DEVNULL, **kw)


def lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def bodies(path):
    """Each model request's wire body, rebuilt as docs/journal.md says: a
    whole body is the last field of its line; a later one is its base's
    first body_keep bytes and then body_rest."""
    out = {}
    with open(path, "rb") as f:
        for raw in f:
            ev = json.loads(raw)
            if ev["type"] != "model_request":
                continue
            if "body_base" in ev:
                out[ev["seq"]] = out[ev["body_base"]][:ev["body_keep"]] + ev["body_rest"].encode()
            else:
                out[ev["seq"]] = raw[raw.index(b',"body":') + 8:].rstrip(b"\n")[:-1]
    return out


def side(root):
    p = os.path.join(root, "side.txt")
    return open(p).read() if os.path.exists(p) else ""


def record(binary, root, script, journal, prompt="go", extra_env=None):
    mock = mock_provider()
    mock.reset(script)
    return run(binary, root, ["run", "project.lua", prompt, "--approve-all", "--journal", journal],
               base_url=mock.url, extra_env=extra_env)


def in_tmp(fn):
    def wrapped(binary):
        with tempfile.TemporaryDirectory(prefix="llmdo-journal-") as root:
            write_files(root, FILES)
            return fn(binary, root)
    return wrapped


@in_tmp
def replay_same_output(binary, root):
    p = record(binary, root, SCRIPT, "rec.jsonl")
    problems = []
    if p.returncode != 0 or p.stdout != "total 5; helper said sub-done\n":
        return [f"recording: exit {p.returncode}, stdout {p.stdout!r}, stderr {p.stderr!r}"]
    ev = lines(os.path.join(root, "rec.jsonl"))
    kinds = [e["type"] for e in ev]
    if kinds[0] != "run_start" or kinds[-1] != "run_end":
        problems.append(f"journal starts {kinds[0]} and ends {kinds[-1]}")
    if [e["seq"] for e in ev] != list(range(1, len(ev) + 1)):
        problems.append("seq is not 1..n in order")
    reqs = [e for e in ev if e["type"] == "model_request"]
    if [r["worker"] for r in reqs] != ["main", "main", "helper", "main"]:
        problems.append(f"model requests by {[r['worker'] for r in reqs]}")
    if any(r["depth"] != (2 if r["worker"] == "helper" else 1) for r in reqs):
        problems.append("depths of the requests are wrong")
    texts = bodies(os.path.join(root, "rec.jsonl"))
    for r in reqs:
        text = texts[r["seq"]]
        if hashlib.sha256(text).hexdigest() != r["hash"] or len(text) != r["bytes"]:
            problems.append(f"request {r['seq']}: the rebuilt body does not hash to its hash")
        elif "messages" not in json.loads(text):
            problems.append(f"request {r['seq']}: the body has no messages")
    # a call's later requests are written as what they add to the one before
    if [("body_base" in r) for r in reqs] != [False, True, False, True]:
        problems.append(f"which requests extend the one before: {[r.get('body_base') for r in reqs]}")
    calls = [(e["tool"], e["args"]) for e in ev if e["type"] == "tool_call"]
    if calls != [("add", {"a": 2, "b": 3}), ("mark", {"n": 1}), ("helper", {"input": "sub"})]:
        problems.append(f"tool calls {calls}")
    appr = [(e["tool"], e["decision"], e["by"]) for e in ev if e["type"] == "approval"]
    if ("mark", "approved", "approve_all") not in appr or ("add", "approved", "config") not in appr:
        problems.append(f"approvals {appr}")
    end = ev[-1]
    if end.get("exit") != 0 or end.get("status") != "ok" or end["usage"]["input_tokens"] != 40:
        problems.append(f"run_end {end}")
    # the mock is gone (a dead address): the replay sends nothing, prints the same
    q = run(binary, root, ["run", "project.lua", "go", "--approve-all", "--replay", "rec.jsonl",
                           "--journal", "again.jsonl"])
    if q.returncode != 0 or q.stdout != p.stdout:
        problems.append(f"replay: exit {q.returncode}, stdout {q.stdout!r}, stderr {q.stderr!r}")
    if side(root) != "mark 1\nmark 1\n":
        problems.append(f"replay should run the tools again: side.txt {side(root)!r}")
    again = lines(os.path.join(root, "again.jsonl"))
    if [e.get("from_journal") for e in again if e["type"] == "model_request"] != ["replay"] * 4:
        problems.append("the replay's journal does not say its answers came from the journal")
    if again[0].get("replay") != "rec.jsonl":
        problems.append(f"the replay's run_start {again[0]}")
    return problems


@in_tmp
def replay_streamed_recording(binary, root):
    """A run recorded streaming (-v) keeps its raw SSE events; a replay
    without -v decodes them, as the recorded run asked."""
    mock = mock_provider()
    mock.reset(SCRIPT)
    p = run(binary, root, ["run", "project.lua", "go", "--approve-all", "-v", "--journal", "s.jsonl"],
            base_url=mock.url)
    if p.returncode != 0:
        return [f"recording: {p.stderr}"]
    resp = [e for e in lines(os.path.join(root, "s.jsonl")) if e["type"] == "model_response"]
    if not all(e.get("events") and e["events"][0]["event"] == "message_start" for e in resp):
        return ["a streamed response was not kept as its SSE events"]
    q = run(binary, root, ["run", "project.lua", "go", "--approve-all", "--replay", "s.jsonl"])
    if q.returncode != 0 or q.stdout != p.stdout:
        return [f"replay: exit {q.returncode}, stdout {q.stdout!r}, stderr {q.stderr!r}"]
    return []


@in_tmp
def many_rounds_replay_and_resume(binary, root):
    """Six tool rounds: every recorded answer is found again (by hash, in
    order), by --replay and by --resume of a finished run."""
    script = [turn(("note", {"n": i})) for i in range(6)] + [turn(text="six notes")]
    p = record(binary, root, script, "rec.jsonl")
    if p.returncode != 0:
        return [f"recording: {p.stderr}"]
    q = run(binary, root, ["run", "project.lua", "go", "--approve-all", "--replay", "rec.jsonl"])
    problems = []
    if q.returncode != 0 or q.stdout != "six notes\n":
        problems.append(f"replay: exit {q.returncode}, stdout {q.stdout!r}, stderr {q.stderr!r}")
    before = side(root)
    r = run(binary, root, ["run", "project.lua", "--approve-all", "--resume", "rec.jsonl", "--journal", "res.jsonl"])
    if r.returncode != 0 or r.stdout != "six notes\n" or side(root) != before:
        problems.append(f"resume of a finished run ran something: exit {r.returncode}, {r.stderr!r}, "
                        f"side.txt grew by {side(root)[len(before):]!r}")
    return problems


@in_tmp
def streamed_secret_redacted(binary, root):
    """A streamed answer arrives in small events, which would cut a secret
    the model repeats into pieces no line redaction finds: the journal keeps
    the whole (redacted) answer instead of those events."""
    secret = "SHORTSECRETVALUE1234"
    mock = mock_provider()
    mock.reset([turn(text=f"the key is {secret}, keep it")])
    p = run(binary, root, ["run", "project.lua", "go", "--approve-all", "-v", "--journal", "s.jsonl"],
            base_url=mock.url, extra_env={"MY_API_KEY": secret})
    if p.returncode != 0:
        return [f"exit {p.returncode}: {p.stderr}"]
    text = open(os.path.join(root, "s.jsonl")).read()
    pieces = [secret[i:i + 5] for i in range(len(secret) - 4)]
    problems = [f"a piece of the secret, {x!r}, is in the journal" for x in pieces if x in text][:1]
    if "[redacted:MY_API_KEY]" not in text:
        problems.append("the answer is not kept, redacted")
    q = run(binary, root, ["run", "project.lua", "go", "--approve-all", "--replay", "s.jsonl"],
            extra_env={"MY_API_KEY": secret})
    if q.returncode != 0 or q.stdout != "the key is [redacted:MY_API_KEY], keep it\n":
        problems.append(f"replay: exit {q.returncode}, stdout {q.stdout!r}, stderr {q.stderr!r}")
    return problems


@in_tmp
def replay_needs_no_key(binary, root):
    p = record(binary, root, SCRIPT, "rec.jsonl")
    if p.returncode != 0:
        return [p.stderr]
    env_cut = {k: "" for k in SECRETS}
    q = run(binary, root, ["run", "project.lua", "go", "--approve-all", "--replay", "rec.jsonl"], extra_env=env_cut)
    if q.returncode != 0 or q.stdout != p.stdout:
        return [f"replay without a key: exit {q.returncode}, {q.stderr!r}"]
    return []


@in_tmp
def replay_mismatch_names_field(binary, root):
    p = record(binary, root, SCRIPT, "rec.jsonl")
    if p.returncode != 0:
        return [f"recording failed: {p.stderr}"]
    q = run(binary, root, ["run", "project.lua", "go on", "--approve-all", "--replay", "rec.jsonl"])
    want = ("Error: Replay: no recorded response in rec.jsonl for a request of worker 'main'; it differs from "
            "recorded request 2 (worker 'main') at messages[0].content[0].text: recorded \"go\", now \"go on\"\n")
    if q.returncode != 1 or q.stderr != want:
        return [f"exit {q.returncode}, stderr {q.stderr!r}, want {want!r}"]
    return []


@in_tmp
def replay_mismatch_in_later_request(binary, root):
    """The first difference is in a tool result, so in a request written as
    what it adds to the one before: the error still names the field."""
    p = record(binary, root, SCRIPT, "rec.jsonl")
    if p.returncode != 0:
        return [f"recording failed: {p.stderr}"]
    write_files(root, {"t.lua": TOOLS_LUA.replace("a.a + a.b", "a.a + a.b + 1")})
    q = run(binary, root, ["run", "project.lua", "go", "--approve-all", "--replay", "rec.jsonl"])
    want = "(worker 'main') at messages[2].content[0].content: recorded \"5\", now \"6\""
    if q.returncode != 1 or want not in q.stderr:
        return [f"exit {q.returncode}, stderr {q.stderr!r}, want it to say {want!r}"]
    return []


@in_tmp
def replay_bad_file(binary, root):
    problems = []
    with open(os.path.join(root, "junk.jsonl"), "w") as f:
        f.write("hello\n")
    q = run(binary, root, ["run", "project.lua", "go", "--approve-all", "--replay", "junk.jsonl"])
    if q.returncode != 2 or q.stderr != "Error: --replay: junk.jsonl is not an llmdo journal (line 1 is not JSON)\n":
        problems.append(f"junk: exit {q.returncode}, stderr {q.stderr!r}")
    q = run(binary, root, ["run", "project.lua", "go", "--approve-all", "--resume", "absent.jsonl"])
    if q.returncode != 2 or "--resume: cannot read absent.jsonl" not in q.stderr:
        problems.append(f"absent: exit {q.returncode}, stderr {q.stderr!r}")
    return problems


@in_tmp
def kill9_then_resume(binary, root):
    """mark 1 runs, then the run waits for the model (a slow answer) and is
    killed with SIGKILL; the resumed run takes the first answer and mark's
    result from the journal and runs only what never finished."""
    mock = mock_provider()
    slow = dict(turn(("note", {"n": 2})), delay_ms=30000)
    mock.reset([turn(("mark", {"n": 1})), slow, turn(text="finished")])
    env = env_for(root, mock.url)
    proc = subprocess.Popen([binary, "run", "project.lua", "go", "--approve-all", "--journal", "rec.jsonl"],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, stdin=subprocess.DEVNULL)
    try:
        if not wait_until(lambda: side(root) == "mark 1\n" and len(mock.requests) >= 2):
            return [f"the run never reached its second model request: side.txt {side(root)!r}"]
    finally:
        proc.kill()
        proc.communicate()
    problems = []
    rec = lines(os.path.join(root, "rec.jsonl"))
    if rec[-1]["type"] != "model_request" or any(e["type"] == "run_end" for e in rec):
        problems.append(f"the killed run's journal ends with {rec[-1]['type']}")
    # resumed with --reject-all: mark needs approval, so it must come from the journal
    mock.reset([turn(("note", {"n": 2})), turn(text="finished")])
    q = run(binary, root, ["run", "project.lua", "--reject-all", "--resume", "rec.jsonl", "--journal", "res.jsonl"],
            base_url=mock.url)
    if q.returncode != 0 or q.stdout != "finished\n":
        problems.append(f"resume: exit {q.returncode}, stdout {q.stdout!r}, stderr {q.stderr!r}")
    if side(root) != "mark 1\nnote 2\n":
        problems.append(f"every tool should run once overall: side.txt {side(root)!r}")
    if len(mock.requests) != 2:
        problems.append(f"the resumed run sent {len(mock.requests)} requests, want 2 (the first came from the journal)")
    res = lines(os.path.join(root, "res.jsonl"))
    took = [(e["type"], e.get("tool")) for e in res if e.get("from_journal") == "resume"]
    if ("tool_call", "mark") not in took or ("model_request", None) not in took:
        problems.append(f"the resumed journal marks {took}")
    if any(e["type"] == "approval" and e["tool"] == "mark" for e in res):
        problems.append("mark was put to the approval gate again")
    if res[0].get("resumed_from") != "rec.jsonl" or res[0].get("input") != "go":
        problems.append(f"run_start of the resumed run {res[0]}")
    return problems


@in_tmp
def no_secret_in_journal(binary, root):
    # the key reaches the mock in a header; a tool hands the model a secret
    script = [turn(("env", {"name": "MY_SERVICE_TOKEN"})), turn(text="done")]
    p = record(binary, root, script, "rec.jsonl", extra_env={"MY_SERVICE_TOKEN": "tok-VERY-secret-42"})
    if p.returncode != 0:
        return [f"exit {p.returncode}: {p.stderr}"]
    text = open(os.path.join(root, "rec.jsonl")).read()
    problems = []
    for s in list(SECRETS.values()) + ["tok-VERY-secret-42"]:
        if s in text:
            problems.append(f"{s} is in the journal")
    if "[redacted:MY_SERVICE_TOKEN]" not in text:
        problems.append("the tool's secret result is not marked as redacted")
    if "x-api-key" in text.lower() or "authorization" in text.lower():
        problems.append("a request header is in the journal")
    return problems


@in_tmp
def default_log_and_logs_command(binary, root):
    problems = []
    mock = mock_provider()
    for prompt in ("first", "second"):
        mock.reset(SCRIPT)
        p = run(binary, root, ["run", "project.lua", prompt, "--approve-all"], base_url=mock.url)
        if p.returncode != 0:
            return [f"run: {p.stderr}"]
    mock.reset([{"status": 400, "body": {"type": "error", "error": {"type": "invalid_request_error",
                                                                    "message": "bad"}}}])
    run(binary, root, ["run", "project.lua", "third", "--approve-all"], base_url=mock.url)
    runs = sorted(glob.glob(os.path.join(root, "state", "llmdo", "runs", "*.jsonl")))
    if len(runs) != 3:
        return [f"{len(runs)} journals in the default directory, want 3"]
    if oct(os.stat(runs[0]).st_mode & 0o777) != "0o600":
        problems.append(f"journal mode {oct(os.stat(runs[0]).st_mode)}")
    q = run(binary, root, ["logs"])
    rows = q.stdout.splitlines()
    if q.returncode != 0 or len(rows) != 4 or not rows[0].startswith("ID"):
        return [f"logs: exit {q.returncode}, stdout {q.stdout!r} {q.stderr!r}"]
    ids = [os.path.basename(r)[:-6] for r in runs]
    if [r.split()[0] for r in rows[1:]] != ids[::-1]:
        problems.append(f"logs lists {rows[1:]} (newest first wanted: {ids[::-1]})")
    if "failed" not in rows[1] or " ok " not in rows[2] or "anthropic:claude-test" not in rows[2]:
        problems.append(f"logs rows {rows}")
    if "40/20" not in rows[2]:
        problems.append(f"tokens not listed: {rows[2]}")
    j = json.loads(run(binary, root, ["logs", "--json", "--status", "ok", "-n", "1"]).stdout)
    if len(j) != 1 or j[0]["id"] != ids[1] or j[0]["requests"] != 4 or j[0]["status"] != "ok":
        problems.append(f"logs --json --status ok -n 1: {j}")
    s = run(binary, root, ["logs", "show", ids[0]])
    for want in ("input: \"first\"" if False else "input: first", "[main] -> anthropic:claude-test",
                 "[helper] -> anthropic:claude-test", "[main] tool mark {\"n\":1}", "approved (approve_all)",
                 "= mark 1", "sub-done", "end: ok (exit 0)"):
        if want not in s.stdout:
            problems.append(f"logs show lacks {want!r}: {s.stdout}")
    if "  [helper] -> " not in s.stdout:
        problems.append("the nested worker's request is not indented")
    raw = run(binary, root, ["logs", "show", ids[2], "--json"]).stdout
    if raw != open(runs[2]).read():
        problems.append("logs show --json is not the journal as written")
    bad = run(binary, root, ["logs", "show", "nope"])
    if bad.returncode != 2 or "logs show: no run 'nope'" not in bad.stderr:
        problems.append(f"logs show nope: {bad.returncode} {bad.stderr!r}")
    return problems


@in_tmp
def no_log_writes_nothing(binary, root):
    mock = mock_provider()
    mock.reset(SCRIPT)
    p = run(binary, root, ["run", "project.lua", "go", "--approve-all", "--no-log"], base_url=mock.url)
    mock.reset(SCRIPT)
    q = run(binary, root, ["run", "project.lua", "go", "--approve-all"], base_url=mock.url,
            extra_env={"LLMDO_NO_LOG": "1"})
    if p.returncode != 0 or q.returncode != 0:
        return [f"exit {p.returncode} / {q.returncode}: {p.stderr} {q.stderr}"]
    if os.path.exists(os.path.join(root, "state")):
        return [f"--no-log / LLMDO_NO_LOG left {os.listdir(os.path.join(root, 'state'))}"]
    return []


@in_tmp
def retention_keeps_newest(binary, root):
    runs_dir = os.path.join(root, "state", "llmdo", "runs")
    for i in range(5):  # finished runs: their journals may go however recent
        mock = mock_provider()
        mock.reset([turn(text=f"r{i}")])
        run(binary, root, ["run", "project.lua", f"p{i}", "--approve-all"], base_url=mock.url,
            extra_env={"LLMDO_LOG_KEEP": "3"})
    runs = sorted(glob.glob(os.path.join(runs_dir, "*.jsonl")))
    inputs = [lines(r)[0]["input"] for r in runs]
    if inputs != ["p2", "p3", "p4"]:
        return [f"kept the runs of {inputs}, want the newest 3"]
    # the oldest name, no run_end, written to a moment ago: maybe a run still going
    busy = os.path.join(runs_dir, "20000101-000000-0000.jsonl")
    with open(busy, "w") as f:
        f.write(open(runs[0]).readline())
    mock = mock_provider()
    mock.reset([turn(text="r5")])
    run(binary, root, ["run", "project.lua", "p5", "--approve-all"], base_url=mock.url,
        extra_env={"LLMDO_LOG_KEEP": "3"})
    if not os.path.exists(busy):
        return ["retention deleted a journal written to a moment ago"]
    bad = run(binary, root, ["run", "project.lua", "x", "--approve-all"], extra_env={"LLMDO_LOG_KEEP": "lots"})
    if bad.returncode != 2 or bad.stderr != "Error: LLMDO_LOG_KEEP: expected a positive integer, got 'lots'\n":
        return [f"bad LLMDO_LOG_KEEP: {bad.returncode} {bad.stderr!r}"]
    if any(lines(r)[0]["input"] == "x" for r in glob.glob(os.path.join(runs_dir, "*.jsonl"))):
        return ["a run refused for its LLMDO_LOG_KEEP left a journal"]
    return []


@in_tmp
def retention_bounded_per_run(binary, root):
    """120 finished journals over a bound of 3: one run deletes the 50
    oldest, not all 117 at once (no start waits on a mass deletion)."""
    runs_dir = os.path.join(root, "state", "llmdo", "runs")
    os.makedirs(runs_dir)
    names = [f"20250101-0000{i // 60:02d}-{i % 60:03d}0" for i in range(120)]  # oldest first
    for n in names:
        with open(os.path.join(runs_dir, n + ".jsonl"), "w") as f:
            f.write('{"type":"run_start","seq":1,"t":0,"v":1}\n{"type":"run_end","seq":2,"t":1,"exit":0}\n')
    mock = mock_provider()
    mock.reset([turn(text="r")])
    p = run(binary, root, ["run", "project.lua", "go", "--approve-all"], base_url=mock.url,
            extra_env={"LLMDO_LOG_KEEP": "3"})
    left = sorted(n[:-6] for n in os.listdir(runs_dir))
    if p.returncode != 0 or len(left) != 71 or left[:70] != names[50:]:
        return [f"exit {p.returncode}; {len(left)} journals left, want the newest 70 and the run's own"]
    return []


@in_tmp
def full_disk_keeps_the_run(binary, root):
    mock = mock_provider()
    mock.reset(SCRIPT)
    p = run(binary, root, ["run", "project.lua", "go", "--approve-all", "--journal", "/dev/full"], base_url=mock.url)
    want = "warning: journal /dev/full: cannot write (No space left on device); the rest of this run is not journaled\n"
    if p.returncode != 0 or p.stdout != "total 5; helper said sub-done\n" or p.stderr != want:
        return [f"exit {p.returncode}, stdout {p.stdout!r}, stderr {p.stderr!r}"]
    return []


@in_tmp
def cut_journal_still_reads(binary, root):
    p = record(binary, root, SCRIPT, "rec.jsonl")
    if p.returncode != 0:
        return [p.stderr]
    path = os.path.join(root, "rec.jsonl")
    data = open(path).read()
    with open(path, "w") as f:  # cut in the middle of the run_end line
        f.write(data[:data.rindex('{"type":"run_end"') + 20])
    q = run(binary, root, ["run", "project.lua", "go", "--approve-all", "--replay", "rec.jsonl"])
    s = run(binary, root, ["logs", "show", path])
    problems = []
    if q.returncode != 0 or q.stdout != "total 5; helper said sub-done\n":
        problems.append(f"replay of a cut journal: {q.returncode} {q.stdout!r} {q.stderr!r}")
    if s.returncode != 0 or "end: none recorded" not in s.stdout or "sub-done" not in s.stdout:
        problems.append(f"logs show of a cut journal: {s.returncode} {s.stdout!r} {s.stderr!r}")
    return problems


# Two branches of rt:map, each a worker call with a scripted model: a's
# tool waits for a file; b notes and answers. Killed while a waits.
BRANCHES = {
    "project.lua": 'return { workers = { "w.worker" }, lua = { "e.lua" }, runtime = { approval_mode = "approve_all" } }\n',
    "w.worker": "---\nname: w\nmodel: lua:m\ntoolsets: [t]\n---\nWork.\n",
    "e.lua": r"""
local llmdo = require "llmdo"
local M = {}
local function side(root, line)
  local f = assert(io.open(root .. "/side.txt", "a"))
  f:write(line, "\n")
  f:close()
end
M.t = llmdo.toolset { factory = function()
  return { tools = {
    note = { params = { n = "string" }, approval = "pre_approved", fn = function(a, ctx)
      side(ctx.project_root, "note " .. a.n)
      return "noted " .. a.n
    end },
    wait = { params = { n = "string" }, approval = "pre_approved", fn = function(a, ctx)
      side(ctx.project_root, "wait " .. a.n)
      while not io.open(ctx.project_root .. "/go") do llmdo.sleep(20) end
      return "waited " .. a.n
    end },
  } }
end }
M.m = llmdo.model(function(req)
  local who = req.messages[1].parts[1].text
  local last = req.messages[#req.messages]
  if last.role == "user" then return { tool_calls = { { name = who == "a" and "wait" or "note", args = { n = who } } } } end
  return { text = last.parts[1].content }
end)
M.main = llmdo.entry { main = function(_, rt)
  local out = rt:map({ "a", "b" }, function(x) return (rt:call_agent("w", x)) end)
  return table.concat(out, ", ")
end }
return M
""",
}


@in_tmp
def resume_keeps_other_branches(binary, root):
    """A difference in one worker call (a's tool never finished) makes that
    call live, not the whole run: branch b's answers and tool result still
    come from the journal."""
    write_files(root, BRANCHES)
    env = env_for(root, DEAD)
    proc = subprocess.Popen([binary, "run", "project.lua", "go", "--journal", "rec.jsonl"], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            stdin=subprocess.DEVNULL)
    try:
        def b_done():
            ev = lines(os.path.join(root, "rec.jsonl")) if os.path.exists(os.path.join(root, "rec.jsonl")) else []
            return "wait a" in side(root) and sum(e["type"] == "model_response" and e.get("text") == "noted b"
                                                  for e in ev) == 1
        if not wait_until(b_done):
            return [f"the run never got to its kill point: side.txt {side(root)!r}"]
    finally:
        proc.kill()
        proc.communicate()
    with open(os.path.join(root, "go"), "w"):
        pass
    q = run(binary, root, ["run", "project.lua", "go", "--resume", "rec.jsonl"])
    if q.returncode != 0 or q.stdout != "waited a, noted b\n":
        return [f"resume: exit {q.returncode}, stdout {q.stdout!r}, stderr {q.stderr!r}"]
    if side(root).count("note b") != 1:
        return [f"branch b ran again: side.txt {side(root)!r}"]
    return []


LUA_API = r"""
local llmdo = require "llmdo"
local p = llmdo.load_project(arg[1])
local r, info = p:run("go", { approval_mode = "approve_all", replay = arg[2], journal = arg[3] })
print(r, info.journal)
local ok, err = pcall(p.run, p, "go", { replay = "x", resume = "y" })
print(ok, tostring(err))
"""


@in_tmp
def lua_api_replay(binary, root):
    p = record(binary, root, SCRIPT, "rec.jsonl")
    if p.returncode != 0:
        return [p.stderr]
    write_files(root, {"api.lua": LUA_API})
    q = run(binary, root, ["lua", "api.lua", "project.lua", "rec.jsonl", "lua.jsonl"])
    want = ("total 5; helper said sub-done\tlua.jsonl\n"
            "false\tproject:run: replay and resume cannot be combined\n")
    if q.returncode != 0 or q.stdout != want:
        return [f"exit {q.returncode}, stdout {q.stdout!r}, stderr {q.stderr!r}"]
    if lines(os.path.join(root, "lua.jsonl"))[-1]["status"] != "ok":
        return ["the Lua run's journal has no ok run_end"]
    return []


CASES = [
    Custom("replay gives the same output with no network", replay_same_output),
    Custom("a streamed recording replays without -v", replay_streamed_recording),
    Custom("six tool rounds replay and resume from their journal", many_rounds_replay_and_resume),
    Custom("a secret streamed in pieces stays out of the journal", streamed_secret_redacted),
    Custom("--replay needs no API key", replay_needs_no_key),
    Custom("resume: a difference in one branch leaves the others recorded", resume_keeps_other_branches),
    Custom("replay of a changed prompt names the differing field", replay_mismatch_names_field),
    Custom("replay names a difference inside a later (delta) request", replay_mismatch_in_later_request),
    Custom("replay of a file that is not a journal", replay_bad_file),
    Custom("kill -9 between tool calls, then resume: each tool ran once", kill9_then_resume),
    Custom("no secret reaches a journal", no_secret_in_journal),
    Custom("runs are journaled by default; llmdo logs lists and shows them", default_log_and_logs_command),
    Custom("--no-log and LLMDO_NO_LOG write nothing", no_log_writes_nothing),
    Custom("retention keeps the newest LLMDO_LOG_KEEP journals", retention_keeps_newest),
    Custom("retention deletes at most 50 journals per run, the oldest first", retention_bounded_per_run),
    Custom("a full disk stops the journal, not the run", full_disk_keeps_the_run),
    Custom("a journal cut mid-line reads up to its last whole line", cut_journal_still_reads),
    Custom("project:run takes replay= and journal=", lua_api_replay),
    Case("flags: --replay with --resume", {}, ["run", "p", "--replay", "a", "--resume", "b"], exit=2,
         stderr="Error: --replay and --resume cannot be combined\n"),
    Case("flags: --journal needs a file", {}, ["run", "p", "--journal"], exit=2,
         stderr="Error: option '--journal' needs a journal file\n"),
    Case("flags: --no-log is run's", {}, ["check", "p", "--no-log"], exit=2,
         stderr="Error: option '--no-log' does not apply to 'check' (it is an option of run)\n"),
    Case("logs: unknown action", {}, ["logs", "shw", "x"], exit=2,
         stderr="Error: logs: unknown action 'shw'; did you mean 'show'? (expected 'show ID', or nothing to list runs)\n"),
]

if __name__ == "__main__":
    main(CASES)

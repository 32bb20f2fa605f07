"""llmdo.http: tool authors' HTTP on the loop that carries model I/O, against
a loopback server. Waits are proved by ordering, never by the clock: the
slow answers wait for a file the other task writes (a gate), or for the
test itself."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, Custom, main, project, worker, write_files

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = open(os.path.join(HERE, "lua", "script_model.lua")).read()
GATE_GIVES_UP = 10  # seconds a gated answer waits for its file before answering anyway

hang_seen = threading.Event()  # a request reached /hang
release = threading.Event()    # /hang may answer now
seen_headers = []              # the header names of each request to /echo
status_hits = [0]              # requests to /status


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="text/plain", extra=()):
        body = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout, Ctrl-C): as it should

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        if url.path == "/echo":
            seen_headers.append(sorted(k.lower() for k in self.headers.keys()))
            out = {"method": self.command, "path": self.path, "body": body,
                   "headers": {k.lower(): v for k, v in self.headers.items()}}
            self.send(200, json.dumps(out), "application/json", [("X-Multi", "a"), ("X-Multi", "b")])
        elif url.path == "/status":
            status_hits[0] += 1
            self.send(int(q["code"]), "nope")
        elif url.path == "/gate":
            for _ in range(GATE_GIVES_UP * 100):
                if os.path.exists(q["file"]):
                    return self.send(200, "gate-open")
                time.sleep(0.01)
            self.send(200, "gate-gave-up")
        elif url.path == "/hang":
            hang_seen.set()
            release.wait(30)
            self.send(200, "late")
        elif url.path == "/big":
            self.send(200, "x" * int(q["n"]))
        elif url.path in ("/redirect", "/loop", "/tofile", "/cross"):
            to = {"/redirect": "/echo?from=redirect", "/loop": "/loop", "/tofile": "file:///etc/passwd",
                  "/cross": f"http://localhost:{self.server.server_address[1]}/echo"}[url.path]
            self.send(302, "", extra=[("Location", to)])
        elif url.path == "/text":
            self.send(200, "hello, not json")
        else:
            self.send(404, "no such path")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
BASE = f"http://127.0.0.1:{server.server_address[1]}"
ENV = {"HTTP_TEST_URL": BASE}

# An entry per scenario: `llmdo run . NAME`; its result is printed.
ENTRY = r"""
local llmdo = require "llmdo"
local base = os.getenv("HTTP_TEST_URL")
local function try(f, ...)
  local ok, err = pcall(f, ...)
  return ok and "no error" or tostring(err)
end
local S = {}
function S.roundtrip()
  local g = llmdo.http.get(base .. "/echo?q=1", { headers = { ["X-A"] = "b", ["x-empty"] = "" } })
  local gj = g:json()
  local p = llmdo.http.request { url = base .. "/echo", json = { items = { 1, "caf\u{e9}" } }, headers = { ["x-b"] = "c" } }
  local pj = p:json()
  local u = llmdo.http.request { method = "put", url = base .. "/echo", body = "raw bytes",
                                 headers = { ["content-type"] = "text/plain" } }:json()
  local d = llmdo.http.request { method = "DELETE", url = base .. "/echo" }:json()
  local h = llmdo.http.request { method = "HEAD", url = base .. "/echo" }
  return llmdo.json.encode({
    get = { status = g.status, method = gj.method, path = gj.path, xa = gj.headers["x-a"], empty = gj.headers["x-empty"],
            multi = g.headers["x-multi"], ctype = g.headers["content-type"] },
    post = { status = p.status, method = pj.method, ctype = pj.headers["content-type"], body = pj.body,
             xb = pj.headers["x-b"] },
    put = { method = u.method, body = u.body, ctype = u.headers["content-type"] },
    delete = { method = d.method, body = d.body },
    head = { status = h.status, body = h.body },
  }, "s")
end
function S.status()
  local r = llmdo.http.get(base .. "/status?code=404")
  local s = llmdo.http.get(base .. "/status?code=503")
  return r.status .. " " .. r.body .. ", " .. s.status .. " " .. s.body
end
function S.timeout() return llmdo.http.get(base .. "/hang", { timeout = 0.3 }).body end
function S.refused() return llmdo.http.request { url = "http://127.0.0.1:1/x" }.body end
function S.big()
  return table.concat({
    #llmdo.http.get(base .. "/big?n=1000", { max_bytes = 1000 }).body,
    try(llmdo.http.get, base .. "/big?n=1001", { max_bytes = 1e3 }),
    try(llmdo.http.get, base .. "/big?n=1001", { max_bytes = 1000 }),
    try(llmdo.http.get, base .. "/big?n=" .. (10 * 1024 * 1024 + 1)),
  }, "\n")
end
function S.redirect()
  local r = llmdo.http.get(base .. "/redirect")
  return table.concat({ r.status .. " " .. r:json().path, try(llmdo.http.get, base .. "/loop"),
    try(llmdo.http.get, base .. "/tofile") }, "\n")
end
function S.notjson()
  local r = llmdo.http.get(base .. "/text")
  return r.body .. "\n" .. try(r.json, r)
end
function S.invalid()
  return table.concat({
    try(llmdo.http.request, { url = base, tiemout = 1 }),
    try(llmdo.http.request, { url = base, headers = { x = 1 } }),
    try(llmdo.http.request, { url = base, headers = { "x: y" } }),
    try(llmdo.http.request, { url = base, headers = { ["x"] = "a\r\nb: c" } }),
    try(llmdo.http.request, { url = base, headers = { ["a b"] = "c" } }),
    try(llmdo.http.request, { url = base, timeout = 0 }),
    try(llmdo.http.request, { url = base, timeout = "5" }),
    try(llmdo.http.request, { url = base, max_bytes = 1.5 }),
    try(llmdo.http.request, { url = base, body = "a", json = {} }),
    try(llmdo.http.request, { url = base, json = { f = print } }),
    try(llmdo.http.request, { url = base, method = "GET /x" }),
    try(llmdo.http.request, { url = "file:///etc/passwd" }),
    try(llmdo.http.request, { }),
    try(llmdo.http.request, "http://x"),
    try(llmdo.http.get, base, { method = "POST" }),
    try(llmdo.http.get, 42),
  }, "\n")
end
function S.hang()
  io.stderr:write("fetching\n")
  return llmdo.http.get(base .. "/hang", { timeout = 60 }).body
end
function S.secrets()
  local function names(path)
    local r = llmdo.http.get(base .. path, { headers = { authorization = "Bearer tool-secret-123", cookie = "c=1" } })
    local out = {}
    for k in pairs(r:json().headers) do out[#out + 1] = k end
    table.sort(out)
    return table.concat(out, ",")
  end
  -- a redirect to another host drops them
  return names("/echo") .. "\n" .. names("/cross")
end
-- One model slot (runtime.max_concurrent_requests = 1): a tool request
-- waiting for the model's answer must not hold it.
function S.queues(rt)
  local order = {}
  rt:parallel(function()
    local r = llmdo.http.get(base .. "/gate?file=" .. rt.project_root .. "/answered")
    order[#order + 1] = "fetched " .. r.body
  end, function()
    local answer = rt:call_agent("helper", "hi")
    order[#order + 1] = "answered " .. answer
    rt:write_file("answered", "yes")
  end)
  return table.concat(order, ", ")
end
-- One tool slot: a request waiting for it still ends at its timeout (the
-- first never ends; the failure stops the run).
function S.queued_timeout(rt)
  rt:parallel(function() return llmdo.http.get(base .. "/hang", { timeout = 60 }) end,
    function() return llmdo.http.get(base .. "/echo", { timeout = 0.3 }) end)
end
return { main = llmdo.entry { main = function(input, rt) return S[input[1]](rt) end } }
"""

# Tools for a scripted model: the tool calls of one turn run concurrently.
TOOLS = r"""
local llmdo = require "llmdo"
local base = os.getenv("HTTP_TEST_URL")
local order = {}
return { web = llmdo.toolset { tools = {
  fetch = { params = { path = "string" }, approval = "pre_approved", fn = function(a, ctx)
    local path = a.path:gsub("ROOT", ctx.project_root)
    local r = llmdo.http.get(base .. path)
    order[#order + 1] = "fetched " .. r.status .. " " .. r.body
    return table.concat(order, ",")
  end },
  tick = { approval = "pre_approved", fn = function(_, ctx)
    for i = 1, 10 do
      llmdo.sleep(50)
      order[#order + 1] = "tick" .. i
    end
    local f = assert(io.open(ctx.project_root .. "/ticked", "w"))
    f:close()
    return "ticked"
  end },
} } }
"""


def entry_files(rest="", model=False):
    """The scenarios' project; with model, a worker 'helper' on the mock provider too."""
    files = {"project.lua": project(workers=("helper.worker",) if model else (), lua=("e.lua",), rest=rest),
             "e.lua": ENTRY}
    if model:
        files["helper.worker"] = worker(name="helper", model="anthropic:claude-test", entry=False)
    return files


def entry(name, scenario, **kw):
    kw.setdefault("env", ENV)
    return Case(name, entry_files(kw.pop("rest", ""), kw.get("mock") is not None), ["run", ".", scenario], **kw)


def tool_files(prompt):
    return {"project.lua": project(lua=("script_model.lua", "t.lua"),
                                   rest="entry = { input = '%s' }, runtime = { approval_mode = 'approve_all' }" % prompt),
            "main.worker": worker(model="lua:script", extra="toolsets: [web]"),
            "script_model.lua": SCRIPT, "t.lua": TOOLS}


TICKS = ",".join(f"tick{i}" for i in range(1, 11))


def ctrl_c(binary):
    """Ctrl-C while a request waits: exit 130 before the server answers
    (the server answers only when this test says so, after the exit)."""
    hang_seen.clear()
    release.clear()
    with tempfile.TemporaryDirectory(prefix="llmdo-http-") as root:
        write_files(root, entry_files())
        p = subprocess.Popen([binary, "run", ".", "hang"], cwd=root, env=dict(os.environ, **ENV),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        problems = []
        try:
            if not hang_seen.wait(20):
                p.kill()
                return ["the request never reached the server"]
            p.send_signal(signal.SIGINT)
            try:
                out, err = p.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                return ["did not stop on SIGINT"]
        finally:
            release.set()  # only now may the server answer: llmdo has exited
        if p.returncode != 130:
            problems.append(f"exit {p.returncode}, want 130: {err!r}")
        if out:
            problems.append(f"stdout {out!r}, want nothing")
        return problems


def echo_headers_check(want):
    """The header names the server saw in the last request to /echo."""
    def check(root):
        got = seen_headers[-1] if seen_headers else None
        return [] if got == want else [f"the server saw headers {got}, want {want}"]
    return check


CASES = [
    Case("a tool's fetch waits while another tool's timer keeps firing (the loop is not blocked)",
         tool_files('fetch:{"path":"/gate?file=ROOT/ticked"}&tick:{};say'), ["run", "."], env=ENV, timeout=30,
         stdout=f"{TICKS},fetched 200 gate-open | ticked\n"),
    entry("GET and POST json with headers round trip; PUT, DELETE, HEAD", "roundtrip", stdout=json.dumps({
        "delete": {"body": "", "method": "DELETE"},
        "get": {"ctype": "application/json", "empty": "", "method": "GET", "multi": "a, b",
                "path": "/echo?q=1", "xa": "b", "status": 200},
        "head": {"body": "", "status": 200},
        "post": {"body": '{"items":[1,"caf\u00e9"]}', "ctype": "application/json", "method": "POST", "status": 200,
                 "xb": "c"},
        "put": {"body": "raw bytes", "ctype": "text/plain", "method": "PUT"},
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"),
    entry("a non-2xx status is returned, not raised (and not retried)", "status", stdout="404 nope, 503 nope\n",
          prepare=lambda root: status_hits.__setitem__(0, 0),
          after=lambda root: [] if status_hits[0] == 2 else [f"{status_hits[0]} requests to /status, want 2"]),
    entry("a server that never answers: a timeout error naming the URL", "timeout", exit=1,
          stderr=f"Error: llmdo.http.get GET {BASE}/hang failed: timed out after 0.3 s (timeout)\n"),
    entry("a request waiting for a slot still times out", "queued_timeout", exit=1,
          rest="runtime = { approval_mode = 'approve_all', max_concurrent_requests = 1 }",
          stderr=f"Error: parallel: function 2 of 2 failed: llmdo.http.get GET {BASE}/echo failed: timed out after 0.3 s (timeout)\n"),
    entry("a refused port: an error naming the URL", "refused", exit=1,
          stderr_has=["Error: llmdo.http.request GET http://127.0.0.1:1/x failed: ", "Couldn't connect to server"]),
    entry("max_bytes bounds the body; past it an error names the limit", "big", stdout="\n".join([
        "1000",
        f"llmdo.http.get GET {BASE}/big?n=1001 failed: the response body exceeds max_bytes (1000 bytes)",
        f"llmdo.http.get GET {BASE}/big?n=1001 failed: the response body exceeds max_bytes (1000 bytes)",
        f"llmdo.http.get GET {BASE}/big?n=10485761 failed: the response body exceeds max_bytes (10485760 bytes)",
    ]) + "\n"),
    entry("redirects are followed, a loop stops at 5, and only to http(s)", "redirect", stdout="\n".join([
        "200 /echo?from=redirect",
        f"llmdo.http.get GET {BASE}/loop failed: Maximum (5) redirects followed",
        f"llmdo.http.get GET {BASE}/tofile failed: Protocol \"file\" not supported or disabled in libcurl",
    ]) + "\n"),
    entry("r:json() on a body that is not JSON is a clear error", "notjson", stdout="hello, not json\n"
          "llmdo.http: the response body is not JSON (status 200, content-type text/plain): "
          "unexpected character at byte 1\n"),
    entry("bad options are errors naming the key", "invalid", stdout="\n".join([
        "llmdo.http.request: tiemout: unknown key; did you mean 'timeout'?",
        "llmdo.http.request: headers.x: expected a string, got an integer",
        "llmdo.http.request: headers[1]: expected a header name (letters, digits and !#$%&'*+-.^_`|~)",
        "llmdo.http.request: headers.x: a header value cannot contain CR, LF or NUL",
        "llmdo.http.request: headers[\"a b\"]: expected a header name (letters, digits and !#$%&'*+-.^_`|~)",
        "llmdo.http.request: timeout: expected a positive number of seconds (at most 86400), got 0",
        "llmdo.http.request: timeout: expected a positive number of seconds (at most 86400), got a string",
        "llmdo.http.request: max_bytes: expected an integer from 1 to 67108864, got a number",
        "llmdo.http.request: give body or json, not both",
        "llmdo.http.request: json: cannot encode a function value in JSON",
        "llmdo.http.request: method: expected a method name such as \"GET\", got \"GET /x\"",
        "llmdo.http.request: url: expected an http:// or https:// URL, got \"file:///etc/passwd\"",
        "llmdo.http.request: url: is required",
        "llmdo.http.request: expected a table of options, got a string",
        "llmdo.http.get: method: unknown key (the URL is the first argument)",
        "llmdo.http.get: url: expected a string, got an integer",
    ]) + "\n"),
    Custom("Ctrl-C during a request: exit 130 before the server answers", ctrl_c),
    entry("tool requests queue apart from model requests: one model slot, a tool request waiting on the model",
          "queues", rest="runtime = { approval_mode = 'approve_all', max_concurrent_requests = 1 }",
          mock=[{"text": "ok"}], timeout=30, stdout="answered ok, fetched gate-open\n"),
]
CASES.append(Case("a request carries its own headers only (no provider key; authorization and cookie not to "
                  "another host); nothing is logged at -vvv",
                  entry_files(), ["run", "-vvv", ".", "secrets"],
                  env=dict(ENV, ANTHROPIC_API_KEY="sk-ant-test-SECRET-9f8e7d", OPENAI_API_KEY="sk-openai-x"),
                  stdout="accept,accept-encoding,authorization,cookie,host,user-agent\naccept,accept-encoding,host,user-agent\n",
                  stderr_lacks=["tool-secret-123", "/echo", "127.0.0.1", "localhost"],
                  after=echo_headers_check(["accept", "accept-encoding", "host", "user-agent"])))

main(CASES)

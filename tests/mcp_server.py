"""A tiny MCP server for llmdo's tests: JSON-RPC 2.0 over stdio (one message
per line) or Streamable HTTP on loopback, with tools that misbehave on
purpose. Standard library only.

    python3 mcp_server.py [--log FILE] [--no-init] [--http PORTFILE] [--pages N]

--log FILE      appends one line per message received ("method id") and
                per session event, so tests can see what llmdo sent
--no-init       never answers initialize (llmdo must time out)
--http PORTFILE serves Streamable HTTP on 127.0.0.1 (a free port, written
                to PORTFILE), instead of stdio; requests after initialize
                must carry the Mcp-Session-Id it gave; if MCP_TEST_AUTH is
                set, the Authorization header must equal it
--pages N       tools/list answers in N pages (nextCursor)
--stubborn      ignores SIGTERM, SIGINT and SIGHUP, and stays when its
                stdin closes (only SIGKILL ends it)
--tag TAG       ignored: a word for pgrep to find this server by

Tools: echo {text}, pid, env {name}, fail (an isError result), image (a PNG),
resource (an embedded resource and structuredContent), slow {seconds, text}
(answered later, from another thread: calls are answered out of order),
die (exits mid-call), garbage (writes a line that is no JSON-RPC), rpc_error
(a JSON-RPC error response), stderr {text} (writes text to stderr),
ask {method} (sends llmdo a request, and answers the call with llmdo's
answer; stdio only).
"""
import argparse
import base64
import http.server
import json
import os
import sys
import threading
import time

PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")).decode()

TOOLS = [
    {"name": "echo", "description": "Echo text", "inputSchema": {
        "type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}},
    {"name": "pid", "description": "The server's process id", "inputSchema": {"type": "object"}},
    {"name": "env", "description": "An environment variable", "inputSchema": {
        "type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}},
    {"name": "fail", "description": "A tool error", "inputSchema": {"type": "object"}},
    {"name": "image", "description": "A tiny PNG", "inputSchema": {"type": "object"}},
    {"name": "resource", "description": "A resource", "inputSchema": {"type": "object"}},
    {"name": "slow", "description": "Answers after a while", "inputSchema": {
        "type": "object", "properties": {"seconds": {"type": "number"}, "text": {"type": "string"}}}},
    {"name": "die", "description": "Exits mid-call", "inputSchema": {"type": "object"}},
    {"name": "garbage", "description": "Writes garbage", "inputSchema": {"type": "object"}},
    {"name": "rpc_error", "description": "A JSON-RPC error", "inputSchema": {"type": "object"}},
    {"name": "stderr", "description": "Writes to stderr", "inputSchema": {
        "type": "object", "properties": {"text": {"type": "string"}}}},
    {"name": "ask", "description": "Sends llmdo a request", "inputSchema": {
        "type": "object", "properties": {"method": {"type": "string"}}, "required": ["method"]}},
]
asked = {}  # the id of a request sent to llmdo -> the reply of the call waiting for its answer

opts = None
out_lock = threading.Lock()


def log(line):
    if opts.log:
        with open(opts.log, "a") as f:
            f.write(line + "\n")


def text(t, **more):
    return dict({"content": [{"type": "text", "text": t}]}, **more)


def call_tool(name, args, send_later):
    """The result of tools/call, or None when the answer comes later."""
    if name == "echo":
        return text(args.get("text", ""))
    if name == "pid":
        return text(str(os.getpid()))
    if name == "env":  # as getenv(3) sees it: the first entry of that name
        with open("/proc/self/environ", "rb") as f:
            for entry in f.read().split(b"\0"):
                k, _, v = entry.decode(errors="replace").partition("=")
                if k == args["name"]:
                    return text(repr(v))
        return text(repr(None))
    if name == "fail":
        return text("the widget is broken", isError=True)
    if name == "image":
        return {"content": [{"type": "text", "text": "a dot:"}, {"type": "image", "data": PNG, "mimeType": "image/png"}]}
    if name == "resource":
        return {"content": [{"type": "resource", "resource": {"uri": "file:///notes.txt", "mimeType": "text/plain",
                                                               "text": "resource body"}}],
                "structuredContent": {"temperature": 21}}
    if name == "slow":
        def later():
            time.sleep(args.get("seconds", 1))
            send_later(text(args.get("text", "slow done")))
        threading.Thread(target=later, daemon=True).start()
        return None
    if name == "die":
        sys.stderr.write("dying now\n")
        sys.stderr.flush()
        os._exit(3)
    if name == "garbage":
        return "garbage"
    if name == "stderr":
        sys.stderr.write(args.get("text", "") + "\n")
        sys.stderr.flush()
        return text("written")
    raise KeyError(name)


def handle(msg, send):
    """Handles one message; send(obj) writes a message back."""
    method, mid = msg.get("method"), msg.get("id")
    if method is None and mid in asked:  # llmdo's answer to our request
        asked.pop(mid)(text(json.dumps(msg.get("result", msg.get("error")), sort_keys=True)))
        return
    log(f"{method} {mid}" + (f" {msg['params'].get('requestId')}" if method == "notifications/cancelled" else ""))
    if mid is None:
        return
    def reply(result):
        send({"jsonrpc": "2.0", "id": mid, "result": result})
    if method == "initialize":
        if opts.no_init:
            return
        reply({"protocolVersion": msg["params"]["protocolVersion"], "capabilities": {"tools": {}},
               "serverInfo": {"name": "llmdo-test-server", "version": "1.0"}})
    elif method == "tools/list":
        size = -(-len(TOOLS) // opts.pages)
        start = int(msg.get("params", {}).get("cursor") or 0)
        page = {"tools": TOOLS[start:start + size]}
        if start + size < len(TOOLS):
            page["nextCursor"] = str(start + size)
        reply(page)
    elif method == "tools/call":
        p = msg["params"]
        if p["name"] == "rpc_error":
            send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32000, "message": "widget service unavailable"}})
            return
        if p["name"] == "ask":
            asked["srv-%s" % mid] = reply
            send({"jsonrpc": "2.0", "id": "srv-%s" % mid, "method": p["arguments"]["method"], "params": {}})
            return
        r = call_tool(p["name"], p.get("arguments", {}), reply)
        if r == "garbage":
            send("this is not JSON-RPC")
        elif r is not None:
            reply(r)
    elif method == "ping":
        reply({})
    else:
        send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": "Method not found"}})


def serve_stdio():
    def send(obj):
        with out_lock:
            sys.stdout.write((obj if isinstance(obj, str) else json.dumps(obj)) + "\n")
            sys.stdout.flush()
    for line in sys.stdin:
        if line.strip():
            handle(json.loads(line), send)
    log("stdin closed")


class Handler(http.server.BaseHTTPRequestHandler):
    sessions = set()

    def log_message(self, *a):
        pass

    def refuse(self, status, why):
        body = json.dumps({"error": why}).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorised(self):
        want = os.environ.get("MCP_TEST_AUTH")
        if want and self.headers.get("authorization") != want:
            self.refuse(401, "unauthorised")
            return False
        return True

    def do_DELETE(self):
        if self.authorised():
            log("DELETE " + str(self.headers.get("mcp-session-id")))
            self.send_response(204)
            self.end_headers()

    def do_POST(self):
        if not self.authorised():
            return
        msg = json.loads(self.rfile.read(int(self.headers["content-length"])))
        session = self.headers.get("mcp-session-id")
        if msg.get("method") != "initialize" and session not in self.sessions:
            return self.refuse(400 if session is None else 404, "no session")
        if msg.get("method") not in ("initialize", None) and self.headers.get("mcp-protocol-version") is None:
            return self.refuse(400, "no mcp-protocol-version")
        answers = []
        done = threading.Event()
        def send(obj):
            answers.append(obj)
            done.set()
        handle(msg, send)
        if "id" not in msg:
            self.send_response(202)
            self.end_headers()
            return
        done.wait(60)
        answer = answers[0]
        if answer == "this is not JSON-RPC":
            body, ctype = b"this is not JSON-RPC", "application/json"
        elif msg.get("method") == "tools/call":  # as an event stream, after a notification
            note = {"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "hi"}}
            body = ("event: message\ndata: " + json.dumps(note) + "\n\nevent: message\ndata: "
                    + json.dumps(answer) + "\n\n").encode()
            ctype = "text/event-stream"
        else:
            body, ctype = json.dumps(answer).encode(), "application/json"
        self.send_response(200)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        if msg.get("method") == "initialize":
            sid = "session-%d" % len(self.sessions)
            self.sessions.add(sid)
            self.send_header("mcp-session-id", sid)
        self.end_headers()
        self.wfile.write(body)


def serve_http(portfile):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, portfile)
    server.serve_forever()


def main():
    global opts
    ap = argparse.ArgumentParser()
    ap.add_argument("--log")
    ap.add_argument("--no-init", action="store_true")
    ap.add_argument("--http")
    ap.add_argument("--pages", type=int, default=1)
    ap.add_argument("--stubborn", action="store_true")
    ap.add_argument("--tag")
    opts = ap.parse_args()
    if opts.stubborn:
        import signal
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
    if opts.http:
        serve_http(opts.http)
    else:
        serve_stdio()
        while opts.stubborn:
            time.sleep(3600)


if __name__ == "__main__":
    main()

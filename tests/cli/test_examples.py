"""The examples in examples/, run offline: each is copied into a fresh
directory and run with its scripted model (--model lua:offline, as its
README says), or against a loopback server for the web ones, and the test
checks what it printed and wrote. Nothing in an example is changed for the
test, so an example that rots fails here.

    python3 tests/cli/test_examples.py path/to/llmdo [case-name-part]
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import harness
from harness import Case, Custom
from pty_harness import Session

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OFFLINE = ["--model", "lua:offline"]


def example(name, at=""):
    """The files of examples/NAME as {path: bytes}, under the prefix `at`."""
    base = os.path.join(ROOT, "examples", name)
    files = {}
    for dirpath, _, names in os.walk(base):
        for n in names:
            full = os.path.join(dirpath, n)
            with open(full, "rb") as f:
                files[os.path.join(at, os.path.relpath(full, base))] = f.read()
    return files


def read(root, path):
    try:
        with open(os.path.join(root, path), encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        return f"<{e}>"


def file_has(path, *texts):
    """An `after` check: the run wrote `path` (relative to the case's
    directory) and it holds every one of `texts`."""
    def check(root):
        got = read(root, path)
        return [f"{path} lacks {t!r}: {got!r}" for t in texts if t not in got]
    return check


def absent(path):
    return lambda root: [f"{path} exists"] if os.path.exists(os.path.join(root, path)) else []


def checks(*fns):
    return lambda root: [p for fn in fns for p in (fn(root) or [])]


def at_terminal(name, args, answers, last, want_exit, after=None):
    """A case run on a pseudo-terminal: `answers` is a list of (regex to
    wait for, reply to type), `last` a regex for the end of the run;
    after(root) -> problems runs before the directory goes away."""
    def fn(binary):
        s = Session(binary, args, example(name))
        try:
            for wait, reply in answers:
                s.expect(wait)
                s.send(reply)
            s.expect(last)
            problems = after(s.root) if after else []
        except AssertionError as e:
            problems = [str(e)]
        finally:
            status = s.finish()
        if status != want_exit:
            problems.append(f"exit status {status}, want {want_exit}; terminal:\n{s.out}")
        return problems
    return fn


SAMPLE_CODE = {
    "code/src/app/main.py": 'def main():\n    # TODO: parse arguments\n    print("hi")\n',
    "code/src/app/store.py": 'import os\n\n\ndef load(p):\n    # FIXME: handle missing files\n    return open(p).read()\n',
    "code/setup.py": "x = 1\n",
    "code/README.md": "TODO: not Python, not counted\n",
}

DECK_REPORTS = [
    file_has("evaluations/aurora-solar.md", "# Aurora Solar Roofs\n", "- **Traction:** 140 homes, 2.1M USD revenue.\n",
             "**Verdict:** meet"),
    file_has("evaluations/quill-notes.md", "# Quill Notes\n", "- **Ask:** 1.5M USD pre-seed.\n", "**Verdict:** pass"),
]

LIGHTHOUSES = [
    "Lighthouses began as fires on hilltops.", "The Pharos of Alexandria set the pattern for a thousand years.",
    "Medieval towers were few and badly kept.",
    "Building on bare rock in open sea was the great engineering problem of the eighteenth century.",
    "Better light mattered as much as better towers.", "Each light also had to be told apart from its neighbours.",
    "The keepers' life was one of routine and isolation.",
    "Electricity and automation ended that life in the twentieth century.",
    "Satellite navigation has not made lighthouses useless.",
]

BOOK_SWAP = """- Launch a neighbourhood book swap
  - Find a venue
    - List three candidate places
    - Ask the owners
    - Agree a weekly time slot
  - Collect the first books
    - Ask neighbours for donations
    - Sort and label the books
  - Spread the word
    - Design a flyer
    - Post the flyer in shops and online
"""

# One Anthropic turn as the Messages API gives it after a web search: the
# search call and its results (server-side blocks), then cited text.
WEB_SEARCH_TURN = {"blocks": [
    {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search",
     "input": {"query": "tallest lighthouse in the world"}},
    {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01", "content": [
        {"type": "web_search_result", "url": "https://lights.example/jeddah", "title": "Jeddah Light",
         "encrypted_content": "EqgfCioIARgB", "page_age": "March 2, 2025"}]},
    {"type": "text", "text": "The Jeddah Light in Saudi Arabia is the tallest lighthouse, at about 133 m.",
     "citations": [{"type": "web_search_result_location", "url": "https://lights.example/jeddah",
                    "title": "Jeddah Light", "encrypted_index": "Eo8BCioIAhgB", "cited_text": "about 133 m tall"}]},
    {"type": "text", "text": "\n\nSources: https://lights.example/jeddah"},
]}


def offers_web_search(requests):
    tools = requests[0]["body"].get("tools", [])
    want = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
    if len(requests) != 1 or not any(all(t.get(k) == v for k, v in want.items()) for t in tools):
        return [f"{len(requests)} requests; tools {tools}, want {want}"]
    return []


# web_research_agent's web: a search API (Brave's shape) and pages, on loopback.
QUESTION = "How do sailors tell one lighthouse from another?"
PAGES = {
    "characters.html": ("Light characters", "<p>Every lighthouse shows its own light character, a pattern of "
                        "flashes and colours printed in the light lists.</p><p>More text.</p>"),
    "daymarks.html": ("Daymarks &amp; towers", "<nav>menu</nav><p>By day, towers are told apart by their "
                      "daymarks: painted bands, stripes and shapes.</p><script>var x = 1;</script>"),
    "fog.html": ("Fog signals", "<p>In fog, each station sounds its own signal, such as two blasts every "
                 "thirty seconds.</p>"),
    "gone.html": None,  # 404: a status is a result, and the page is left out
    "unused.html": ("Not fetched", "<p>The fifth result is not fetched.</p>"),
}


class WebServer:
    """The page requests wait for each other (a barrier of 4): if
    fetch_pages did not fetch them at once, the barrier breaks after 10 s
    and the pages are answered 503, which the report then lacks."""
    def __init__(self):
        self.searches, self.barrier = [], None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urllib.parse.urlparse(self.path)
                if url.path == "/res/v1/web/search":
                    server.searches.append((urllib.parse.parse_qs(url.query), self.headers.get("x-subscription-token")))
                    hits = [{"title": (v or ("Gone", ""))[0].replace("&amp;", "&"), "url": server.url + "/pages/" + k,
                             "description": "..."} for k, v in PAGES.items()]
                    return self.reply(200, "application/json", json.dumps({"web": {"results": hits}}))
                page = PAGES.get(url.path.rsplit("/", 1)[-1], None)
                try:
                    server.barrier.wait()
                except threading.BrokenBarrierError:
                    return self.reply(503, "text/plain", "the pages were not fetched at once")
                if page is None:
                    return self.reply(404, "text/html", "<title>Not found</title>")
                self.reply(200, "text/html; charset=utf-8",
                           f"<html><head><title>{page[0]}</title><style>p {{}}</style></head><body>{page[1]}</body></html>")

            def reply(self, status, ctype, body):
                data = body.encode()
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def reset(self, _root=None):
        self.searches, self.barrier = [], threading.Barrier(4, timeout=10)

    def searched(self, _root):
        want = ({"q": [QUESTION], "count": ["5"]}, "test-brave-key")
        return [] if self.searches == [want] else [f"searches {self.searches}, want [{want}]"]


WEB = WebServer()
WEB_ENV = {"SEARCH_API_BASE_URL": WEB.url, "BRAVE_API_KEY": "test-brave-key"}
REPORT = "reports/how-do-sailors-tell-one-lighthouse-from-another.md"

MESSY = {"messy/" + n: "" for n in ("Meeting Notes.docx", "Meeting notes.DOCX", "IMG_2026_03_07 Beach.JPG",
                                    "Invoice March 2026 (copy).PDF", "budget-final-v2.xlsx", "todo.txt")}
MESSY["messy/Old/keep.txt"] = "a directory's files stay where they are\n"
TIDY = ["2026-03-07-img-beach.jpg", "2026-03-invoice.pdf", "Old", "budget.xlsx", "meeting-notes-2.docx",
        "meeting-notes.docx", "todo.txt"]


def listing(want):
    def check(root):
        got = sorted(os.listdir(os.path.join(root, "messy")))
        return [] if got == sorted(want) else [f"messy/ holds {got}, want {sorted(want)}"]
    return check


def run_again(args, stdout):
    """An `after` check: a second run in the same directory prints `stdout`."""
    def check(root):
        p = subprocess.run([BINARY[0]] + [a.replace("{root}", root) for a in args], cwd=os.path.join(root, "messy"),
                                   capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=20)
        return [] if p.stdout == stdout else [f"second run: stdout {p.stdout!r}, stderr {p.stderr!r}"]
    return check


ACTIVITY = "- 2026-11-02 rotated the staging TLS certificate\n"
LOG_ENTRY = ["run", ".", "--model", "lua:offline", "2026-11-29 deployed v2.3 to staging"]

CASES = [
    # calculator: pre-approved Lua tools, under reject_all
    Case("calculator_default_input", example("calculator"), ["run", "."] + OFFLINE,
         stdout="factorial(20) = 2432902008176640000\nfibonacci(50) = 12586269025\n"),
    Case("calculator_schema_refuses", example("calculator"), ["run", "."] + OFFLINE + ["What is 21! and 6 * 7?"],
         stdout_has=["factorial(21) = Invalid arguments for tool 'factorial': n: must be <= 20, got 21",
                     "multiply(6, 7) = 42"]),

    # data_processor: pre-approved reads and stats, a notification that asks
    Case("data_processor_approved", example("data_processor"), ["run", "."] + OFFLINE + ["--approve-all"],
         stdout="Summary: 8 sales, total 8780, mean 1097.5, median 1095 (min 430, max 1710).\n"
                "Notification: sent to #sales\n",
         after=file_has("outbox/notifications.jsonl",
                        '{"channel":"#sales","message":"Sales: 8 sales, total 8780, mean 1097.5')),
    Case("data_processor_rejected", example("data_processor"), ["run", "."] + OFFLINE + ["--reject-all"],
         stdout_has=["Summary: 8 sales, total 8780",
                     "Notification: not sent (Approval denied for send_notification: --reject-all)"],
         after=absent("outbox")),
    Case("data_processor_headless", example("data_processor"), ["run", "."] + OFFLINE, exit=2,
         stderr="Error: Headless mode cannot prompt for approvals; use --approve-all or --reject-all\n"),

    # approvals_demo: a write that asks on the terminal
    Custom("approvals_demo_approve", at_terminal(
        "approvals_demo", LOG_ENTRY, [(r"action: Write 87 chars to notes/activity.log\n", ""), (r"\[d\] deny", "a\n")],
        r"Logged: - 2026-11-29 deployed v2.3 to staging\n", 0, file_has("notes/activity.log", ACTIVITY + "- 2026-11-29 deployed v2.3 to staging\n"))),
    Custom("approvals_demo_deny", at_terminal(
        "approvals_demo", LOG_ENTRY, [(r"\[d\] deny", "d\n"), ("note \\(optional", "not on a Sunday\n")],
        r"Error: Approval denied for write_file: not on a Sunday\n", 1, lambda root: [] if read(root, "notes/activity.log") == ACTIVITY else ["the log changed"])),
    # code_analyzer: shell_readonly over the directory the user is in
    Case("code_analyzer_overview", {**example("code_analyzer", "analyzer"), **SAMPLE_CODE},
         ["run", "{root}/analyzer"] + OFFLINE, cwd="code",
         stdout="3 Python files, 10 lines.\n2 open notes:\n  src/app/main.py:2 TODO: parse arguments\n"
                "  src/app/store.py:5 FIXME: handle missing files\n"),
    Case("code_analyzer_no_delete", {**example("code_analyzer", "analyzer"), **SAMPLE_CODE},
         ["tool", "{root}/analyzer", "sh_shell", "--args", '{"command": "find . -name setup.py -delete"}'],
         cwd="code", exit=1, stderr="Error: Approval denied for sh_shell: --reject-all\n",
         after=lambda root: [] if os.path.exists(os.path.join(root, "code/setup.py")) else ["setup.py was deleted"]),
    # file_organizer: shell_file_ops (ls free, mv asks) and a deterministic naming tool
    Case("file_organizer_approved", {**example("file_organizer", "organizer"), **MESSY},
         ["run", "{root}/organizer", "--approve-all"] + OFFLINE, cwd="messy",
         stdout="IMG_2026_03_07 Beach.JPG -> 2026-03-07-img-beach.jpg\n"
                "Invoice March 2026 (copy).PDF -> 2026-03-invoice.pdf\n"
                "Meeting Notes.docx -> meeting-notes.docx\nMeeting notes.DOCX -> meeting-notes-2.docx\n"
                "budget-final-v2.xlsx -> budget.xlsx\n",
         after=checks(listing(TIDY), file_has("messy/Old/keep.txt", "stay"),
                      run_again(["run", "{root}/organizer", "--approve-all"] + OFFLINE, "Every name is already tidy.\n"))),
    Case("file_organizer_rejected", {**example("file_organizer", "organizer"), **MESSY},
         ["run", "{root}/organizer", "--reject-all"] + OFFLINE, cwd="messy",
         stdout_has=["Meeting Notes.docx -> meeting-notes.docx  (not renamed: Approval denied for sh_shell: --reject-all)"],
         after=listing([n[len("messy/"):] for n in MESSY if n.count("/") == 1] + ["Old"])),
    # pitchdeck_eval: an orchestrator worker, an evaluator worker with PDF attachments
    Case("pitchdeck_eval", example("pitchdeck_eval"), ["run", "."] + OFFLINE,
         stdout="aurora-solar: meet\nquill-notes: pass\n", after=checks(*DECK_REPORTS)),
    # pitchdeck_eval_stabilized: the listing and the slugs in a Lua tool
    Case("pitchdeck_eval_stabilized", example("pitchdeck_eval_stabilized"), ["run", "."] + OFFLINE,
         stdout="aurora-solar: meet\nquill-notes: pass\n", after=checks(*DECK_REPORTS)),
    Case("pitchdeck_eval_stabilized_list", example("pitchdeck_eval_stabilized"),
         ["tool", ".", "list_pitchdecks"],
         stdout='[{"file":"input/aurora-solar.pdf","output_path":"evaluations/aurora-solar.md","slug":"aurora-solar"},'
                '{"file":"input/quill-notes.pdf","output_path":"evaluations/quill-notes.md","slug":"quill-notes"}]\n'),
    # recursive_summarizer: a worker calling itself on file windows, with a typed input
    Case("recursive_summarizer", example("recursive_summarizer"), ["run", ".", "-v"] + OFFLINE,
         stdout="".join(f"- {s}\n" for s in LIGHTHOUSES), stderr_has=["[summarizer:3] Tool call: read_file"]),
    Case("recursive_summarizer_window", example("recursive_summarizer"),
         ["run", ".", "--input-json", '{"path": "input/lighthouses.txt", "start": 1400, "end": 2000}'] + OFFLINE,
         stdout=f"- {LIGHTHOUSES[4]}\n- {LIGHTHOUSES[5]}\n"),
    Case("recursive_summarizer_max_depth", example("recursive_summarizer"), ["run", ".", "--max-depth", "2"] + OFFLINE,
         exit=1, stderr="Error: Tool 'summarizer' failed: max_depth exceeded (depth=2, max_depth=2, "
                        "caller='summarizer', attempted='summarizer')\n"),
    Case("recursive_summarizer_schema", example("recursive_summarizer"),
         ["run", ".", "--input-json", '{"path": "input/lighthouses.txt", "end": 0}'] + OFFLINE,
         exit=2, stderr="Error: Invalid input: end: must be >= 1, got 0\n"),
    # task_decomposer: recursive planning bounded by remaining_depth and max_depth
    Case("task_decomposer", example("task_decomposer"), ["run", "."] + OFFLINE, stdout=BOOK_SWAP),
    Case("task_decomposer_depth_3", example("task_decomposer"),
         ["run", ".", "--input-json", '{"task": "Launch a neighbourhood book swap", "remaining_depth": 3}'] + OFFLINE,
         stdout=BOOK_SWAP.replace("    - Design a flyer\n",
                                  "    - Design a flyer\n      - Write the text\n      - Pick a picture\n")),
    Case("task_decomposer_max_depth", example("task_decomposer"),
         ["run", ".", "--input-json", '{"task": "Launch a neighbourhood book swap", "remaining_depth": 4}'] + OFFLINE,
         exit=1, stderr="Error: Tool 'planner' failed: max_depth exceeded (depth=4, max_depth=4, "
                        "caller='planner', attempted='planner')\n"),
    Case("task_decomposer_empty_task", example("task_decomposer"), ["run", ".", "--input-json", '{"task": ""}'] + OFFLINE,
         exit=2, stderr="Error: Invalid input: task: must be at least 1 character long\n"),
    # whiteboard_planner: an image attachment to a worker tool, approved first
    Case("whiteboard_planner", example("whiteboard_planner"), ["run", ".", "--approve-all"] + OFFLINE,
         stdout="plans/launch-roadmap.md\n",
         after=file_has("plans/launch-roadmap.md", "# Plan: launch roadmap\n",
                        "Source: launch-roadmap.png (image/png, 72x40 pixels)")),
    Case("whiteboard_planner_all_photos", example("whiteboard_planner"),
         ["run", ".", "--approve-all", "Plan every photo"] + OFFLINE, stdout="plans/launch-roadmap.md\n"),
    Case("whiteboard_planner_rejected", example("whiteboard_planner"), ["run", ".", "--reject-all"] + OFFLINE, exit=1,
         stderr="Error: Approval denied for whiteboard_planner: --reject-all\n", after=absent("plans")),
    # web_searcher: Anthropic's server-side web search, against the loopback mock
    Case("web_searcher", example("web_searcher"), ["run", ".", "-v", "--model", "anthropic:claude-haiku-4-5"],
         mock=[WEB_SEARCH_TURN], check=offers_web_search,
         stdout="The Jeddah Light in Saudi Arabia is the tallest lighthouse, at about 133 m.\n\n"
                "Sources: https://lights.example/jeddah\n",
         stderr_has=['Server tool: web_search\n  Args: {"query":"tallest lighthouse in the world"}']),
    Case("web_searcher_not_openai", example("web_searcher"), ["run", ".", "--model", "openai:gpt-4o-mini"], exit=2,
         stderr_has=["Model 'openai:gpt-4o-mini' incompatible with 'main'"]),
    # web_research_agent: search, concurrent fetches with llmdo.http, consolidator and reporter workers
    Case("web_research_agent", example("web_research_agent"), ["run", ".", QUESTION, "--approve-all"] + OFFLINE,
         env=WEB_ENV, prepare=WEB.reset, stdout=f"Report saved to {REPORT}\n",
         after=checks(WEB.searched, file_has(
             REPORT, f"# {QUESTION}\n",
             "- Every lighthouse shows its own light character, a pattern of flashes and colours printed in the "
             "light lists. [1]\n- By day, towers are told apart by their daymarks: painted bands, stripes and "
             "shapes. [2]\n- In fog, each station sounds its own signal, such as two blasts every thirty seconds. [3]\n",
             f"1. [Light characters]({WEB.url}/pages/characters.html)\n2. [Daymarks & towers]({WEB.url}/pages/daymarks.html)\n"
             f"3. [Fog signals]({WEB.url}/pages/fog.html)\n"))),
    Case("web_research_agent_rejected", example("web_research_agent"), ["run", ".", QUESTION, "--reject-all"] + OFFLINE,
         env=WEB_ENV, prepare=WEB.reset, exit=1, stderr="Error: Approval denied for save_report: --reject-all\n",
         after=absent("reports")),
    # rlm_repl: a sandboxed, stateful Lua REPL driven by a recursive worker
    Case("rlm_repl", example("rlm_repl"), ["run", ".", "-v"] + OFFLINE,
         stdout="The log has 18 ERROR lines; api logged the most (7).\n",
         stderr_has=["[rlm:2] Tool call: repl_run", '"returned": "api=4,auth=2,billing=1,search=2"',
                     '"returned": "api=3,auth=4,search=2"']),
] + [
    Case(f"rlm_repl_sandbox_{i}", example("rlm_repl"), ["tool", ".", "repl_run", "--args", json.dumps({"code": code})],
         stdout=json.dumps({"error": error, "printed": ""}, separators=(",", ":")) + "\n")
    for i, (code, error) in enumerate([
        ('return os.execute("id")', "repl:1: attempt to call a nil value (field 'execute')"),
        ('return require("io")', "repl:1: attempt to call a nil value (global 'require')"),
        ('getmetatable("").__index.rep = nil', "repl:1: attempt to index a nil value"),
    ])
] + [
    Case("approvals_demo_headless", example("approvals_demo"), LOG_ENTRY, exit=2,
         stderr="Error: Headless mode cannot prompt for approvals; use --approve-all or --reject-all\n"),
]

BINARY = [os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else ""]


# batch: one llmdo run per input under GNU parallel (examples/batch/run.sh)
def batch(binary, work, n, jobs, extra_env=None, wait=True):
    env = {k: v for k, v in os.environ.items() if k not in ("LLMDO_MODEL", "ANTHROPIC_BASE_URL", "BATCH_MODEL")}
    env.update({"LLMDO": binary, "BATCH_DIR": work}, **(extra_env or {}))
    cmd = [os.path.join(ROOT, "examples", "batch", "run.sh"), str(n), str(jobs)]
    if not wait:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    try:
        return p, json.loads(p.stdout)
    except ValueError:
        return p, None


def outcomes(work):
    out = {}
    for name in sorted(os.listdir(os.path.join(work, "out"))):
        if name.endswith(".json"):
            with open(os.path.join(work, "out", name)) as f:
                out[name[:-5]] = json.load(f)
    return out


def batch_offline(binary):
    with tempfile.TemporaryDirectory(prefix="llmdo-batch-") as work:
        p, summary = batch(binary, work, 25, 4, {"BATCH_MODEL": "lua:offline"})
        if not summary:
            return [f"run.sh: exit {p.returncode}, stdout {p.stdout!r}, stderr {p.stderr!r}"]
        problems = []
        if summary["outcomes"] != {"ok": 25} or summary["labels"] != {l: 5 for l in
                                                                       ("account", "billing", "bug", "other", "outage")}:
            problems.append(f"summary {summary}")
        for job, o in outcomes(work).items():
            if o["exit"] != 0 or not os.path.exists(o["journal"]) or o["journal"] != f"{work}/out/{job}.jsonl":
                problems.append(f"outcome of {job}: {o}")
        return problems


def batch_node_dies(binary):
    """The whole node dies (SIGKILL to parallel, its jobs and the mock) with
    jobs mid-request; run.sh again on the same directory finishes the batch:
    parallel skips the jobs done, job.sh resumes the cut ones from their
    journals."""
    with tempfile.TemporaryDirectory(prefix="llmdo-batch-") as work:
        proc = batch(binary, work, 12, 3, {"BATCH_LATENCY_MS": "400"}, wait=False)
        out_dir = os.path.join(work, "out")
        done = lambda: len([n for n in os.listdir(out_dir) if n.endswith(".json")]) if os.path.isdir(out_dir) else 0

        def waiting_for_model():  # a job whose journal ends with its request: it waits for the answer
            for n in os.listdir(out_dir) if os.path.isdir(out_dir) else []:
                if n.endswith(".jsonl"):
                    with open(os.path.join(out_dir, n), "rb") as f:
                        lines = f.read().splitlines()
                    if lines and b'"type":"model_request"' in lines[-1]:
                        return True
            return False
        try:
            if not harness.wait_until(lambda: done() >= 3 and waiting_for_model(), limit=60):
                return ["the batch never finished 3 jobs with another waiting for the model"]
        finally:
            os.killpg(proc.pid, 9)
            proc.communicate()
        first = done()
        p, summary = batch(binary, work, 12, 3)
        if not summary or summary["outcomes"] != {"ok": 12}:
            return [f"the second run: {summary} {p.stderr!r}"]
        resumed = [n for n in os.listdir(out_dir) if n.endswith(".died.jsonl")]
        problems = []
        if first >= 12:
            problems.append("the batch was done before it was killed; the test proves nothing")
        if not resumed:
            problems.append("no job was resumed from the journal of a cut run")
        for name in resumed:
            with open(os.path.join(out_dir, name.replace(".died", ""))) as f:
                start = json.loads(f.readline())
            if not start.get("resumed_from", "").endswith(name):
                problems.append(f"{name}: the new journal does not say it resumed it: {start}")
        return problems


# mcp_everything: the reference MCP server, from tests/mcp (scripts/deps.sh --test)
EVERYTHING_JS = os.path.join(ROOT, "tests", "mcp", "node_modules", "@modelcontextprotocol", "server-everything",
                             "dist", "index.js")


def with_everything(case):
    """Runs `case` when the reference server is installed; without it, a
    problem under CI and a note (not a failure) elsewhere."""
    def fn(binary):
        if not os.path.exists(EVERYTHING_JS):
            if os.environ.get("CI"):
                return [f"the reference MCP server is not installed at {EVERYTHING_JS} (scripts/deps.sh --test)"]
            print(f"note: {case.name} not run: no {EVERYTHING_JS}")
            return []
        return harness.run_case(binary, case)
    return Custom(case.name, fn)


MCP_ENV = {"MCP_EVERYTHING_JS": EVERYTHING_JS}
CASES += [with_everything(c) for c in [
    Case("mcp_everything_approved", example("mcp_everything"), ["run", ".", "--approve-all"] + OFFLINE, env=MCP_ENV,
         stdout="everything_echo: Echo: hello from llmdo\neverything_add: The sum of 2 and 3 is 5.\n"
                "everything_getTinyImage: This is a tiny image: [image 1: image/png, attached] The image above is the "
                "MCP tiny image. (an attached image/png)\n"),
    Case("mcp_everything_rejected", example("mcp_everything"), ["run", ".", "--reject-all"] + OFFLINE, env=MCP_ENV,
         exit=1, stderr="Error: Approval denied for everything_getTinyImage: --reject-all\n"),
    Case("mcp_everything_headless", example("mcp_everything"), ["run", "."] + OFFLINE, env=MCP_ENV, exit=2,
         stderr="Error: Headless mode cannot prompt for approvals; use --approve-all or --reject-all\n"),
]]

CASES += [
    Custom("batch_offline", lambda b: batch_offline(os.path.abspath(b))),
    Custom("batch_node_dies_then_resumes", lambda b: batch_node_dies(os.path.abspath(b))),
]

if __name__ == "__main__":
    harness.main(CASES)

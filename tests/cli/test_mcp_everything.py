"""MCP against the reference server, @modelcontextprotocol/server-everything
(pinned in tests/mcp/package-lock.json; scripts/deps.sh --test installs it
with npm ci): its tools listed, echo, add, an image, an error result, a
long-running operation cancelled by Ctrl-C (the server gone afterwards),
and approval asked by default and lifted by approve:.

Without the package (or Node) the test fails when CI is set, and otherwise
exits 77, which ctest reports as skipped."""
import os, shutil, signal, subprocess, sys, tempfile
sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, Custom, project, running, wait_until, worker, main, write_files

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(os.path.dirname(HERE), "mcp", "node_modules", "@modelcontextprotocol", "server-everything",
                      "dist", "index.js")
SCRIPT = open(os.path.join(HERE, "lua", "script_model.lua")).read()

if not os.path.exists(SERVER) or not shutil.which("node"):
    why = ("the reference MCP server is not installed (" + SERVER + "; run scripts/deps.sh --test, "
           "which runs npm ci in tests/mcp)") if shutil.which("node") else "node is not installed"
    if os.environ.get("CI"):
        print("FAIL: " + why, file=sys.stderr)
        sys.exit(1)
    print("SKIPPED: " + why, file=sys.stderr)
    sys.exit(77)


def files(options="", mode="approve_all", marker=""):
    ts = f"toolsets:\n  - ev: {{ toolset: mcp, command: [node, {SERVER}, stdio{marker}]"
    ts += (", " + options if options else "") + " }"
    return {"project.lua": project(lua=("script_model.lua",), rest=f"runtime = {{ approval_mode = '{mode}' }}"),
            "main.worker": worker(model="lua:script", extra=ts), "script_model.lua": SCRIPT}


def run(prompt, *more):
    return ["run", ".", prompt, *more]


TOOLS = ["add", "annotatedMessage", "echo", "getResourceLinks", "getResourceReference", "getTinyImage",
         "longRunningOperation", "printEnv", "sampleLLM", "structuredContent"]


def long_running_cancelled(binary):
    """Ctrl-C while longRunningOperation runs: exit 130, the server gone.
    The marker argument (ignored by the server) names this run's process."""
    marker = "llmdo-mcp-ctrl-c-0441"
    with tempfile.TemporaryDirectory(prefix="llmdo-mcp-") as root:
        write_files(root, files(marker=", " + marker))
        p = subprocess.Popen([binary, "run", ".", 'ev_longRunningOperation:{"duration":60,"steps":2};say', "-v"],
                             cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        seen = b""
        while b"Tool call: ev_longRunningOperation" not in seen:  # the call is on its way
            chunk = p.stderr.read1(4096)
            if not chunk:
                break
            seen += chunk
        if not running(marker):
            p.kill()
            return ["the server never ran: " + (seen + p.communicate()[1]).decode()]
        p.send_signal(signal.SIGINT)
        try:
            _, rest = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            return ["did not stop after Ctrl-C"]
        problems = [] if p.returncode == 130 else [f"exit {p.returncode}, want 130: {(seen + rest).decode()!r}"]
        if running(marker):  # cleanup ran before llmdo exited: the server must be gone now
            for pid in subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split():
                os.kill(int(pid), signal.SIGKILL)
            problems.append("the server outlived Ctrl-C")
        return problems


CASES = [
    Case("tools listed", files(), ["check", ".", "--connect"],
         stdout_has=tuple(f"  ev_{t}  [needs approval]\n" for t in TOOLS)
         + ("  server:   example-servers/everything ", "\"required\":[\"a\",\"b\"]")),
    Case("echo", files(), run('ev_echo:{"message":"hello"};say'), stdout="Echo: hello\n"),
    Case("add", files(), run('ev_add:{"a":2,"b":40};say'), stdout="The sum of 2 and 40 is 42.\n"),
    Case("an image", files(), run("ev_getTinyImage:{};say"),
         stdout_has=("This is a tiny image:\n[image 1: image/png, attached]\nThe image above is the MCP tiny image."
                     " [+image/png]\n",)),
    # the server asks llmdo for sampling, which llmdo does not offer: its
    # tool fails, and the model reads the error
    Case("an error result", files(), run('ev_sampleLLM:{"prompt":"hi"};say'),
         stdout_has=("E:MCP error ",)),
    Case("structured content", files(), run('ev_structuredContent:{"location":"Oslo"};say'),
         stdout_has=('"temperature":22.5',)),
    Case("approval asked by default", files(mode="reject_all"), run('ev_echo:{"message":"x"};say'), exit=1,
         stderr_has=("ev_echo",), stderr_lacks=("Echo: x",)),
    Case("approval lifted by approve", files("approve: [echo, add]", mode="reject_all"),
         run('ev_echo:{"message":"x"}&ev_add:{"a":1,"b":1};say'),
         stdout="Echo: x | The sum of 1 and 1 is 2.\n"),
    Custom("a long-running call cancelled by Ctrl-C", long_running_cancelled),
]

main(CASES)

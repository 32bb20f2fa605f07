"""Attacks on the confined file primitives (src/fs.c): the filesystem toolset and
rt:read_file/rt:write_file on FIFOs, sockets, devices, hard links, paths swapped
for symlinks while they are used, and concurrent writers; an attachment a model
names, swapped for a link after it was checked.

Each case's project is {root}/proj; {root}/outside/secret.txt is beyond it. A
FIFO that blocks shows as the case timing out, not as a hung test run."""
import os, resource, signal, socket, stat, subprocess, sys, tempfile, threading, time
sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, Custom, project, worker, main, mock_provider, write_files, SECRETS

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = open(os.path.join(HERE, "lua", "script_model.lua")).read()
SECRET = "TOP SECRET"
RETRY = "\n\nFix the errors and try again."


def tools(extra=None, toolsets="  - filesystem_project"):
    """A project whose scripted model calls the file tools its prompt lists."""
    files = {"proj/project.lua": project(workers=("main.worker",), lua=("script_model.lua",)),
             "proj/main.worker": worker(model="lua:script", extra="toolsets:\n" + toolsets),
             "proj/script_model.lua": SCRIPT, "proj/a.txt": "alpha", "outside/secret.txt": SECRET}
    files.update(extra or {})
    return files


def entry(body, extra=None):
    """A project whose Lua entry runs body (with rt) and returns its value."""
    lua = "local llmdo = require 'llmdo'\nlocal M = {}\nM.main = llmdo.entry { main = function(_, rt)\n" \
          + body + "\nend }\nreturn M\n"
    files = {"proj/project.lua": project(workers=(), lua=("e.lua",)), "proj/e.lua": lua,
             "proj/a.txt": "alpha", "outside/secret.txt": SECRET}
    files.update(extra or {})
    return files


def err(msg):
    return f"Error: {msg}\n"


# --- special files --------------------------------------------------------------

def fifo(root):
    os.mkfifo(os.path.join(root, "proj", "fifo"))


def sock(root):
    s = socket.socket(socket.AF_UNIX)
    s.bind(os.path.join(root, "proj", "sock"))
    s.close()  # the socket file stays


def hard_link(root):
    os.link(os.path.join(root, "outside", "secret.txt"), os.path.join(root, "proj", "h.txt"))


def secret_intact(root):
    with open(os.path.join(root, "outside", "secret.txt")) as f:
        got = f.read()
    left = os.listdir(os.path.join(root, "outside"))
    problems = [] if got == SECRET else [f"the file outside now holds {got[:40]!r}"]
    return problems + ([] if left == ["secret.txt"] else [f"files appeared outside: {sorted(left)}"])


def no_temp_files(root):
    left = [n for _, _, names in os.walk(os.path.join(root, "proj")) for n in names if n.endswith(".tmp")]
    return [f"temporary files left behind: {left}"] if left else []


def device(root):
    os.mknod(os.path.join(root, "proj", "null"), stat.S_IFCHR | 0o666, os.makedev(1, 3))


IS_ROOT = os.geteuid() == 0


# --- names swapped while they are used ---------------------------------------------

class Swapper:
    """Flips proj/<name> between a regular file and something else (made by
    make(path)) in a thread, from prepare() until after()."""

    def __init__(self, name, make, regular=True):
        self.name, self.make, self.regular = name, make, regular
        self.stop = threading.Event()
        self.flips = 0

    def prepare(self, root):
        self.root = root
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        target = os.path.join(self.root, "proj", self.name)
        alt = target + ".alt"
        while not self.stop.is_set():
            for make in (self.make, self.plain):
                try:
                    make(alt)
                    os.rename(alt, target)
                    self.flips += 1
                except OSError:
                    pass  # a directory in the way: see DirSwapper
            time.sleep(0.0002)  # leave the machine (2 cores, other tests) some room

    def plain(self, path):
        with open(path, "w") as f:
            f.write("inside")

    def after(self, root):
        self.stop.set()
        self.thread.join()
        return secret_intact(root) + no_temp_files(root) + ([] if self.flips else ["nothing was swapped"])


class DirSwapper(Swapper):
    """Flips proj/d between a real directory and a symlink to ../outside."""

    def loop(self):
        d = os.path.join(self.root, "proj", "d")
        real, link = d + ".real", d + ".link"
        os.makedirs(real)
        with open(os.path.join(real, "secret.txt"), "w") as f:
            f.write("inside")
        os.symlink("../outside", link)
        while not self.stop.is_set():
            for a, b in ((real, link), (link, real)):
                try:
                    os.rename(a, d)
                    self.flips += 1
                    os.rename(d, a)
                except OSError:
                    pass
            time.sleep(0.0002)


def symlink_out(path):
    os.symlink("../outside/secret.txt", path)


# rt:read_file in a loop, counting what came back; the secret must never.
READ_LOOP = """
  local seen = {}
  for _ = 1, 400 do
    local ok, s = pcall(rt.read_file, rt, "%s")
    if ok and s == "TOP SECRET" then seen.secret = true end
  end
  return seen.secret and "read the secret" or "never read the secret"
"""
WRITE_LOOP = """
  for _ = 1, 400 do pcall(rt.write_file, rt, "%s", "pwned") end
  return "done"
"""


def swap_read(name, swapper, path):
    return Case(name, entry(READ_LOOP % path), ["run", ".", "x"], cwd="proj", prepare=swapper.prepare,
                after=swapper.after, stdout="never read the secret\n", timeout=60)


def swap_write(name, swapper, path):
    return Case(name, entry(WRITE_LOOP % path), ["run", ".", "x"], cwd="proj", prepare=swapper.prepare,
                after=swapper.after, stdout="done\n", timeout=60)


class HardLinkSwapper(Swapper):
    def __init__(self):
        super().__init__("x", None)
        self.make = lambda path: os.link(os.path.join(self.root, "outside", "secret.txt"), path)


# --- concurrent writers and readers -------------------------------------------------

ATOMIC = """
  local N = 1 << 20
  local A, B = string.rep("a", N), string.rep("b", N)
  rt:write_file("t.txt", A)
  local writing, reads, torn = 2, 0, {}
  local function writer(x)
    return function()
      for _ = 1, 25 do rt:write_file("t.txt", x) end
      writing = writing - 1
    end
  end
  local function reader()
    while writing > 0 do
      local s = rt:read_file("t.txt")
      reads = reads + 1
      if s ~= A and s ~= B then torn[#torn + 1] = #s end
    end
  end
  rt:parallel(writer(A), writer(B), reader, reader)
  if #torn > 0 then return #torn .. " of " .. reads .. " reads torn, sizes " .. table.concat(torn, ",", 1, math.min(#torn, 5)) end
  return "every read whole"
"""


def keep_mode(root):
    os.chmod(os.path.join(root, "proj", "t.txt"), 0o640)


def mode_kept(root):
    mode = stat.S_IMODE(os.stat(os.path.join(root, "proj", "t.txt")).st_mode)
    return ([] if mode == 0o640 else [f"mode {oct(mode)}, want 0o640"]) + no_temp_files(root)


class FailedWrite(Case):
    """A write that fails half-way (the file size limit) leaves the old content
    and no temporary file."""

    def __init__(self):
        super().__init__("a failed write leaves the old file whole and no temporary file", {}, [])

    def run(self, binary):
        with tempfile.TemporaryDirectory(prefix="llmdo-test-") as root:
            for path, content in entry('rt:write_file("t.txt", string.rep("n", 100000))\n  return "written"',
                                       {"proj/t.txt": "old"}).items():
                os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
                with open(os.path.join(root, path), "w") as f:
                    f.write(content)

            def limit():
                resource.setrlimit(resource.RLIMIT_FSIZE, (50000, 50000))
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death

            try:
                p = subprocess.run([binary, "run", ".", "x"], cwd=os.path.join(root, "proj"), capture_output=True,
                                   text=True, timeout=20, preexec_fn=limit, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                return ["timed out"]
            problems = []
            if (p.returncode, p.stderr) != (1, err("Cannot access t.txt (File too large)")):
                problems.append(f"exit {p.returncode}, stderr {p.stderr!r}")
            with open(os.path.join(root, "proj", "t.txt")) as f:
                got = f.read()
            if got != "old":
                problems.append(f"t.txt now holds {len(got)} bytes {got[:12]!r}...")
            return problems + no_temp_files(root)


hl_swap = HardLinkSwapper()

# A worker a model calls with an attachment (reader, on the HTTP mock, so
# the bytes it is sent can be seen); reader's first tool swaps the
# attachment's directory for a link out of the project, and its second
# request sends the history, attachment included, again.
SWAP_LUA = r"""
local llmdo = require "llmdo"
local M = {}
M.main = llmdo.model(function(req)
  local last = req.messages[#req.messages]
  if last.role == "user" then
    return { tool_calls = { { name = "reader", args = { input = "look", attachments = { "docs/x.png" } } } } }
  end
  return { text = last.parts[1].content }
end)
M.swapper = llmdo.toolset { tools = { swap = { approval = "pre_approved", fn = function(_, ctx)
  local r = ctx.project_root
  assert(os.rename(r .. "/docs", r .. "/docs_old"))
  llmdo.exec { argv = { "ln", "-s", r .. "/../outside", r .. "/docs" } }
  return "swapped"
end } } }
return M
"""


def swap_after_check(binary):
    import base64
    with tempfile.TemporaryDirectory(prefix="llmdo-attack-") as root:
        write_files(root, {
            "proj/project.lua": project(workers=("main.worker", "reader.worker"), lua=("m.lua",)),
            "proj/main.worker": worker(model="lua:main", extra="toolsets: [reader]"),
            "proj/reader.worker": worker(name="reader", model="anthropic:claude-test", entry=False,
                                         extra="toolsets: [swapper]"),
            "proj/m.lua": SWAP_LUA,
            "proj/docs/x.png": b"\x89PNG inside the project",
            "outside/x.png": b"\x89PNG " + SECRET.encode()})
        mock = mock_provider()
        mock.reset([{"tool_calls": [{"name": "swap", "args": {}, "id": "t1"}]}, {"text": "seen"}])
        env = dict(os.environ, ANTHROPIC_BASE_URL=mock.url, **SECRETS)
        p = subprocess.run([binary, "run", "proj", "go", "--no-log"], cwd=root, env=env, capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL, start_new_session=True)
        problems = [] if p.returncode == 0 and p.stdout == "seen\n" else [f"exit {p.returncode}: {p.stderr!r}"]
        inside = base64.b64encode(b"\x89PNG inside the project").decode()
        outside = base64.b64encode(b"\x89PNG " + SECRET.encode()).decode()
        raws = [r["raw"].decode() if isinstance(r["raw"], bytes) else r["raw"] for r in mock.requests]
        if len(raws) != 2 or not all(inside in r for r in raws):
            problems.append(f"{len(raws)} requests; each should carry the bytes checked at the start")
        if any(outside in r for r in raws):
            problems.append("a later turn sent the file from outside the project")
        return problems


CASES = [
    Custom("attachments: a link swapped in after the check cannot leak a file", swap_after_check),
    # FIFOs, sockets and devices: refused without blocking, as not regular files
    Case("read_file on a FIFO", tools(), ["run", ".", 'read_file:{"path":"fifo"};say'], cwd="proj",
         prepare=fifo, stdout="E:Not a regular file: fifo (a FIFO)" + RETRY + "\n"),
    Case("write_file on a FIFO", tools(), ["run", ".", 'write_file:{"path":"fifo","content":"x"};say'],
         cwd="proj", prepare=fifo, stdout="E:Not a regular file: fifo (a FIFO)" + RETRY + "\n"),
    Case("read_file on a socket", tools(), ["run", ".", 'read_file:{"path":"sock"};say'], cwd="proj",
         prepare=sock, stdout="E:Not a regular file: sock (a socket)" + RETRY + "\n"),
    Case("write_file on a socket", tools(), ["run", ".", 'write_file:{"path":"sock","content":"x"};say'],
         cwd="proj", prepare=sock, stdout="E:Not a regular file: sock (a socket)" + RETRY + "\n"),
    Case("read_file and write_file on a device", tools(toolsets="  - dev: {toolset: filesystem, base_path: /dev}"),
         ["run", ".", 'dev_read_file:{"path":"null"};dev_write_file:{"path":"null","content":"x"};say'], cwd="proj",
         stdout="E:Not a regular file: null (a character device)" + RETRY + " | "
                "E:Not a regular file: null (a character device)" + RETRY + "\n"),
    Case("rt:read_file on a FIFO", entry('return rt:read_file("fifo")'), ["run", ".", "x"], cwd="proj", prepare=fifo,
         exit=1, stderr=err("Cannot access fifo (not a regular file: a FIFO)")),
    Case("rt:write_file on a FIFO", entry('rt:write_file("fifo", "x")'), ["run", ".", "x"], cwd="proj", prepare=fifo,
         exit=1, stderr=err("Cannot access fifo (not a regular file: a FIFO)")),
    # a hard link inside the base to a file outside it
    Case("read_file on a hard link to a file outside", tools(), ["run", ".", 'read_file:{"path":"h.txt"};say'],
         cwd="proj", prepare=hard_link, exit=1, stderr=err("Refused: hard-linked file (link count 2): h.txt")),
    Case("write_file on a hard link to a file outside", tools(),
         ["run", ".", 'write_file:{"path":"h.txt","content":"pwned"};say'], cwd="proj", prepare=hard_link,
         exit=1, stderr=err("Refused: hard-linked file (link count 2): h.txt"), after=secret_intact),
    Case("rt:read_file on a hard link", entry('return rt:read_file("h.txt")'), ["run", ".", "x"], cwd="proj",
         prepare=hard_link, exit=1, stderr=err("Cannot access h.txt (refused: hard-linked file, link count 2)")),
    # a write through a symlink inside the base replaces the file it names, not the link
    Case("write_file through a symlink inside the base", tools({"proj/sub/b.txt": "old"}),
         ["run", ".", 'write_file:{"path":"link/b.txt","content":"new"};read_file:{"path":"sub/b.txt"};say'],
         cwd="proj", prepare=lambda root: os.symlink("sub", os.path.join(root, "proj", "link")),
         stdout='Written 3 characters to link/b.txt | '
                '{"chars_read":3,"content":"new","offset":0,"total_chars":3,"truncated":false}\n',
         after=lambda root: [] if os.path.islink(os.path.join(root, "proj", "link")) else ["the link was replaced"]),
    # names swapped while in use: never a byte of the secret, never a write outside, never a hang
    swap_read("read while the file flips to a symlink out", Swapper("x", symlink_out), "x"),
    swap_read("read while the file flips to a hard link out", hl_swap, "x"),
    swap_read("read while the file flips to a FIFO", Swapper("x", os.mkfifo), "x"),
    swap_read("read while a directory flips to a symlink out", DirSwapper("d", None), "d/secret.txt"),
    swap_write("write while the file flips to a symlink out", Swapper("x", symlink_out), "x"),
    swap_write("write while a directory flips to a symlink out", DirSwapper("d", None), "d/secret.txt"),
    swap_write("write while the file flips to a FIFO", Swapper("x", os.mkfifo), "x"),
    # atomic writes
    Case("concurrent writers: readers see the old content or the new, whole; the mode is kept",
         entry(ATOMIC, {"proj/t.txt": "start"}), ["run", ".", "x"], cwd="proj", prepare=keep_mode, after=mode_kept,
         stdout="every read whole\n", timeout=120),
    FailedWrite(),
]
if IS_ROOT:  # only root can make a device node inside the project
    CASES.append(Case("rt:read_file on a device", entry('return rt:read_file("null")'), ["run", ".", "x"], cwd="proj",
                      prepare=device, exit=1, stderr=err("Cannot access null (not a regular file: a character device)")))
else:
    print("note: not root, so rt:read_file on a device node inside the project is not tried")

main(CASES)

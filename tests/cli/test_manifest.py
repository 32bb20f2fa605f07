"""project.lua: locating, evaluating and validating (features.md §1)."""
import sys, os, subprocess, tempfile
sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, basic, project, worker, main

RUN = ["run", ".", "hi"]

def err(msg):
    return f"Error: {msg}\n"

class Unreadable(Case):
    """A project directory the user may not search: permission denied, not "not found".
    Root reads through permission bits, so as root the run is made as nobody."""

    def __init__(self):
        super().__init__("an unreadable project directory is permission denied", {}, [])

    def run(self, binary):
        with tempfile.TemporaryDirectory(prefix="llmdo-test-") as root:
            root = os.path.realpath(root)
            os.chmod(root, 0o755)
            os.makedirs(os.path.join(root, "proj"))
            with open(os.path.join(root, "proj", "project.lua"), "w") as f:
                f.write(basic()["project.lua"])
            os.chmod(os.path.join(root, "proj"), 0o600)
            as_user = {"user": 65534} if os.geteuid() == 0 else {}
            try:
                p = subprocess.run([binary, "run", "proj", "hi"], cwd=root, capture_output=True, text=True,
                                   timeout=20, stdin=subprocess.DEVNULL, **as_user)
            except PermissionError:  # nobody cannot run the binary where it was built
                print("note: running as root, and nobody cannot run the binary: permission case not tried")
                return []
            finally:
                os.chmod(os.path.join(root, "proj"), 0o700)
            want = err(f"Cannot access project file {root}/proj/project.lua: Permission denied")
            return [] if (p.returncode, p.stderr) == (2, want) else [f"exit {p.returncode}: {p.stderr!r}, want {want!r}"]


CASES = [
    Unreadable(),
    Case("a project path in a symlink loop is not 'not found'", {}, ["run", "loop", "hi"], exit=2,
         prepare=lambda root: os.symlink("loop", os.path.join(root, "loop")),
         stderr=err("Cannot access {root}/loop: Too many levels of symbolic links")),
    Case("project.lua a directory", {"project.lua/x": ""}, RUN, exit=2,
         stderr=err("Project file is a directory: {root}/project.lua")),
    Case("project.lua a FIFO", {}, RUN, exit=2, prepare=lambda root: os.mkfifo(os.path.join(root, "project.lua")),
         stderr=err("Project file is not a regular file: {root}/project.lua")),
    Case("a listed worker that is a directory", basic(**{"project.lua": project(workers=("w",)), "w/x": ""}), RUN,
         exit=2, stderr=err("project.lua: Worker file is a directory: {root}/w")),
    Case("directory with project.lua runs", basic(), RUN, stdout="echo: hi\n"),
    Case("project.lua path runs", basic(), ["run", "project.lua", "hi"], stdout="echo: hi\n"),
    Case("directory without project.lua", {"x.txt": ""}, RUN, exit=2,
         stderr=err("Project file not found: {root}/project.lua")),
    Case("missing project file", {}, ["run", "nope.lua", "hi"], exit=2,
         stderr=err("Project file not found: {root}/nope.lua")),
    Case("not a project file", {"notes.txt": "x"}, ["run", "notes.txt", "hi"], exit=2,
         stderr=err("Not a project: notes.txt (expected a project.lua, a directory holding one, or a .worker file)")),
    Case("syntax error names the file and line", basic(**{"project.lua": "return {\n workers = \n"}), RUN, exit=2,
         stderr_re=r"^Error: project\.lua:3: unexpected symbol near <eof>\n$"),
    Case("runtime error in project.lua", basic(**{"project.lua": "error('boom')\n"}), RUN, exit=2,
         stderr=err("project.lua:1: boom")),
    Case("must return a table", basic(**{"project.lua": "return 42\n"}), RUN, exit=2,
         stderr=err("project.lua: must return a table (got an integer)")),
    Case("unknown top-level key", basic(**{"project.lua": project(rest="worker_files = {}")}), RUN, exit=2,
         stderr=err("project.lua: worker_files: unknown key")),
    Case("unknown runtime key", basic(**{"project.lua": project(rest="runtime = { max_depht = 3 }")}), RUN,
         exit=2, stderr=err("project.lua: runtime.max_depht: unknown key; did you mean 'max_depth'?")),
    Case("runtime.model is rejected", basic(**{"project.lua": project(rest="runtime = { model = 'x' }")}), RUN,
         exit=2, stderr=err("project.lua: runtime.model: unknown key")),
    Case("unknown entry key", basic(**{"project.lua": project(rest="entry = { name = 'x' }")}), RUN,
         exit=2, stderr=err("project.lua: entry.name: unknown key")),
    Case("unknown override key",
         basic(**{"project.lua": project(rest="runtime = { worker_approval_overrides = { main = { bogus = true } } }")}),
         RUN, exit=2, stderr=err("project.lua: runtime.worker_approval_overrides.main.bogus: unknown key")),
    Case("wrong type: max_depth string", basic(**{"project.lua": project(rest="runtime = { max_depth = 'five' }")}),
         RUN, exit=2, stderr=err("project.lua: runtime.max_depth: expected an integer from 1 to 1000, got a string")),
    Case("max_depth minimum", basic(**{"project.lua": project(rest="runtime = { max_depth = 0 }")}),
         RUN, exit=2, stderr=err("project.lua: runtime.max_depth: expected an integer from 1 to 1000, got 0")),
    Case("invalid approval mode", basic(**{"project.lua": project(rest="runtime = { approval_mode = 'yolo' }")}),
         RUN, exit=2,
         stderr=err('project.lua: runtime.approval_mode: expected one of "prompt", "approve_all", "reject_all", got "yolo"')),
    Case("valid approval modes and flags",
         basic(**{"project.lua": project(rest="runtime = { approval_mode = 'reject_all', max_depth = 2, "
                  "return_permission_errors = true, worker_calls_require_approval = true, "
                  "worker_attachments_require_approval = false, worker_approval_overrides = "
                  "{ main = { calls_require_approval = false } } }")}),
         RUN, stdout="echo: hi\n"),
    Case("boolean field with wrong type",
         basic(**{"project.lua": project(rest="runtime = { return_permission_errors = 'yes' }")}), RUN, exit=2,
         stderr=err("project.lua: runtime.return_permission_errors: expected a boolean, got a string")),
    Case("allow_cli_input type", basic(**{"project.lua": project(rest="entry = { allow_cli_input = 1 }")}), RUN,
         exit=2, stderr=err("project.lua: entry.allow_cli_input: expected a boolean, got an integer")),
    Case("version 1 accepted", basic(**{"project.lua": project(rest="version = 1")}), RUN, stdout="echo: hi\n"),
    Case("unsupported version", basic(**{"project.lua": project(rest="version = 2")}), RUN, exit=2,
         stderr=err("project.lua: Unsupported project version: 2. Only version 1 is supported.")),
    Case("at least one file", basic(**{"project.lua": "return { workers = {}, lua = {} }\n"}), RUN, exit=2,
         stderr=err("project.lua: At least one workers or lua entry is required")),
    Case("no files at all", basic(**{"project.lua": "return {}\n"}), RUN, exit=2,
         stderr=err("project.lua: At least one workers or lua entry is required")),
    Case("empty path string", basic(**{"project.lua": project(workers=("",))}), RUN, exit=2,
         stderr=err("project.lua: workers[1]: expected a non-empty string, got a string")),
    Case("path must be a string", basic(**{"project.lua": "return { workers = { 42 } }\n"}), RUN, exit=2,
         stderr=err("project.lua: workers[1]: expected a non-empty string, got an integer")),
    Case("workers must be a list", basic(**{"project.lua": "return { workers = 'main.worker' }\n"}), RUN, exit=2,
         stderr=err("project.lua: workers: expected a list, got a string")),
    Case("duplicate file paths",
         basic(**{"project.lua": project(workers=("main.worker", "main.worker"))}), RUN, exit=2,
         stderr=err("project.lua: workers: Duplicate file paths: ['main.worker']")),
    Case("missing worker file", basic(**{"project.lua": project(workers=("gone.worker",))}), RUN, exit=2,
         stderr=err("project.lua: Worker file not found: gone.worker (resolved: {root}/gone.worker)")),
    Case("missing lua file", basic(**{"project.lua": project(lua=("gone.lua",))}), RUN, exit=2,
         stderr=err("project.lua: Lua file not found: gone.lua (resolved: {root}/gone.lua)")),
    Case("paths relative to project.lua, ../ allowed",
         {"proj/project.lua": project(workers=("../shared/main.worker",), lua=("../shared/hello.lua",)),
          "shared/main.worker": worker(), "shared/hello.lua": basic()["hello.lua"]},
         ["run", "proj", "hi"], stdout="echo: hi\n"),
    Case("providers validated",
         basic(**{"project.lua": project(rest="providers = { lab = { api = 'grpc', base_url = 'http://x' } }")}),
         RUN, exit=2,
         stderr=err('project.lua: providers.lab.api: expected one of "openai", "anthropic", got "grpc"')),
    Case("provider needs base_url",
         basic(**{"project.lua": project(rest="providers = { lab = { api = 'openai' } }")}), RUN, exit=2,
         stderr=err("project.lua: providers.lab.base_url: is required")),
    Case("provider cannot shadow a built-in",
         basic(**{"project.lua": project(rest="providers = { openai = { api = 'openai', base_url = 'http://x' } }")}),
         RUN, exit=2, stderr=err("project.lua: providers.openai: conflicts with the built-in provider 'openai'")),
    Case("project.lua may require llmdo",
         basic(**{"project.lua": "local llmdo = require 'llmdo'\nassert(llmdo.version)\n" + project()}), RUN,
         stdout="echo: hi\n"),
]

main(CASES)

"""The built-in filesystem and shell toolsets through the whole run: the gate, events, named instances."""
import os, signal, subprocess, sys, tempfile
sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, project, running, wait_until, worker, main, write_files

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = open(os.path.join(HERE, "lua", "script_model.lua")).read()

def proj(toolsets, rest="runtime = { approval_mode = 'approve_all' }", extra_files=None):
    files = {"project.lua": project(workers=("main.worker",), lua=("script_model.lua",), rest=rest),
             "main.worker": worker(model="lua:script", extra="toolsets:\n" + toolsets),
             "script_model.lua": SCRIPT, "notes/a.txt": "alpha", "src/s.txt": "from src", "docs/d.txt": "from docs"}
    files.update(extra_files or {})
    return files

def err(msg):
    return f"Error: {msg}\n"

def check_interrupt_kills(binary):
    with tempfile.TemporaryDirectory(prefix="llmdo-sh-") as root:
        files = proj("  - sh: {toolset: shell, rules: [{pattern: sleep, approval_required: false}]}")
        write_files(root, files)
        p = subprocess.Popen([binary, "run", ".", 'sh_shell:{"command":"sleep 41.75","timeout":60};say'], cwd=root,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        # No fixed delays (the machine may be busy): Ctrl-C once the command
        # runs; it would run for 41.75 s, so each wait below gives up well before.
        if not wait_until(lambda: running("^sleep 41[.]75$")):
            p.kill()
            return ["the command never started"]
        p.send_signal(signal.SIGINT)
        try:
            _, e = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            subprocess.run(["pkill", "-f", "^sleep 41[.]75$"])
            return ["did not stop"]
        problems = [] if p.returncode == 130 else [f"exit {p.returncode}: {e!r}"]
        if not wait_until(lambda: not running("^sleep 41[.]75$")):
            problems.append("the subprocess survived Ctrl-C")
            subprocess.run(["pkill", "-f", "^sleep 41[.]75$"])
        return problems

class Interrupt(Case):
    def __init__(self):
        super().__init__("Ctrl-C kills a running command's process group", {}, [])
    def run(self, binary):
        return check_interrupt_kills(binary)

CASES = [
    Case("filesystem_project: read, write, list", proj("  - filesystem_project"),
         ["run", ".", 'read_file:{"path":"notes/a.txt"};write_file:{"path":"out/b.txt","content":"beta"};'
                      'list_files:{"path":"out"};say'],
         stdout='{"chars_read":5,"content":"alpha","offset":0,"total_chars":5,"truncated":false} | '
                'Written 4 characters to out/b.txt | ["b.txt"]\n'),
    Case("write_file needs approval", proj("  - filesystem_project", rest="runtime = { approval_mode = 'reject_all' }"),
         ["run", ".", 'read_file:{"path":"notes/a.txt"};write_file:{"path":"b.txt","content":"beta"};say'], exit=1,
         stderr=err("Approval denied for write_file: --reject-all")),
    Case("an escape is a permission error", proj("  - filesystem_project"),
         ["run", ".", 'read_file:{"path":"../../etc/passwd"};say'], exit=1,
         stderr=err("Path escapes base directory: ../../etc/passwd")),
    Case("an escape goes back to the model with return_permission_errors",
         proj("  - filesystem_project", rest="runtime = { approval_mode = 'approve_all', return_permission_errors = true }"),
         ["run", ".", 'read_file:{"path":"/etc/passwd"};say'],
         stdout='{"error":"Path escapes base directory: /etc/passwd","error_type":"permission",'
                '"tool_name":"read_file"}\n'),
    Case("a missing file is a retry prompt", proj("  - filesystem_project"),
         ["run", ".", 'read_file:{"path":"nope.txt"};say'],
         stdout="E:File not found: nope.txt\n\nFix the errors and try again.\n"),
    Case("read-only: write_file is not offered, and blocked if called", proj("  - filesystem_project_ro"),
         ["run", ".", 'write_file:{"path":"x.txt","content":"x"};say'], exit=1,
         stderr=err("Blocked write_file: write_file is disabled for read-only filesystem")),
    Case("named instances: src_read_file and docs_read_file",
         proj("  - src: {toolset: filesystem, base_path: ./src}\n  - docs: {toolset: filesystem, base_path: ./docs, "
              "read_only: true}"),
         ["run", ".", 'src_read_file:{"path":"s.txt"}&docs_read_file:{"path":"d.txt"};say'],
         stdout='{"chars_read":8,"content":"from src","offset":0,"total_chars":8,"truncated":false} | '
                '{"chars_read":9,"content":"from docs","offset":0,"total_chars":9,"truncated":false}\n'),
    Case("named instances are confined to their own base",
         proj("  - src: {toolset: filesystem, base_path: ./src}"),
         ["run", ".", 'src_read_file:{"path":"../docs/d.txt"};say'], exit=1,
         stderr=err("Path escapes base directory: ../docs/d.txt")),
    Case("a bad filesystem option fails at link time", proj("  - src: {toolset: filesystem, bas_path: ./src}"),
         ["check", "."], exit=2,
         stderr=err("main.worker: toolset 'src' (filesystem): unknown option 'bas_path' (options: base_path, "
                    "read_only, read_approval, write_approval)")),
    Case("a missing base directory", proj("  - src: {toolset: filesystem, base_path: ./nowhere}"),
         ["run", ".", "say"], exit=1, stderr_re=r"^Error: filesystem base directory not found: .*/nowhere\n$"),
    Case("filesystem_cwd: the working directory at link time", proj("  - filesystem_cwd_ro"),
         ["run", "..", 'list_files:{};say'], cwd="notes", stdout='["a.txt"]\n'),
    Case("shell_readonly: ls runs in the project root", proj("  - shell_readonly"),
         ["run", ".", 'shell:{"command":"ls notes"};say'],
         stdout='{"exit_code":0,"stderr":"","stdout":"a.txt\\n","truncated":false}\n'),
    Case("shell_readonly: rm is blocked", proj("  - shell_readonly"), ["run", ".", 'shell:{"command":"rm notes/a.txt"};say'],
         exit=1, stderr=err("Blocked shell: Command not in whitelist: rm notes/a.txt")),
    Case("shell: metacharacters are blocked even under approve_all", proj("  - shell_readonly"),
         ["run", ".", 'shell:{"command":"cat notes/a.txt | sh"};say', "--approve-all"], exit=1,
         stderr=err("Blocked shell: Command contains blocked metacharacter '|'.")),
    Case("shell_file_ops: mv needs approval", proj("  - shell_file_ops", rest="runtime = { approval_mode = 'reject_all' }"),
         ["run", ".", 'shell:{"command":"mv notes/a.txt notes/b.txt"};say'], exit=1,
         stderr=err("Approval denied for shell: --reject-all")),
    Case("a configured shell with a default", proj("  - sh: {toolset: shell, default: {approval_required: false}}"),
         ["run", ".", 'sh_shell:{"command":"echo made it"};say'],
         stdout='{"exit_code":0,"stderr":"","stdout":"made it\\n","truncated":false}\n'),
    Case("a bad shell option fails at link time", proj("  - sh: {toolset: shell, rulez: []}"), ["check", "."],
         exit=2, stderr=err("main.worker: toolset 'sh' (shell): unknown option 'rulez' (options: rules, default, "
                                 "env_allow, cwd)")),
    Interrupt(),
]

main(CASES)

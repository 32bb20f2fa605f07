"""The shell toolset's attack list through the whole run: read-only presets that stay read-only, and keys
that no command can reach (not in its environment, not in /proc/<llmdo>/environ)."""
import os, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, project, worker, main, write_files

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = open(os.path.join(HERE, "lua", "script_model.lua")).read()
KEYS = {"OPENAI_API_KEY": "sk-proc-leak-1", "AWS_SECRET_ACCESS_KEY": "sk-proc-leak-2",
        "DATABASE_URL": "postgres://u:sk-proc-leak-3@db/x"}


def proj(toolsets):
    return {"project.lua": project(workers=("main.worker",), lua=("script_model.lua",)),
            "main.worker": worker(model="lua:script", extra="toolsets:\n" + toolsets),
            "script_model.lua": SCRIPT, "a.txt": "b\na\na\n"}


def err(msg):
    return f"Error: {msg}\n"


def blocked(prog, what):
    return err(f"Blocked shell: {prog}: {what} is not allowed by the read-only rules")


class NoFile(Case):
    """A blocked command, and the file it would have written is not there (in a git repository)."""
    def __init__(self, name, command, stderr, written):
        super().__init__(name, proj("  - shell_readonly"), ["run", ".", f'shell:{{"command":"{command}"}};say'],
                         exit=1, stderr=stderr)
        self.written = written

    def run(self, binary):
        with tempfile.TemporaryDirectory(prefix="llmdo-attack-") as root:
            write_files(root, self.files)
            git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
            for step in (["init", "-q"], ["add", "a.txt"], ["commit", "-q", "-m", "a"]):
                subprocess.run(git + step, cwd=root, check=True)
            p = subprocess.run([binary] + self.args, cwd=root, capture_output=True, text=True,
                               stdin=subprocess.DEVNULL, start_new_session=True, timeout=20)
            problems = [] if p.returncode == self.exit else [f"exit {p.returncode}: {p.stderr!r}"]
            if p.stderr != self.stderr:
                problems.append(f"stderr {p.stderr!r}, want {self.stderr!r}")
            if os.path.exists(os.path.join(root, self.written)):
                problems.append(f"{self.written} was written")
            return problems


class ParentEnviron(Case):
    """A command reads /proc/<llmdo's pid>/environ. llmdo runs as an ordinary user (as root, one is made
    with setpriv): the process is not dumpable, so the kernel refuses."""
    def __init__(self):
        super().__init__("a child cannot open /proc/<llmdo>/environ", {}, [])

    def run(self, binary):
        files = proj("  - sh: {toolset: shell, rules: [{pattern: sh, approval_required: false}]}")
        with tempfile.TemporaryDirectory(prefix="llmdo-attack-") as root:
            write_files(root, files)
            cmd = [binary, "run", ".", """sh_shell:{"command":"sh -c 'cat /proc/$PPID/environ'"};say"""]
            if os.geteuid() == 0:  # root may read any process's environ: run as nobody
                setpriv = shutil.which("setpriv")
                if not setpriv:
                    return ["running as root needs setpriv (util-linux) to run llmdo as an ordinary user"]
                os.chmod(root, 0o755)
                cmd = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"] + cmd
            env = dict(os.environ, HOME=root, **KEYS)
            p = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True,
                               stdin=subprocess.DEVNULL, start_new_session=True, timeout=20)
            problems = [] if p.returncode == 0 else [f"exit {p.returncode}: {p.stderr!r}"]
            for v in KEYS.values():
                if v in p.stdout or v in p.stderr:
                    problems.append(f"the key {v} was read back")
            if "Permission denied" not in p.stdout:
                problems.append(f"the kernel did not refuse: {p.stdout!r}")
            return problems


CASES = [
    NoFile("git log --output writes no file", "git log --output=pwned.txt",
           blocked("git log", "option '--output'"), "pwned.txt"),
    NoFile("sort -o writes no file", "sort -o pwned.txt a.txt", blocked("sort", "option '-o'"), "pwned.txt"),
    NoFile("sort's abbreviated --output writes no file", "sort --out=pwned.txt a.txt",
           blocked("sort", "option '--out'"), "pwned.txt"),
    NoFile("uniq's output operand writes no file", "uniq a.txt pwned.txt",
           blocked("uniq", "an output file (a second operand)"), "pwned.txt"),
    NoFile("find -fprint writes no file", "find . -fprint pwned.txt", blocked("find", "'-fprint'"), "pwned.txt"),
    NoFile("sort --compress-program runs nothing", "sort --compress-program=touch a.txt",
           blocked("sort", "option '--compress-program'"), "pwned.txt"),
    Case("shell_readonly: uniq with one operand runs", proj("  - shell_readonly"),
         ["run", ".", 'shell:{"command":"uniq -c a.txt"};say'],
         stdout='{"exit_code":0,"stderr":"","stdout":"      1 b\\n      2 a\\n","truncated":false}\n'),
    Case("shell_readonly's rules cannot be replaced",
         proj("  - sh: {toolset: shell_readonly, rules: [{pattern: rm, approval_required: false}]}"), ["check", "."],
         exit=2, stderr=err("main.worker: toolset 'sh' (shell_readonly): 'rules' cannot be set: the rules of "
                            "shell_readonly are fixed (configure the shell toolset for rules of your own)")),
    Case("read_only needs a program with argument rules",
         proj("  - sh: {toolset: shell, rules: [{pattern: make, read_only: true}]}"), ["check", "."], exit=2,
         stderr_re=r"^Error: main\.worker: toolset 'sh' \(shell\): rules\[1\]\.read_only: no read-only argument "
                   r"rules for 'make' \(there are: cat, find, .*\)\n$"),
    Case("env_allow names a variable", proj("  - sh: {toolset: shell, env_allow: [\"A=B\"]}"), ["check", "."],
         exit=2, stderr=err("main.worker: toolset 'sh' (shell): env_allow[1]: 'A=B' is not a variable name")),
    Case("a command gets the safe variables and env_allow's, nothing else",
         proj("  - sh: {toolset: shell, rules: [{pattern: env, approval_required: false}], "
              "env_allow: [MY_SETTING]}"),
         ["run", ".", 'sh_shell:{"command":"env"};say'], env=dict(KEYS, MY_SETTING="on", LANG="C.UTF-8"),
         stdout_has=("MY_SETTING=on", "LANG=C.UTF-8", "PATH="),
         stdout_re=r"(?s)^(?!.*(sk-proc-leak|AWS_SECRET_ACCESS_KEY|DATABASE_URL))"),
    ParentEnviron(),
]

main(CASES)

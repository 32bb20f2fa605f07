-- The built-in toolsets' semantics (features.md §7.2-7.3) and their attack
-- lists, calling the toolsets the way a worker call builds them.
local here = arg[0]:match("^(.*)/") or "."
local T = dofile(here .. "/t.lua")
local json = require "llmdo.core.json"
local E = require "llmdo.core.error"
local sys = require "llmdo.core.sys"
local task = require "llmdo.core.task"
local fs = require("llmdo.toolsets.filesystem").spec
local shell_mod = require "llmdo.toolsets.shell"
local shell = shell_mod.spec

-- A scratch project: root/base holds the files; root/outside is beyond it.
local root = os.tmpname()
os.remove(root)
assert(os.execute("mkdir -p " .. root .. "/base/sub/deep " .. root .. "/outside"))
local function write(path, text)
  local f = assert(io.open(root .. "/" .. path, "wb"))
  f:write(text)
  f:close()
end
write("base/a.txt", "hello world")
write("base/sub/b.md", "# title\n")
write("base/sub/deep/c.txt", "deep")
write("base/.hidden", "dot")
write("base/utf.txt", "héllo wörld ✓")
write("base/bin.dat", "\0\1\2binary")
write("outside/secret.txt", "TOP SECRET")
assert(os.execute("ln -s " .. root .. "/outside/secret.txt " .. root .. "/base/link_out"))
assert(os.execute("ln -s " .. root .. "/outside " .. root .. "/base/dir_out"))
assert(os.execute("ln -s a.txt " .. root .. "/base/link_in"))

local function tools_of(spec, config)
  return spec.factory({ config = config, project_root = root, cwd = root, worker = "t", depth = 1 }).tools
end

-- Calls a tool's fn: res() returns its result (failing the test on an
-- error); failure() returns the error's message and kind (nil if it worked).
local function res(tool, args)
  local ok, r = pcall(tool.fn, args, {})
  if not ok then error("unexpected error: " .. tostring(E.is(r) and r.message or r), 2) end
  return r
end

local function failure(tool, args)
  local ok, r = pcall(tool.fn, args, {})
  if ok then return nil end
  if E.is(r) then return r.message, r.kind end
  return tostring(r), "error"
end

local fsw = tools_of(fs, { base_path = "base" })

-- read_file
local r = res(fsw.read_file, { path = "a.txt" })
T.eq(r.content, "hello world", "content")
T.eq(r.total_chars, 11, "total_chars")
T.eq(r.truncated, false, "not truncated")
T.eq(r.chars_read, 11, "chars_read")
r = res(fsw.read_file, { path = "a.txt", max_chars = 5 })
T.eq(r.content, "hello", "max_chars")
T.eq(r.truncated, true, "truncated")
T.eq(r.chars_read, 5, "chars_read when cut")
r = res(fsw.read_file, { path = "a.txt", offset = 6, max_chars = 3 })
T.eq(r.content, "wor", "offset")
T.eq(r.offset, 6, "offset echoed")
T.eq(r.truncated, true, "offset + max_chars")
r = res(fsw.read_file, { path = "a.txt", offset = 50 })
T.eq(r.content, "", "offset past the end")
T.eq(r.truncated, false, "past the end: not truncated")
r = res(fsw.read_file, { path = "utf.txt", offset = 1, max_chars = 4 })
T.eq(r.content, "éllo", "characters, not bytes")
T.eq(r.total_chars, 13, "total characters of UTF-8 text")
r = res(fsw.read_file, { path = "sub/../sub/b.md" })
T.eq(r.content, "# title\n", "a .. that stays inside")
r = res(fsw.read_file, { path = "link_in" })
T.eq(r.content, "hello world", "a symlink that stays inside")
local msg, kind
msg, kind = failure(fsw.read_file, { path = "nope.txt" })
T.eq(msg, "File not found: nope.txt", "missing file")
T.eq(kind, "retry", "missing file is a retry prompt")
msg = failure(fsw.read_file, { path = "sub" })
T.eq(msg, "Not a file: sub", "a directory")
msg = failure(fsw.read_file, { path = "bin.dat" })
T.eq(msg, "Not a UTF-8 text file: bin.dat (pass binary files as attachments instead)", "binary")

-- write_file: creates parent directories, overwrites, counts characters
r = res(fsw.write_file, { path = "new/dir/x.txt", content = "über" })
T.eq(r, "Written 4 characters to new/dir/x.txt", "write")
r = res(fsw.read_file, { path = "new/dir/x.txt" })
T.eq(r.content, "über", "written content")
res(fsw.write_file, { path = "new/dir/x.txt", content = "second" })
r = res(fsw.read_file, { path = "new/dir/x.txt" })
T.eq(r.content, "second", "overwritten")
msg = failure(fsw.write_file, { path = "sub", content = "x" })
T.eq(msg, "Not a file: sub", "writing over a directory")
msg = failure(fsw.write_file, { path = "a.txt/x", content = "x" })
T.ok(msg ~= nil, "a file as a parent directory")

-- list_files
r = res(fsw.list_files, {})
T.eq(table.concat(r, ","), ".hidden,a.txt,bin.dat,new/dir/x.txt,sub/b.md,sub/deep/c.txt,utf.txt",
  "every file, dotfiles too, no symlinks")
r = res(fsw.list_files, { pattern = "*.txt" })
T.eq(table.concat(r, ","), "a.txt,utf.txt", "top level only")
r = res(fsw.list_files, { path = "sub", pattern = "**/*.txt" })
T.eq(table.concat(r, ","), "deep/c.txt", "relative to the listed directory")
r = res(fsw.list_files, { path = "missing" })
T.eq(json.encode(r), "[]", "a missing directory lists nothing")

-- the attack list: every one is refused as a permission error
local attacks = {
  root .. "/outside/secret.txt", "/etc/passwd", "../outside/secret.txt", "sub/../../outside/secret.txt",
  "sub/deep/../../../outside/secret.txt", "link_out", "dir_out/secret.txt", "a.txt\0.png", "..",
  "/" .. string.rep("a/", 3000) .. "x",
}
for _, path in ipairs(attacks) do
  for _, tool in ipairs { "read_file", "write_file", "list_files" } do
    msg, kind = failure(fsw[tool], { path = path, content = "pwned" })
    local want = "Path escapes base directory: " .. path:gsub("%z", "\\x00")
    T.ok(kind == "permission" and msg == want,
      tool .. " refuses " .. path:sub(1, 40) .. ": " .. tostring(msg))
  end
end
local f = assert(io.open(root .. "/outside/secret.txt"))
T.eq(f:read("a"), "TOP SECRET", "nothing outside was written")
f:close()

-- an overlong path or name says so (the model can shorten it), and names the limit
local long = string.rep("a/", 3000) .. "x"
for _, tool in ipairs { "read_file", "write_file", "list_files" } do
  msg, kind = failure(fsw[tool], { path = long, content = "x" })
  T.eq(kind .. ": " .. tostring(msg), "retry: Path too long: " .. long:sub(1, 60)
    .. "... (the path is 6001 bytes; the limit is 4095)", tool .. ": an overlong path")
  msg = failure(fsw[tool], { path = "sub/x" .. string.rep("é", 200), content = "x" })
  T.eq(msg, "Path too long: sub/x" .. string.rep("é", 27) .. "... (a name in the path is longer than 255 bytes)",
    tool .. ": an overlong name, cut between characters")
end

-- approvals and descriptions of the built-in configurations
local function decision(tool, args) return tool.approval(args) end
T.eq(decision(fsw.read_file, { path = "a" }), "pre_approved", "reads are pre-approved")
T.eq(decision(fsw.write_file, { path = "a", content = "x" }), "required", "writes need approval")
local fsa = tools_of(fs, { base_path = "base", read_approval = true, write_approval = false })
T.eq(decision(fsa.read_file, { path = "a" }), "required", "read_approval")
T.eq(decision(fsa.list_files, {}), "required", "read_approval covers list_files")
T.eq(decision(fsa.write_file, { path = "a", content = "x" }), "pre_approved", "write_approval = false")
T.eq(fsw.read_file.describe({ path = "a.txt" }), "Read from a.txt", "read description")
T.eq(fsw.write_file.describe({ path = "a.txt", content = "héllo" }), "Write 5 chars to a.txt", "write description")
T.eq(fsw.list_files.describe({ path = "d", pattern = "*.md" }), "List files matching *.md in d", "list description")

local ro = tools_of(fs, { base_path = "base", read_only = true })
T.ok(ro.write_file.hidden, "read-only: write_file is not offered")
local d, why = ro.write_file.approval({ path = "x", content = "y" })
T.eq(d .. ": " .. why, "blocked: write_file is disabled for read-only filesystem", "read-only: blocked")
msg, kind = failure(ro.write_file, { path = "x", content = "y" })
T.eq(kind .. ": " .. msg, "permission: write_file is disabled for read-only filesystem", "read-only: direct call")

T.eq(fs.validate_config({ bas_path = "x" }),
  "unknown option 'bas_path' (options: base_path, read_only, read_approval, write_approval)", "bad option")
T.eq(fs.validate_config({ read_only = "yes" }), "read_only: expected a boolean, got a string", "bad type")

-- shell: rule semantics
local check = shell_mod.check
local function verdict(cmd, rules, default)
  local v, a = check(cmd, rules, default)
  if v == "blocked" then return "blocked: " .. a end
  return a and "ask" or "run"
end
local rules = { { pattern = "git status", approval_required = false }, { pattern = "git", approval_required = true },
  { pattern = "ls", approval_required = false }, { pattern = "find", approval_required = false,
    approval_required_if_args = { "-exec", "-delete" } } }
T.eq(verdict("git status -s", rules), "run", "first match wins")
T.eq(verdict("git commit -m x", rules), "ask", "multi-token pattern does not over-match")
T.eq(verdict("gitx status", rules), "blocked: Command not in whitelist: gitx status", "git is not gitx")
T.eq(verdict("git-foo", rules), "blocked: Command not in whitelist: git-foo", "git is not git-foo")
T.eq(verdict("find . -name x", rules), "run", "find without -exec")
T.eq(verdict("find . -exec rm {} +", rules), "ask", "find -exec needs approval")
T.eq(verdict("find . -execdir x", rules), "run", "if_args compares whole tokens")
T.eq(verdict("rm -rf x", rules, { approval_required = true }), "ask", "default allows, asking")
T.eq(verdict("rm -rf x", rules, { approval_required = false }), "run", "default without approval")
T.eq(verdict("echo x", { { pattern = "echo" } }), "ask", "approval_required defaults to true")
T.eq(verdict("", rules), "blocked: Empty command", "empty")
T.eq(verdict("ls 'unclosed", rules), "blocked: Cannot parse command: No closing quotation", "unclosed quote")
T.eq(table.concat(shell_mod.split([[a 'b c' "d \"e\" $f" g\ h '']]), "|"), 'a|b c|d "e" $f|g h|', "shlex")

-- shell: the attack list - every one refused
local ro_rules = shell_mod.presets.readonly
local shell_attacks = {
  { "ls | sh", "|" }, { "cat x > /etc/passwd", ">" }, { "cat < /etc/shadow", "<" }, { "ls; rm -rf /", ";" },
  { "ls && rm x", "&" }, { "ls & rm x", "&" }, { "echo `rm x`", "`" }, { "cat $(rm x)", "$(" },
  { "cat ${HOME}", "${" }, { "ls\nrm -rf /", "\\n" }, { "ls\rrm", "\\r" }, { "grep 'a|b' f", "|" },
  { "cat \"x;y\"", ";" },
}
for _, a in ipairs(shell_attacks) do
  T.eq(verdict(a[1], ro_rules), "blocked: Command contains blocked metacharacter '" .. a[2] .. "'.",
    "metacharacter in " .. a[1]:gsub("\n", "\\n"))
end
T.eq(verdict("rm -rf /", ro_rules), "blocked: Command not in whitelist: rm -rf /", "unknown command")
T.eq(verdict("find . -exec rm {} +", ro_rules), "ask", "find -exec is not pre-approved")
T.eq(verdict("git status", ro_rules), "run", "git status is read-only")
T.eq(verdict("git push", ro_rules), "blocked: Command not in whitelist: git push", "git push is not")
T.eq(verdict("mv a b", shell_mod.presets.file_ops), "ask", "file_ops: mv asks")
T.eq(verdict("ls", shell_mod.presets.file_ops), "run", "file_ops: ls runs")
T.eq(verdict("rm a", shell_mod.presets.file_ops), "blocked: Command not in whitelist: rm a", "file_ops: rm blocked")

-- shell_readonly: the words after the program are checked too; each of
-- these wrote a file or ran a program with no approval before
local function no(prog, what) return "blocked: " .. prog .. ": " .. what .. " is not allowed by the read-only rules" end
local ro_attacks = {
  { "git log --output=pwned --format=%H", no("git log", "option '--output'") },
  { "git log --output pwned", no("git log", "option '--output'") },
  { "git log --outp=pwned", no("git log", "option '--outp'") },
  { "git diff --output=.git/config", no("git diff", "option '--output'") },
  { "git show --output=.git/config HEAD", no("git show", "option '--output'") },
  { "git log -p --ext-diff", no("git log", "option '--ext-diff'") },
  { "git log -p --textconv", no("git log", "option '--textconv'") },
  { "git log --show-signature", no("git log", "option '--show-signature'") },
  { "git log --format --output=pwned",
    "blocked: git log: the value '--output=pwned' of '--format' begins with '-'; attach it: "
      .. "'--format=--output=pwned'" },
  { "git status --porc", no("git status", "option '--porc'") },
  { "git log -o pwned", no("git log", "option '-o'") },
  { "sort -o pwned a.txt", no("sort", "option '-o'") },
  { "sort -uo pwned a.txt", no("sort", "option '-o'") },
  { "sort a.txt -o pwned", no("sort", "option '-o'") },
  { "sort --output=pwned a.txt", no("sort", "option '--output'") },
  { "sort --out=pwned a.txt", no("sort", "option '--out'") },
  { "sort --compress-program=sh a.txt", no("sort", "option '--compress-program'") },
  { "sort -T /tmp a.txt", no("sort", "option '-T'") },
  { "sort --files0-from=list", no("sort", "option '--files0-from'") },
  { "uniq a.txt pwned", no("uniq", "an output file (a second operand)") },
  { "uniq -c a.txt pwned", no("uniq", "an output file (a second operand)") },
  { "uniq -f 1 a.txt pwned", no("uniq", "an output file (a second operand)") },
  { "uniq - pwned", no("uniq", "an output file (a second operand)") },
  { "find . -fprint pwned", no("find", "'-fprint'") },
  { "find . -fprint0 pwned", no("find", "'-fprint0'") },
  { "find . -fprintf pwned %p", no("find", "'-fprintf'") },
  { "find . -fls pwned", no("find", "'-fls'") },
  { "find -D exec .", no("find", "'-D'") },
  { "find . -exec ls {} + -fprint pwned", no("find", "'-fprint'") },
  { "find . -name x pwned", no("find", "'pwned'") },
  { "tail -f a.txt", no("tail", "option '-f'") },
  { "wc --files0-from=list", no("wc", "option '--files0-from'") },
  { "head -n -5 a.txt", "blocked: head: the value '-5' of '-n' begins with '-'; attach it: '-n-5'" },
  { "grep -e -x a.txt", "blocked: grep: the value '-x' of '-e' begins with '-'; attach it: '-e-x'" },
  -- never allowed at all
  { "git -c core.pager=sh log", "blocked: Command not in whitelist: git -c core.pager=sh log" },
  { "git -C /tmp log", "blocked: Command not in whitelist: git -C /tmp log" },
  { "git --exec-path=/tmp log", "blocked: Command not in whitelist: git --exec-path=/tmp log" },
  { "git config core.pager sh", "blocked: Command not in whitelist: git config core.pager sh" },
  { "sed -i s/a/b/ a.txt", "blocked: Command not in whitelist: sed -i s/a/b/ a.txt" },
  { "awk BEGIN{system(\"id\")}", "blocked: Command not in whitelist: awk BEGIN{system(\"id\")}" },
  -- these leave read-only, so they always ask
  { "find . -exec rm {} +", "ask" }, { "find . -execdir rm {} +", "ask" }, { "find . -delete", "ask" },
  { "find . -ok rm {} +", "ask" }, { "find . -okdir rm {} +", "ask" },
}
for _, a in ipairs(ro_attacks) do T.eq(verdict(a[1], ro_rules), a[2], "shell_readonly: " .. a[1]) end
-- and what a model reads with still runs
for _, c in ipairs {
  "git log --oneline -5", "git log -n 3 --format=%h%x20%s", "git log --since=2.weeks --author=ada -p -- src",
  "git log --stat --color=never -M50% HEAD~3..HEAD", "git show HEAD --stat", "git diff --cached --name-only",
  "git diff -U5 HEAD~1 -- a.txt", "git status -s -uno", "git status --porcelain=v1 --branch",
  "git log -- --output=not-an-option", "sort -k2,2 -t, -rn a.txt", "sort -u a.txt", "sort --key=1 -- -o",
  "uniq -c a.txt", "uniq -f 1 a.txt", "uniq --skip-chars=2 -", "find . -name *.lua -type f -not -path ./build/*",
  "find -L src ( -name a -o -name b ) -print", "find . -newermt 2024-01-01 -printf %p", "find",
  "grep -rn -e foo --include=*.c .", "grep -5 -i x a.txt", "grep --regexp=-x a.txt", "head -n 5 a.txt",
  "head -20 a.txt", "head -n-5 a.txt", "tail -n +5 a.txt", "ls -la --color=never", "ls -1", "wc -l a.txt",
  "cat -n a.txt", "cat -- -o",
} do
  T.eq(verdict(c, ro_rules), "run", "shell_readonly runs " .. c)
end
local _, _, git_argv = check("git status -s", ro_rules)
T.eq(table.concat(git_argv, " "), "git --no-optional-locks -c core.pager=cat -c core.fsmonitor= "
  .. "-c core.hooksPath=/dev/null -c protocol.allow=never status -s", "git runs without pager, fsmonitor, hooks, fetch")

-- read_only in a rule of one's own; the presets' rules are fixed
local mine = { { pattern = "sort", approval_required = false, read_only = true },
  { pattern = "git log", read_only = true, approval_required_if_args = { "-c" } } }
T.eq(verdict("sort -o x a.txt", mine), no("sort", "option '-o'"), "read_only in a rule")
T.eq(verdict("git log -p", mine), "ask", "read_only keeps approval_required")
T.eq(verdict("git log -c", mine), "ask", "if_args sees the model's words")
T.eq(shell.validate_config({ rules = { { pattern = "make", read_only = true } } }),
  "rules[1].read_only: no read-only argument rules for 'make' (there are: cat, find, git diff, git log, git show, "
  .. "git status, grep, head, ls, sort, tail, uniq, wc)", "read_only needs argument rules")
T.eq(shell.validate_config({ rules = { { pattern = "sort", read_only = "yes" } } }),
  "rules[1].read_only: expected true or false", "read_only is a boolean")
local builtins = require "llmdo.builtins"
T.eq(builtins.spec("shell_readonly").validate_config({ rules = {} }),
  "'rules' cannot be set: the rules of shell_readonly are fixed (configure the shell toolset for rules of your own)",
  "shell_readonly's rules are fixed")
T.eq(builtins.spec("shell_file_ops").validate_config({ default = { approval_required = false } }),
  "'default' cannot be set: the rules of shell_file_ops are fixed (configure the shell toolset for rules of your own)",
  "shell_file_ops's default is fixed")
T.eq(builtins.spec("shell_readonly").validate_config({ env_allow = { "X" } }), nil, "env_allow is not fixed")
local widened = tools_of(shell, { preset = "readonly", rules = { { pattern = "rm", approval_required = false } },
  default = { approval_required = false } }).shell
T.eq((widened.approval({ command = "rm a.txt" })), "blocked", "a preset's rules win over rules and default")

-- shell: execution
local sh = tools_of(shell, { rules = { { pattern = "echo" }, { pattern = "sleep" }, { pattern = "env" },
  { pattern = "cat" }, { pattern = "./hang.sh" }, { pattern = "./noexec.sh" }, { pattern = "ls" },
  { pattern = "definitely-not-a-command" } } }).shell
r = res(sh, { command = "echo hi 'there you'" })
T.eq(r.stdout, "hi there you\n", "argv, no shell")
T.eq(r.exit_code, 0, "exit code")
r = res(sh, { command = "ls" })
T.ok(r.stdout:find("base") and r.stdout:find("outside"), "runs in the project root: " .. r.stdout)
r = res(sh, { command = "definitely-not-a-command x" })
T.eq(r.exit_code, 127, "not found: 127")
T.eq(r.stderr, "Command not found: definitely-not-a-command", "not found message")
write("noexec.sh", "#!/bin/sh\necho no\n")
r = res(sh, { command = "./noexec.sh" })
T.eq(r.exit_code, 126, "not executable: 126")
T.eq(r.stderr, "Permission denied: ./noexec.sh", "permission message")
local big = string.rep("0123456789", 7000)
write("big.txt", big)
r = res(sh, { command = "cat big.txt" })
T.eq(#r.stdout, 51200 + #"\n... (output truncated)", "stdout capped at 50 KiB")
T.ok(r.stdout:sub(-23) == "\n... (output truncated)", "truncation marker")
T.eq(r.truncated, true, "truncated flag")
write("hang.sh", "#!/bin/sh\nsleep 37.25 &\nsleep 37.25\n")
assert(os.execute("chmod +x " .. root .. "/hang.sh"))
-- No wall-clock limits (the machine may be busy): the command would run for
-- 37.25 s, so returning, and its processes going, well before that is the
-- timeout's doing.
local function hanging()
  local p = io.popen("pgrep -f '^sleep 37[.]25$'")
  local found = p:read("a"):match("%d")
  p:close()
  return found
end
local t0 = sys.now()
r = res(sh, { command = "./hang.sh", timeout = 1 })
T.ok(sys.now() - t0 < 37250, "the timeout stops it")
T.eq(r.exit_code, -1, "timeout: -1")
T.eq(r.stderr, "Command timed out after 1 seconds", "timeout message")
while hanging() and sys.now() - t0 < 30000 do task.sleep(50) end
T.ok(not hanging(), "the whole process group was killed")
r = res(sh, { command = "sleep 0", timeout = 0 })
T.eq(r.exit_code, 0, "timeout clamped up to 1 s")
msg, kind = failure(sh, { command = "echo a; rm b" })
T.eq(kind .. ": " .. msg, "permission: Command contains blocked metacharacter ';'.", "checked again at execution")

-- the child's environment has no secrets
local env_tool = tools_of(shell, { rules = { { pattern = "env" } } }).shell
r = res(env_tool, { command = "env" })
T.ok(r.stdout:find("PATH=", 1, true), "the environment is passed")
for _, var in ipairs { "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GITHUB_TOKEN", "MY_SECRET", "SOME_API_KEY" } do
  T.ok(not r.stdout:find(var .. "=", 1, true), var .. " is not passed")
end
T.ok(not r.stdout:find("sk-leak", 1, true), "no key value in the output")
for _, var in ipairs { "AWS_SECRET_ACCESS_KEY", "AZURE_OPENAI_KEY", "GITHUB_PAT", "DATABASE_URL", "SSH_AUTH_SOCK",
  "LLMDO_TEST_ALLOWED" } do
  T.ok(not r.stdout:find("\n" .. var .. "=", 1, true) and r.stdout:sub(1, #var + 1) ~= var .. "=",
    var .. " is not passed: an allow-list, not a deny-list")
end
T.ok(("\n" .. r.stdout):find("\nPWD=" .. root .. "\n", 1, true), "PWD is where the command runs")
r = res(tools_of(shell, { rules = { { pattern = "env" } }, env_allow = { "LLMDO_TEST_ALLOWED", "OPENAI_API_KEY" } })
  .shell, { command = "env" })
T.ok(("\n" .. r.stdout):find("\nLLMDO_TEST_ALLOWED=visible\n", 1, true), "env_allow passes a variable")
T.ok(not r.stdout:find("sk-leak", 1, true), "a provider key never passes, whatever env_allow says")
T.eq(shell.validate_config({ env_allow = { "A=B" } }), "env_allow[1]: 'A=B' is not a variable name", "bad name")
T.eq(shell.validate_config({ env_allow = "PATH" }), "env_allow: expected a list of variable names", "not a list")
T.eq(shell.validate_config({ env_allow = { "OPENAI_API_KEY" } }),
  "env_allow[1]: OPENAI_API_KEY is a provider key; commands never get it", "a provider key in env_allow")

-- nor can it read them from llmdo: the process is not dumpable (a child of
-- the same user cannot open /proc/<llmdo>/environ) and the block the kernel
-- wrote at exec is cleared (a root child may open it, and finds nothing)
T.eq(os.getenv("OPENAI_API_KEY"), "sk-leak2", "os.getenv still sees the keys")
f = io.open("/proc/self/environ", "rb")
T.ok(not (f and f:read("a") or ""):find("sk-leak", 1, true), "/proc/self/environ holds no key")
if f then f:close() end
r = res(tools_of(shell, { rules = { { pattern = "sh" } } }).shell, { command = 'sh -c "cat /proc/$PPID/environ"' })
T.ok(not (r.stdout .. r.stderr):find("sk-leak", 1, true), "a child cannot read the keys from its parent")

-- git in a repository whose config runs a program on `git status`
assert(os.execute("git init -q " .. root .. " && git -C " .. root .. " config core.fsmonitor " .. root .. "/fsmon.sh"))
write("fsmon.sh", "#!/bin/sh\ntouch " .. root .. "/fsmonitor-ran\n")
assert(os.execute("chmod +x " .. root .. "/fsmon.sh"))
r = res(tools_of(shell, { preset = "readonly" }).shell, { command = "git status --porcelain" })
T.eq(r.exit_code, 0, "git status runs: " .. r.stderr)
T.ok(r.stdout:find("?? base/", 1, true), "git status output: " .. r.stdout)
T.ok(not io.open(root .. "/fsmonitor-ran"), "the repository's fsmonitor did not run")

assert(os.execute("rm -rf " .. root))
return T.done("builtins")

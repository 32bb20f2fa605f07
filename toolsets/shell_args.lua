-- Argument rules for read-only shell commands: which options and operands
-- each program may take, so a rule with read_only = true lets the model
-- read and never write or run anything else.
--
-- A program's options are an allow-list, matched by exact name: GNU tools
-- take any unambiguous prefix of a long option (`sort --out=F` is
-- `--output=F`), so anything not listed, prefixes included, is refused.
-- A value given as the next word must not begin with '-': if the program
-- does not take the value there after all, the word is still checked as an
-- option, never slipped through as one.
--
-- sed and awk have no entry on purpose: sed's scripts write files (`w`,
-- `s///w`) and run commands (`e`), and awk is a programming language with
-- system(), pipes and output redirection. Checking their scripts would be
-- a second interpreter; they are left to rules that ask.
local M = {}

-- A spec from its compact form: short flags, short options taking a value,
-- short options whose value must be attached (`-M50%`), and long options
-- written "name" (flag), "name=" (value) or "name[=]" (optional value,
-- attached only: `--color=never`, never `--color never`).
local function spec(d)
  local s = { short = {}, long = {}, numeric = d.numeric, operands = d.operands, prefix = d.prefix,
    operand_error = d.operand_error }
  for c in (d.flags or ""):gmatch(".") do s.short[c] = "flag" end
  for c in (d.values or ""):gmatch(".") do s.short[c] = "value" end
  for c in (d.optional or ""):gmatch(".") do s.short[c] = "optional" end
  for _, list in ipairs(d.long or {}) do
    for w in list:gmatch("%S+") do
      local name, kind = w:match("^(.-)(%[?=?%]?)$")
      s.long["--" .. name] = kind == "=" and "value" or kind == "[=]" and "optional" or "flag"
    end
  end
  return s
end

local function refused(prog, what) return prog .. ": " .. what .. " is not allowed by the read-only rules" end

-- A value taken from the next word; nil and the reason when it is missing
-- or looks like an option.
local function next_value(prog, argv, i, opt, attached)
  local v = argv[i]
  if v == nil then return nil, prog .. ": option '" .. opt .. "' needs a value" end
  if v:sub(1, 1) == "-" then
    return nil, prog .. ": the value '" .. v .. "' of '" .. opt .. "' begins with '-'; attach it: '"
      .. attached .. v .. "'"
  end
  return v
end

-- GNU-style parsing: options anywhere before `--`, short options grouped
-- (`-rn`), a value attached or in the next word. Returns nil, or the reason
-- the command is refused.
local function getopt(prog, s, argv, first)
  local operands, i, only_operands = 0, first, false
  while i <= #argv do
    local w = argv[i]
    if only_operands or w == "-" or w:sub(1, 1) ~= "-" then
      operands = operands + 1
    elseif w == "--" or (s.prefix and w == "--end-of-options") then
      only_operands = true
    elseif w:sub(1, 2) == "--" then
      local name, value = w:match("^(%-%-[^=]*)=(.*)$")
      name = name or w
      local kind = s.long[name]
      if not kind then return refused(prog, "option '" .. name .. "'") end
      if kind == "flag" and value then return prog .. ": option '" .. name .. "' takes no value" end
      if kind == "value" and not value then
        local _, why = next_value(prog, argv, i + 1, name, name .. "=")
        if why then return why end
        i = i + 1
      end
    elseif not (s.numeric and w:match("^%-%d+$")) then
      for j = 2, #w do
        local c = w:sub(j, j)
        local kind = s.short[c]
        if not kind then return refused(prog, "option '-" .. c .. "'") end
        if kind ~= "flag" then -- the rest of the word is its value
          if kind == "value" and j == #w then
            local _, why = next_value(prog, argv, i + 1, "-" .. c, "-" .. c)
            if why then return why end
            i = i + 1
          end
          break
        end
      end
    end
    i = i + 1
  end
  if s.operands and operands > s.operands then return s.operand_error end
end

-- find's expression: primaries by the number of words they take.
local FIND = {}
for w in ([[-daystart -depth -d -follow -ignore_readdir_race -noignore_readdir_race -mount -xdev -noleaf
  -nowarn -warn -empty -false -true -nogroup -nouser -readable -writable -executable -print -print0 -ls
  -prune -quit ( ) ! -not -a -and -o -or ,]]):gmatch("%S+") do
  FIND[w] = 0
end
for w in ([[-maxdepth -mindepth -amin -anewer -atime -cmin -cnewer -ctime -fstype -gid -group -ilname
  -iname -inum -ipath -iregex -iwholename -links -lname -mmin -mtime -name -newer -path -perm -regex
  -regextype -samefile -size -type -uid -used -user -wholename -xtype -printf]]):gmatch("%S+") do
  FIND[w] = 1
end
-- these leave read-only: allowed, but never without approval
local FIND_ASK = { ["-exec"] = "command", ["-execdir"] = "command", ["-ok"] = "command", ["-okdir"] = "command",
  ["-delete"] = 0 }

-- Returns nil or the reason, and whether the command needs approval.
local function find(argv, first)
  local i, ask = first, false
  while argv[i] == "-H" or argv[i] == "-L" or argv[i] == "-P" do i = i + 1 end
  while argv[i] and not (argv[i]:sub(1, 1) == "-" or FIND[argv[i]]) do i = i + 1 end -- starting points
  while i <= #argv do
    local w = argv[i]
    local n = FIND[w] or FIND_ASK[w] or (w:match("^%-newer[aBcmt][aBcmt]$") and 1)
    if not n then return refused("find", "'" .. w .. "'") end
    if FIND_ASK[w] then ask = true end
    if n == "command" then -- up to `;` (always refused as a metacharacter) or `{} +`
      repeat i = i + 1 until i > #argv or (argv[i] == "+" and argv[i - 1] == "{}")
    else
      if i + n > #argv then return "find: '" .. w .. "' needs a value" end
      i = i + n
    end
    i = i + 1
  end
  return nil, ask
end

-- git: the repository's hooks, fsmonitor and pager never run, nothing is
-- fetched, and the index is not rewritten; the model cannot add options
-- before the subcommand (no -c, -C, --exec-path, ...), since the rule's
-- words come first.
local GIT_PREFIX = { "--no-optional-locks", "-c", "core.pager=cat", "-c", "core.fsmonitor=", "-c",
  "core.hooksPath=/dev/null", "-c", "protocol.allow=never" }

local DIFF_LONG = [[patch no-patch raw patch-with-raw patch-with-stat stat[=] numstat shortstat dirstat[=]
  cumulative summary name-only name-status compact-summary full-index binary abbrev[=] no-abbrev unified=
  inter-hunk-context= function-context text ignore-space-at-eol ignore-space-change ignore-all-space
  ignore-blank-lines ignore-cr-at-eol ignore-matching-lines= minimal patience histogram diff-algorithm= anchored=
  indent-heuristic no-indent-heuristic word-diff[=] word-diff-regex= color[=] no-color color-words[=]
  color-moved[=] no-color-moved color-moved-ws= no-color-moved-ws find-renames[=] find-copies[=]
  find-copies-harder break-rewrites[=] irreversible-delete no-renames rename-empty no-rename-empty diff-filter=
  find-object= pickaxe-all pickaxe-regex relative[=] no-relative no-ext-diff no-textconv ignore-submodules[=]
  submodule[=] src-prefix= dst-prefix= no-prefix line-prefix= check exit-code quiet]]
local LOG_LONG = [[max-count= skip= since= after= until= before= author= committer= grep= all-match invert-grep
  regexp-ignore-case basic-regexp extended-regexp fixed-strings perl-regexp merges no-merges min-parents=
  max-parents= no-min-parents no-max-parents first-parent all branches[=] tags[=] remotes[=] glob= exclude=
  not no-walk[=] do-walk oneline pretty[=] format= abbrev-commit no-abbrev-commit encoding= expand-tabs[=]
  no-expand-tabs notes[=] no-notes relative-date date= parents children left-right graph decorate[=]
  no-decorate source use-mailmap mailmap no-mailmap full-history dense sparse simplify-merges ancestry-path[=]
  simplify-by-decoration topo-order date-order author-date-order reverse walk-reflogs cherry-pick cherry-mark
  cherry left-only right-only boundary follow log-size diff-merges= no-diff-merges cc combined-all-paths
  full-diff]]
local git_log = { flags = "pusRDwbWzgmciEFPa", values = "nSGUl", optional = "MCB", numeric = true,
  long = { DIFF_LONG, LOG_LONG }, prefix = GIT_PREFIX }

M.specs = {
  wc = spec { flags = "clLmw", long = { "bytes chars lines max-line-length words help version" } },
  cat = spec { flags = "AbeEnstTuv", long = { [[show-all number-nonblank show-ends number squeeze-blank show-tabs
    show-nonprinting help version]] } },
  head = spec { flags = "qvz", values = "cn", numeric = true,
    long = { "bytes= lines= quiet silent verbose zero-terminated help version" } },
  tail = spec { flags = "qvz", values = "cn", numeric = true,
    long = { "bytes= lines= quiet silent verbose zero-terminated help version" } },
  ls = spec { flags = "aAbBcCdDfFgGhHiklLmnNopqQrRsStuUvxXZ1", values = "ITw", long = { [[all almost-all author
    escape block-size= ignore-backups color[=] directory dired classify[=] file-type format= full-time
    group-directories-first no-group human-readable si dereference-command-line
    dereference-command-line-symlink-to-dir hide= hyperlink[=] indicator-style= inode ignore= kibibytes
    dereference numeric-uid-gid literal hide-control-chars show-control-chars quote-name quoting-style= reverse
    recursive size sort= time= time-style= tabsize= width= context zero help version]] } },
  grep = spec { flags = "EFGPiyvwxcLloqsbHhnTZzaIrRUV", values = "efmABCdD", numeric = true, long = { [[
    extended-regexp fixed-strings basic-regexp perl-regexp regexp= file= ignore-case no-ignore-case word-regexp
    line-regexp null-data no-messages invert-match max-count= byte-offset line-number line-buffered
    with-filename no-filename label= only-matching quiet silent binary-files= text directories= devices=
    recursive dereference-recursive include= exclude= exclude-from= exclude-dir= files-without-match
    files-with-matches count initial-tab null before-context= after-context= context= color[=] colour[=]
    binary help version]] } },
  -- not -o/--output, -T/--temporary-directory, --compress-program, --files0-from, --random-source
  sort = spec { flags = "bdfgiMhnRrVcCmsuz", values = "ktS", long = { [[ignore-leading-blanks dictionary-order
    ignore-case general-numeric-sort ignore-nonprinting month-sort human-numeric-sort numeric-sort random-sort
    reverse sort= version-sort check[=] merge key= stable buffer-size= field-separator= unique zero-terminated
    parallel= debug help version]] } },
  -- uniq's second operand is its output file
  uniq = spec { flags = "cdDiuz", values = "fsw", operands = 1,
    operand_error = refused("uniq", "an output file (a second operand)"), long = { [[count repeated
    all-repeated[=] group[=] ignore-case unique zero-terminated skip-fields= skip-chars= check-chars= help
    version]] } },
  ["git log"] = spec(git_log),
  ["git show"] = spec(git_log),
  ["git diff"] = spec { flags = "pusRDwbWza", values = "SGUl", optional = "MCB", prefix = GIT_PREFIX,
    long = { DIFF_LONG, "cached staged merge-base base ours theirs" } },
  ["git status"] = spec { flags = "sbvz", optional = "u", prefix = GIT_PREFIX, long = { [[short branch
    show-stash porcelain[=] long verbose untracked-files[=] ignore-submodules[=] ignored[=] no-renames renames
    find-renames[=] column[=] no-column ahead-behind no-ahead-behind null]] } },
}
M.specs.find = { find = find }

-- Checks the words of argv after the rule's own `words` (the key of a
-- spec, e.g. "git log"). Returns nil and the reason it is refused, or
-- true, whether it needs approval, and the argv to run.
function M.check(words, argv)
  local s = M.specs[words]
  if not s then return nil, "no read-only argument rules for '" .. words .. "'" end
  local first = select(2, words:gsub("%S+", "")) + 1
  local why, ask
  if s.find then
    why, ask = s.find(argv, first)
  else
    why = getopt(words, s, argv, first)
  end
  if why then return nil, why end
  if s.prefix then
    local run = { argv[1] }
    table.move(s.prefix, 1, #s.prefix, 2, run)
    table.move(argv, 2, #argv, #run + 1, run)
    argv = run
  end
  return true, ask or false, argv
end

return M

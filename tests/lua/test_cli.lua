-- Lua-level tests of the command line: the parser's options table
-- (llmdo.args), suggestions (llmdo.suggest), prices and cost (llmdo.prices).
local here = arg[0]:match("^(.*)/") or "."
local T = dofile(here .. "/t.lua")
local args = require "llmdo.args"
local suggest = require "llmdo.suggest"
local prices = require "llmdo.prices"
local config = require "llmdo.config"

local function parse(...) return args.parse({ ... }) end
local function fails(...)
  local ok, e = pcall(args.parse, { ... })
  T.ok(not ok, "should fail: " .. table.concat({ ... }, " "))
  return ok and "" or e.message, not ok and e.kind
end

-- the plain parse (the tables alone) and argparse's agree on every line
-- the plain one takes; what it does not take goes to argparse
local json = require "llmdo.core.json"
for _, argv in ipairs {
  { "run", "p" }, { "run", "p", "hi" }, { "run", "-vv", "p", "hi", "--model", "x" },
  { "run", "p", "--model=x", "-v", "-v" },
  { "run", "p", "--input-json", '{"a": 1}', "--max-depth", "3", "--approve-all", "--no-log", "--output-json", "o" },
  { "run", "p", "--journal", "j", "--replay", "r" }, { "run", "p", "--resume", "r", "--headless", "--debug" },
  { "run", "p", "-", "--chat" }, { "check", "p" }, { "check", "p", "--tools", "--connect", "--model", "m" },
  { "tool", "p", "t" }, { "tool", "p", "t", "--args", "{}", "--worker", "w", "--reject-all", "-vvv" },
  { "logs" }, { "logs", "-n", "5", "--status", "ok", "--json" }, { "logs", "show", "abc" }, { "models", "--json" },
} do
  local a, b = json.encode(args.parse(argv), "s"), json.encode(args.parse(argv, true), "s")
  T.eq(a, b, "plain and argparse parses of: " .. table.concat(argv, " "))
end
for _, argv in ipairs { { "run", "p", "--modle", "x" }, { "run", "p", "--model" }, { "run", "p", "a", "b" },
  { "run" }, { "run", "p", "--model", "-x" }, { "config", "nope" } } do
  local ok1, e1 = pcall(args.parse, argv)
  local ok2, e2 = pcall(args.parse, argv, true)
  T.eq(tostring(ok1 and json.encode(e1, "s") or e1.message), tostring(ok2 and json.encode(e2, "s") or e2.message),
    "the same answer to: " .. table.concat(argv, " "))
end

-- options and positionals mixed, --opt=value, counted -v, --
local o = parse("run", "-vv", "proj", "--model=lua:x", "--max-depth", "7", "--", "-prompt")
T.eq(o.command, "run", "command")
T.eq(o.project, "proj", "project")
T.eq(o.prompt, "-prompt", "after --, a dash starts a positional")
T.eq(o.model, "lua:x", "--opt=value")
T.eq(o.max_depth, 7, "--max-depth as an integer")
T.eq(o.verbose, 2, "-vv counts")
T.eq(parse("run", "p", "-vvvvv").verbose, 3, "verbosity stops at 3")
local t = parse("tool", "p", "add", "--args", "{}", "--worker", "w")
T.eq(t.tool, "add", "tool's TOOL survives the command's own name")
T.eq(t.args_json, "{}", "--args")
T.eq(t.worker, "w", "--worker")
T.eq(parse("lua", "s.lua", "--x", "-y").args[2], "-y", "lua: everything after SCRIPT is the script's")
T.eq(parse("check", "--help").command, "help", "check --help")
T.eq(parse("check", "--help").topic, "check", "check --help topic")
T.eq(parse("-V").command, "version", "-V")
T.eq(parse("--version").command, "version", "--version")

-- one-line errors, with suggestions
local msg, kind = fails("rn")
T.eq(msg, "unknown command 'rn'; did you mean 'run'?", "command typo")
T.eq(kind, "usage", "usage error")
T.eq(fails("run", "p", "--modle", "x"), "unknown option '--modle'; did you mean '--model'? (see llmdo run --help)",
  "option typo")
T.eq(fails("run", "p", "--model"), "option '--model' needs a value", "missing value")
T.eq(fails("run", "p", "--model", ""), "option '--model' needs a non-empty value", "empty value")
T.eq(fails("run", "p", "--chat=yes"), "option '--chat' takes no value", "a flag with a value")
T.eq(fails("tool", "p"), "tool: missing TOOL (the tool's name)", "missing TOOL")
T.eq(fails("check", "a", "b"), "unexpected argument 'b'", "extra positional")
T.eq(fails("run", "p", "--max-depth", "0"), "--max-depth: expected an integer from 1 to 1000, got '0'", "depth")
T.eq(fails("run", "p", "--approve-all", "--reject-all"), "--approve-all and --reject-all cannot be combined", "both")
T.eq(fails("--modle"), "unknown option '--modle' (expected a command first; see llmdo --help)", "no command yet")

-- every option of a command's table is in its help and its completion
for _, c in ipairs(args.commands) do
  local help = args.help(c.name)
  for _, key in ipairs(c.options) do
    local flag = args.options[key][1]:match("%S+$")
    T.ok(help:find(flag, 1, true), c.name .. " --help lists " .. flag)
    T.ok(args.completion("bash"):find(flag, 1, true), "bash completion has " .. flag)
  end
end

-- edit distance
T.eq(suggest.distance("kitten", "sitting", 5), 3, "kitten/sitting")
T.eq(suggest.distance("ab", "ba", 5), 1, "a swap costs one")
T.eq(suggest.nearest("modle", { "model", "mode" }), "model", "swap beats substitution")
T.eq(suggest.nearest("MAX_DEPTH", { "max_depth" }), "max_depth", "case and separators")
T.eq(suggest.nearest("xyz", { "model", "run" }), nil, "nothing close")
T.eq(suggest.nearest("ab", { "xy" }), nil, "short words need a close match")

-- cost from a known usage and a known price
local price = { input = 3, output = 15, cache_read = 0.3, cache_write = 3.75 }
local usage = { input_tokens = 10000, cache_read = 4000, cache_write = 2000, output_tokens = 1000 }
-- (4000 * 3 + 4000 * 0.3 + 2000 * 3.75 + 1000 * 15) / 1e6
T.ok(math.abs(prices.cost(usage, price) - 0.0357) < 1e-12, "cost: " .. prices.cost(usage, price))
T.eq(prices.of("anthropic:claude-haiku-4-5").output, 5, "a listed price")
T.eq(prices.of("anthropic:claude-haiku-4-5-20251001").input, 1, "a dated name takes the undated price")
T.eq(prices.of("ollama:llama3").input, 0, "a local model costs nothing")
T.eq(prices.of("lab:x"), nil, "no price")
config.set { prices = { ["lab:x"] = { input = 2, output = 4 } }, aliases = { fast = "lua:a" } }
T.eq(prices.of("lab:x").output, 4, "the config adds prices")
T.eq(require("llmdo.models").expand("fast"), "lua:a", "aliases expand")
config.set(nil)
T.eq(prices.format(1.5), "$1.50", "format dollars")
T.eq(prices.format(0.0147), "$0.0147", "format cents")
T.eq(prices.format(0.00035), "$0.000350", "format fractions of a cent")

return T.done("cli")

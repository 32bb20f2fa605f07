-- The user's config file: defaults for every project (docs/cli.md).
-- $LLMDO_CONFIG, else $XDG_CONFIG_HOME/llmdo/config.lua, else
-- ~/.config/llmdo/config.lua. A Lua file that returns one table; unknown
-- keys are errors that name the key, as in project.lua. No file: no
-- defaults.
--
-- Precedence, for every setting: a flag beats the environment, which beats
-- project.lua (or the worker file), which beats this file, which beats the
-- built-in default.
local E = require "llmdo.core.error"
local util = require "llmdo.util"
local V = require "llmdo.validate"

local M = {}

local price_shape = V.record({
  input = V.number { min = 0 },
  output = V.number { min = 0 },
  cache_read = V.number { min = 0 },
  cache_write = V.number { min = 0 },
}, { required = { "input", "output" } })
M.price_shape = price_shape

M.shape = V.record {
  model = V.nonempty_string,                -- for workers that set none (after --model and LLMDO_MODEL)
  aliases = V.map(V.nonempty_string),       -- fast = "anthropic:claude-haiku-4-5"
  providers = V.map(require("llmdo.project").provider_shape), -- as in project.lua
  approval_mode = V.enum { "prompt", "approve_all", "reject_all" },
  log = V.boolean,                          -- keep a journal of each run (default true)
  prices = V.map(price_shape),              -- dollars per million tokens, by model
}

local loaded = { values = {}, path = nil, found = false }

-- Where the config file is (it may not exist).
function M.path()
  local explicit = os.getenv("LLMDO_CONFIG")
  if explicit and explicit ~= "" then return explicit end
  local base = util.xdg_dir("XDG_CONFIG_HOME", ".config")
  return base and base .. "/llmdo/config.lua"
end

local function check_aliases(values, fail)
  for _, name in ipairs(util.sorted_keys(values.aliases or {})) do
    local target = values.aliases[name]
    if not name:match("^[%w_.-]+$") or name == "test" then
      fail("aliases[" .. string.format("%q", name) .. "]: an alias is a name of letters, digits, '_', '.' "
        .. "and '-' (not 'test'), with no ':'")
    end
    if target ~= "test" and not target:match("^[^:]+:.+$") then
      fail("aliases." .. name .. ": expected a model string provider:model, got '" .. target .. "'")
    end
  end
  -- a price is keyed by the model string a run resolves to: an alias
  -- stands for its model; anything else that is not provider:model would
  -- never be looked up
  local prices = values.prices or {}
  for _, key in ipairs(util.sorted_keys(prices)) do
    local target = (values.aliases or {})[key]
    if target then
      if prices[target] then fail("prices." .. key .. ": the alias of '" .. target .. "', which has a price too") end
      prices[target], prices[key] = prices[key], nil
    elseif not key:match("^[^:]+:.+$") then
      fail("prices[" .. string.format("%q", key) .. "]: expected a model string provider:model (or an alias)")
    end
  end
  local builtin = require("llmdo.project").builtin_providers
  for name in pairs(values.providers or {}) do
    if builtin[name] then fail("providers." .. name .. ": conflicts with the built-in provider '" .. name .. "'") end
  end
end

-- Reads and checks the config file (once); its errors are usage errors
-- (exit 2) that name the file. Returns { values=, path=, found= }.
function M.load()
  if loaded.path ~= nil or loaded.checked then return loaded end
  loaded.checked = true
  local path = M.path()
  loaded.path = path
  if not path then return loaded end
  local text = util.read_file(path)
  if not text then return loaded end -- no file: no defaults
  local function fail(msg) util.fail("usage", path .. ": " .. msg) end
  local chunk, err = load(text, "@" .. path, "t", setmetatable({}, { __index = _G }))
  if not chunk then util.fail("usage", tostring(err)) end
  local ok, v = pcall(chunk)
  if not ok then util.fail("usage", E.is(v) and v.message or tostring(v)) end
  if type(v) ~= "table" then fail("must return a table (got " .. util.describe(v) .. ")") end
  local problem = M.shape(v, "")
  if problem then fail(problem) end
  check_aliases(v, fail)
  loaded.values, loaded.found = v, true
  return loaded
end

-- The config's values ({} when there is no file or it was not loaded).
function M.current() return loaded.values end

-- For tests and `llmdo lua`: use these values as the config.
function M.set(values) loaded = { values = values or {}, checked = true, found = values ~= nil } end

return M

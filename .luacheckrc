-- luacheck configuration for lua/, toolsets/, tests/lua/ and examples/.
std = "lua54"
max_line_length = 120
-- the prelude replaces coroutine functions on purpose
files["lua/llmdo/prelude.lua"] = { globals = { "coroutine" } }
files["lua/llmdo/cli.lua"] = { globals = { "arg" } }
files["tests/lua"] = { globals = { "arg" } }

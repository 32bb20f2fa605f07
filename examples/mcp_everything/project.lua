-- The reference MCP server, @modelcontextprotocol/server-everything, as a
-- toolset: defined once here, used by name in main.worker. npx fetches the
-- pinned version on first use; MCP_EVERYTHING_JS names a local install's
-- dist/index.js instead (the tests use the one tests/mcp pins).
local local_js = os.getenv("MCP_EVERYTHING_JS")
return {
  workers = { "main.worker" },
  lua = { "offline.lua" },
  entry = { input = "Say hello through the server, add 2 and 3, and show me its tiny image." },
  mcp = {
    everything = {
      command = local_js and { "node", local_js, "stdio" }
        or { "npx", "--yes", "@modelcontextprotocol/server-everything@2025.9.25", "stdio" },
      tools = { "echo", "add", "getTinyImage" }, -- offer these three of its tools
      approve = { "echo", "add" },               -- getTinyImage still asks
    },
  },
}

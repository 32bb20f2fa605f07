-- A summarizer that splits long texts and calls itself on the halves.
-- max_depth bounds the recursion (the entry call is depth 1).
return {
  workers = { "summarizer.worker" },
  lua = { "schemas.lua", "offline.lua" },
  entry = { input = { path = "input/lighthouses.txt" } },
  runtime = { approval_mode = "reject_all", max_depth = 10 },
}

-- Recursive planning: the planner splits a task into subtasks and plans
-- each one with a call to itself, then merges the plans into one outline.
-- remaining_depth is the planner's own budget; max_depth is the runtime's
-- hard limit behind it (entry call = depth 1, so 4 allows remaining_depth 3).
return {
  workers = { "planner.worker" },
  lua = { "schemas.lua", "offline.lua" },
  entry = { input = { task = "Launch a neighbourhood book swap" } },
  runtime = { approval_mode = "reject_all", max_depth = 4 },
}

-- Web research as a pipeline of workers: research (the orchestrator)
-- searches, fetches the pages concurrently, has consolidator merge what
-- they say and reporter write it up, then saves the report. Searching and
-- fetching are pre-approved; saving asks.
return {
  workers = { "research.worker", "consolidator.worker", "reporter.worker" },
  lua = { "web.lua", "offline.lua" },
  runtime = { approval_mode = "prompt", max_depth = 3 },
}

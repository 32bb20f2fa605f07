-- A worker whose only tool runs at the provider: Anthropic's web search.
return {
  workers = { "main.worker" },
  lua = { "offline.lua" },
  entry = { input = "What is the tallest lighthouse in the world, and how tall is it?" },
  runtime = { approval_mode = "reject_all" },
}

-- The smallest project: one worker, answered offline by a scripted model.
-- To use a real model, change `model:` in main.worker (for example to
-- anthropic:claude-haiku-4-5) and set ANTHROPIC_API_KEY.
return {
  workers = { "main.worker" },
  lua = { "greeter.lua" },
  entry = { input = "Hello! I'm Ada." },
  runtime = { approval_mode = "approve_all" },
}

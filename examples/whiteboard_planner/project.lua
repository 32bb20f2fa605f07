-- A photo of a whiteboard becomes a written plan. The image goes to the
-- whiteboard_planner worker as an attachment; sending files to a model
-- asks first (worker_attachments_require_approval), and so does writing
-- the plan.
return {
  workers = { "main.worker", "whiteboard_planner.worker" },
  lua = { "offline.lua" },
  entry = { input = "Make a plan from input/launch-roadmap.png" },
  runtime = { approval_mode = "prompt", worker_attachments_require_approval = true },
}

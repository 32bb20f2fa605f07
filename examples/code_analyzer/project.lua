-- A code analyser you run from anywhere: the shell looks at the directory
-- you are in, not at this project. shell_readonly's commands are
-- pre-approved and read-only, everything else is blocked, and reject_all
-- refuses the few that would ask (find -exec, find -delete): the model is
-- told so and carries on, and no run ever stops at a prompt.
return {
  workers = { "main.worker" },
  lua = { "offline.lua" },
  entry = { input = "Give me an overview of this codebase: files, lines and open TODOs." },
  runtime = { approval_mode = "reject_all", return_permission_errors = true },
}

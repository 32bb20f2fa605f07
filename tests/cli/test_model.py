"""Model resolution (features.md §5): model, --model, LLMDO_MODEL, compatible_models."""
import sys, os
sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, basic, worker, main

RUN = ["run", ".", "hi"]

def w(**kw):
    return basic(**{"main.worker": worker(**kw)})

def err(msg):
    return f"Error: main.worker: {msg}\n"

CASES = [
    Case("worker model is used", w(model="lua:echo"), RUN, stdout="echo: hi\n"),
    Case("worker model beats --model and env", w(model="lua:echo"), RUN + ["--model", "test"],
         env={"LLMDO_MODEL": "test"}, stdout="echo: hi\n"),
    Case("--model is the fallback", w(model=None), RUN + ["--model", "lua:echo"], stdout="echo: hi\n"),
    Case("--model beats LLMDO_MODEL", w(model=None), RUN + ["--model", "lua:echo"],
         env={"LLMDO_MODEL": "test"}, stdout="echo: hi\n"),
    Case("LLMDO_MODEL fallback", w(model=None), RUN, env={"LLMDO_MODEL": "test"},
         stdout="success (no tool calls)\n"),
    Case("LLM_DO_MODEL accepted", w(model=None), RUN, env={"LLM_DO_MODEL": "lua:echo"}, stdout="echo: hi\n"),
    Case("LLMDO_MODEL beats LLM_DO_MODEL", w(model=None), RUN,
         env={"LLMDO_MODEL": "lua:echo", "LLM_DO_MODEL": "test"}, stdout="echo: hi\n"),
    Case("no model anywhere", w(model=None), RUN, exit=2,
         stderr=err("No model configured for worker 'main'. Set model in the worker file, pass --model, "
                    "set LLMDO_MODEL, or set model in the config file.")),
    Case("empty LLMDO_MODEL counts as unset", w(model=None), RUN, env={"LLMDO_MODEL": ""}, exit=2,
         stderr_has=["No model configured for worker 'main'"]),
    Case("model and compatible_models together", w(model="test", extra="compatible_models: ['*']"), RUN,
         exit=2, stderr=err("Worker 'main' cannot have both 'model' and 'compatible_models' set.")),
    Case("compatible_models accepts a matching env model",
         w(model=None, extra="compatible_models: ['LUA:*']"), RUN, env={"LLMDO_MODEL": "lua:echo"},
         stdout="echo: hi\n"),
    Case("compatible_models star", w(model=None, extra="compatible_models: ['*']"), RUN,
         env={"LLMDO_MODEL": "lua:echo"}, stdout="echo: hi\n"),
    Case("compatible_models rejects", w(model=None, extra="compatible_models: ['anthropic:*', 'openai:gpt-4o*']"),
         RUN, env={"LLMDO_MODEL": "lua:echo"}, exit=2,
         stderr=err("Model 'lua:echo' incompatible with 'main'. Patterns: 'anthropic:*', 'openai:gpt-4o*'")),
    Case("compatible_models is a full match", w(model=None, extra="compatible_models: ['lua:ec']"),
         RUN, env={"LLMDO_MODEL": "lua:echo"}, exit=2,
         stderr=err("Model 'lua:echo' incompatible with 'main'. Patterns: 'lua:ec'")),
    Case("compatible_models checks --model too", w(model=None, extra="compatible_models: ['anthropic:*']"),
         RUN + ["--model", "test"], exit=2,
         stderr=err("Model 'test' incompatible with 'main'. Patterns: 'anthropic:*'")),
    Case("empty compatible_models", w(model=None, extra="compatible_models: []"), RUN,
         env={"LLMDO_MODEL": "test"}, exit=2,
         stderr=err("Worker 'main' has empty compatible_models list. Use ['*'] for any model.")),
    Case("models are resolved for every worker at link time",
         basic(**{"project.lua": 'return { workers = { "main.worker", "idle.worker" }, lua = { "hello.lua" } }\n',
                  "idle.worker": worker(name="idle", model=None, entry=False)}), RUN, exit=2,
         stderr_has=["No model configured for worker 'idle'"]),
    Case("model string needs a provider", w(model="gpt-4o"), RUN, exit=2,
         stderr=err("Invalid model: expected provider:model, for example anthropic:claude-haiku-4-5 "
                    "(model 'gpt-4o' from the worker file, worker 'main')")),
    Case("unknown provider", w(model="foo:bar"), RUN, exit=2,
         stderr=err("Unknown provider 'foo'. Known providers: anthropic, lua, ollama, openai, test "
                    "(model 'foo:bar' from the worker file, worker 'main')")),
    Case("unknown provider from env names the source", w(model=None), RUN, env={"LLMDO_MODEL": "foo:bar"},
         exit=2, stderr_has=["(model 'foo:bar' from LLMDO_MODEL, worker 'main')"]),
    Case("project providers are known",
         basic(**{"project.lua": 'return { workers = { "main.worker" }, lua = { "hello.lua" }, providers = '
                                 '{ lab = { api = "openai", base_url = "http://127.0.0.1:9/v1" } } }\n',
                  "main.worker": worker(model="lab:small")}), ["check", "."], stdout_has=["  model:    lab:small\n"]),
    Case("unknown scripted model", w(model="lua:nope"), RUN, exit=2,
         stderr=err("Unknown scripted model 'lua:nope'. Exported models: ['echo'] "
                    "(model 'lua:nope' from the worker file, worker 'main')")),
    Case("check --model", w(model=None), ["check", ".", "--model", "test"], stdout_has=["  model:    test\n"]),
]

main(CASES)

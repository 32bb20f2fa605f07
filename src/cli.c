/*
** cli: argument parsing. See cli.h and the usage text below.
**
** Options and positionals may be intermixed ("llmdo run p -v 'hi'"); "--"
** ends options. Long options take their value as "--opt V" or "--opt=V".
*/
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void ld_cli_usage(FILE *out) {
  fputs("usage: llmdo run PROJECT [PROMPT] [options]\n"
        "       llmdo check PROJECT [--model MODEL] [--tools] [--connect]\n"
        "       llmdo tool PROJECT TOOL [--worker NAME] [--args JSON] [options]\n"
        "       llmdo logs [-n N] [--project P] [--status S] [--json]\n"
        "       llmdo logs show ID [--json]\n"
        "       llmdo lua SCRIPT [ARGS...]\n"
        "       llmdo --help | --version\n"
        "\n"
        "PROJECT is a project.lua, a directory holding one, or a single .worker file.\n"
        "\n"
        "commands:\n"
        "  run     link the project, run its entry with the input, print the result\n"
        "  check   link the project and list each worker, its model and its tools;\n"
        "          --tools prints every tool's JSON schema (factories run, then clean up);\n"
        "          --connect starts each MCP server once and lists its tools and schemas\n"
        "  tool    call one tool through the tool plane (validation, approval, cleanup)\n"
        "          with no model, and print what the model would see; --worker picks\n"
        "          whose tools (default: the entry worker), --args the JSON arguments\n"
        "  logs    list the journals of recent runs; 'show ID' renders one as a\n"
        "          transcript (--json: the journal's lines as they are)\n"
        "  lua     run a Lua script with the llmdo module (for embedding and tests)\n"
        "\n"
        "run options:\n"
        "  --input-json JSON   a JSON object passed whole to the entry\n"
        "  --model MODEL       model for workers that set none (before LLMDO_MODEL)\n"
        "  --max-depth N       maximum nesting of worker calls (runtime.max_depth)\n"
        "  --approve-all       approve every tool call that is not blocked\n"
        "  --reject-all        deny every tool call that needs approval\n"
        "  --headless          never use the terminal for prompts\n"
        "  --chat              interactive multi-turn session on the terminal\n"
        "  -v, -vv, -vvv       show events; -vv adds streamed text; -vvv logs messages as JSON\n"
        "  --debug             tracebacks with errors\n"
        "  --no-log            keep no journal of this run (also LLMDO_NO_LOG=1)\n"
        "  --journal FILE      write the run's journal to FILE (docs/journal.md)\n"
        "  --replay FILE       answer model requests from a journal; nothing is sent\n"
        "  --resume FILE       take model answers and tool results from a journal up\n"
        "                      to its first difference, then go on live\n"
        "\n"
        "Input precedence: --input-json, then PROMPT, then entry.input in project.lua,\n"
        "then standard input when it is not a terminal.\n"
        "\n"
        "environment: LLMDO_MODEL (or LLM_DO_MODEL) is the model for workers without one;\n"
        "ANTHROPIC_API_KEY, OPENAI_API_KEY and the *_BASE_URL variables reach providers.\n"
        "\n"
        "Journals are kept in $XDG_STATE_HOME/llmdo/runs (~/.local/state/llmdo/runs).\n"
        "\n"
        "exit status: 0 success, 1 the run failed, 2 usage or project error, 3 answer cut\n"
        "at max_tokens, 130 interrupted (docs/cli.md).\n",
        out);
}

static int fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

/* Does argv[*i] name option 'name'? Sets *val for options taking a value. */
static int take(int argc, char **argv, int *i, const char *name, const char **val, int *missing) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, name, n) != 0) return 0;
  if (!val) return a[n] == '\0';
  if (a[n] == '=') {
    *val = a + n + 1;
    return 1;
  }
  if (a[n] != '\0') return 0;
  if (*i + 1 >= argc) {
    *missing = 1;
    return 1;
  }
  *val = argv[++*i];
  return 1;
}

static int parse_depth(const char *s, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < 1 || v > 1000) return -1;
  *out = (int)v;
  return 0;
}

/* The command word: 0, 1 when parsing is done (help, version), or -1. */
static int parse_command(const char *cmd, ld_cli *o, char *err, size_t errlen) {
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    o->command = LD_CMD_HELP;
    return 1;
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    o->command = LD_CMD_VERSION;
    return 1;
  }
  if (strcmp(cmd, "run") == 0)
    o->command = LD_CMD_RUN;
  else if (strcmp(cmd, "check") == 0)
    o->command = LD_CMD_CHECK;
  else if (strcmp(cmd, "lua") == 0)
    o->command = LD_CMD_LUA;
  else if (strcmp(cmd, "tool") == 0)
    o->command = LD_CMD_TOOL;
  else if (strcmp(cmd, "logs") == 0)
    o->command = LD_CMD_LOGS;
  else if (cmd[0] == '-')
    return fail(err, errlen, "unknown option '%s' (expected a command first; see llmdo --help)", cmd);
  else
    return fail(err, errlen, "unknown command '%s' (expected run, check, tool, logs or lua)", cmd);
  return 0;
}

/* llmdo lua SCRIPT [ARGS...]: everything after SCRIPT is the script's. */
static int parse_lua(int argc, char **argv, ld_cli *o, char *err, size_t errlen) {
  if (argc < 3) return fail(err, errlen, "lua: missing SCRIPT");
  if (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) {
    o->command = LD_CMD_HELP;
    return 0;
  }
  o->script = argv[2];
  o->nargs = argc - 3;
  o->args = argv + 3;
  return 0;
}

/* A flag of llmdo logs. Returns 0, or -1. */
static int parse_logs_flag(int argc, char **argv, int *i, ld_cli *o, char *err, size_t errlen) {
  const char *a = argv[*i], *val = NULL;
  int missing = 0;
  if (strcmp(a, "--json") == 0) {
    o->json = 1;
  } else if (take(argc, argv, i, "-n", &val, &missing)) {
    char *end;
    long n = missing ? 0 : strtol(val, &end, 10);
    if (missing || *end || n < 1 || n > 100000)
      return fail(err, errlen, "-n: expected a number of runs from 1 to 100000%s%s%s",
                  missing ? "" : ", got '", missing ? "" : val, missing ? "" : "'");
    o->logs_n = (int)n;
  } else if (take(argc, argv, i, "--project", &val, &missing)) {
    if (missing || !*val) return fail(err, errlen, "option '--project' needs a value");
    o->logs_project = val;
  } else if (take(argc, argv, i, "--status", &val, &missing)) {
    if (missing || !*val)
      return fail(err, errlen, "option '--status' needs a value (ok, failed, cancelled, ...)");
    o->logs_status = val;
  } else {
    return fail(err, errlen, "option '%s' does not apply to 'logs'", a);
  }
  return 0;
}

/* A value-taking flag of run: the journal's. Returns 1 if taken, 0, or -1. */
static int parse_journal_flag(int argc, char **argv, int *i, ld_cli *o, char *err, size_t errlen) {
  static const char *const names[] = {"--journal", "--replay", "--resume"};
  const char **slots[] = {&o->journal, &o->replay, &o->resume};
  for (int k = 0; k < 3; k++) {
    const char *val = NULL;
    int missing = 0;
    if (!take(argc, argv, i, names[k], &val, &missing)) continue;
    if (missing || !*val) return fail(err, errlen, "option '%s' needs a journal file", names[k]);
    *slots[k] = val;
    return 1;
  }
  return 0;
}

/* The flag at argv[*i] (its value may take argv[*i + 1]): 0, 1 when
** parsing is done (--help), or -1. */
static int parse_flag(int argc, char **argv, int *i, ld_cli *o, char *err, size_t errlen) {
  const char *a = argv[*i], *val = NULL;
  int missing = 0, r;
  if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
    o->command = LD_CMD_HELP;
    return 1;
  } else if (strcmp(a, "--debug") == 0) {
    o->debug = 1;
  } else if (o->command == LD_CMD_LOGS) {
    return parse_logs_flag(argc, argv, i, o, err, errlen);
  } else if (take(argc, argv, i, "--model", &val, &missing)) {
    if (missing) return fail(err, errlen, "option '--model' needs a value");
    if (!*val) return fail(err, errlen, "option '--model' needs a non-empty value");
    o->model = val;
  } else if (o->command == LD_CMD_CHECK && strcmp(a, "--tools") == 0) {
    o->tools = 1;
  } else if (o->command == LD_CMD_CHECK && strcmp(a, "--connect") == 0) {
    o->connect = 1;
  } else if (o->command == LD_CMD_TOOL && take(argc, argv, i, "--worker", &val, &missing)) {
    if (missing || !*val) return fail(err, errlen, "option '--worker' needs a worker name");
    o->worker = val;
  } else if (o->command == LD_CMD_TOOL && take(argc, argv, i, "--args", &val, &missing)) {
    if (missing) return fail(err, errlen, "option '--args' needs a JSON object");
    o->args_json = val;
  } else if (o->command == LD_CMD_CHECK ||
             (o->command == LD_CMD_TOOL && strcmp(a, "--approve-all") && strcmp(a, "--reject-all") &&
              strcmp(a, "--headless") && strcmp(a, "--verbose") &&
              !(a[1] == 'v' && strspn(a + 1, "v") == strlen(a + 1)))) {
    return fail(err, errlen, "option '%s' does not apply to '%s'", a,
                o->command == LD_CMD_CHECK ? "check" : "tool");
  } else if (take(argc, argv, i, "--input-json", &val, &missing)) {
    if (missing) return fail(err, errlen, "option '--input-json' needs a value");
    o->input_json = val;
  } else if (take(argc, argv, i, "--max-depth", &val, &missing)) {
    if (missing) return fail(err, errlen, "option '--max-depth' needs a value");
    if (parse_depth(val, &o->max_depth) != 0)
      return fail(err, errlen, "--max-depth: expected an integer from 1 to 1000, got '%s'", val);
  } else if (strcmp(a, "--approve-all") == 0) {
    o->approve_all = 1;
  } else if (strcmp(a, "--reject-all") == 0) {
    o->reject_all = 1;
  } else if (strcmp(a, "--headless") == 0) {
    o->headless = 1;
  } else if (strcmp(a, "--chat") == 0) {
    o->chat = 1;
  } else if (o->command == LD_CMD_RUN && strcmp(a, "--no-log") == 0) {
    o->no_log = 1;
  } else if (o->command == LD_CMD_RUN && (r = parse_journal_flag(argc, argv, i, o, err, errlen)) != 0) {
    return r < 0 ? r : 0;
  } else if (strcmp(a, "--verbose") == 0) {
    o->verbose++;
  } else if (a[1] == 'v' && strspn(a + 1, "v") == strlen(a + 1)) {
    o->verbose += (int)strlen(a + 1);
  } else {
    return fail(err, errlen, "unknown option '%s'", a);
  }
  return 0;
}

const char *ld_cli_command_name(int command) {
  static const char *const names[] = {"", "run", "check", "lua", "", "", "tool", "logs"};
  return command >= 0 && command < (int)(sizeof names / sizeof *names) ? names[command] : "";
}

/* What the flags must agree on once all are read. */
static int check_parsed(ld_cli *o, char *err, size_t errlen) {
  if (o->verbose > 3) o->verbose = 3;
  if (o->command == LD_CMD_LOGS) {
    if (o->logs_action && strcmp(o->logs_action, "show") != 0)
      return fail(err, errlen, "logs: unknown action '%s' (expected 'show ID', or nothing to list runs)",
                  o->logs_action);
    if (o->logs_action && !o->logs_id) return fail(err, errlen, "logs show: missing ID (see llmdo logs)");
    return 0;
  }
  if (!o->project)
    return fail(err, errlen, "%s: missing PROJECT (a project.lua, its directory, or a .worker file)",
                ld_cli_command_name(o->command));
  if (o->command == LD_CMD_TOOL && !o->tool) return fail(err, errlen, "tool: missing TOOL (the tool's name)");
  if (o->approve_all && o->reject_all)
    return fail(err, errlen, "--approve-all and --reject-all cannot be combined");
  if (o->replay && o->resume) return fail(err, errlen, "--replay and --resume cannot be combined");
  if (o->journal && o->chat)
    return fail(err, errlen,
                "--journal cannot be combined with --chat (each turn is a run with its own journal)");
  if ((o->replay || o->resume) && o->chat)
    return fail(err, errlen, "%s cannot be combined with --chat", o->replay ? "--replay" : "--resume");
  return 0;
}

int ld_cli_parse(int argc, char **argv, ld_cli *o, char *err, size_t errlen) {
  memset(o, 0, sizeof *o);
  o->argc = argc, o->argv = argv;
  if (argc < 2) return fail(err, errlen, "missing command (run, check or lua; see llmdo --help)");
  int r = parse_command(argv[1], o, err, errlen);
  if (r != 0) return r < 0 ? r : 0;
  if (o->command == LD_CMD_LUA) return parse_lua(argc, argv, o, err, errlen);
  int only_positional = 0, npos = 0;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (only_positional || a[0] != '-' || strcmp(a, "-") == 0) {
      if (npos == 0 && o->command == LD_CMD_LOGS)
        o->logs_action = a;
      else if (npos == 0)
        o->project = a;
      else if (npos == 1 && o->command == LD_CMD_RUN)
        o->prompt = a;
      else if (npos == 1 && o->command == LD_CMD_TOOL)
        o->tool = a;
      else if (npos == 1 && o->command == LD_CMD_LOGS)
        o->logs_id = a;
      else
        return fail(err, errlen, "unexpected argument '%s'", a);
      npos++;
    } else if (strcmp(a, "--") == 0) {
      only_positional = 1;
    } else if ((r = parse_flag(argc, argv, &i, o, err, errlen)) != 0) {
      return r < 0 ? r : 0;
    }
  }
  return check_parsed(o, err, errlen);
}

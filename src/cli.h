/*
** cli: command-line parsing (pure: no Lua, no I/O besides the usage text).
*/
#ifndef LD_CLI_H
#define LD_CLI_H

#include <stddef.h>
#include <stdio.h>

enum {
  LD_CMD_NONE,
  LD_CMD_RUN,
  LD_CMD_CHECK,
  LD_CMD_LUA,
  LD_CMD_HELP,
  LD_CMD_VERSION,
  LD_CMD_TOOL,
  LD_CMD_LOGS
};

/* The word that names a command ("run", "check", "lua", "tool", "logs"; "" for the others). */
const char *ld_cli_command_name(int command);

typedef struct ld_cli {
  int command;
  const char *project;
  const char *prompt; /* NULL when not given */
  const char *input_json;
  const char *model;
  int max_depth; /* 0: not given */
  int approve_all, reject_all, headless, chat, debug;
  int verbose; /* 0..3 */
  /* llmdo tool PROJECT TOOL [--worker NAME] [--args JSON]; llmdo check --tools */
  const char *tool;
  const char *worker;
  const char *args_json;
  int tools;
  int connect; /* llmdo check --connect: start the MCP servers */
  /* the run's journal: --no-log, --journal FILE, --replay FILE, --resume FILE */
  int no_log;
  const char *journal, *replay, *resume;
  /* llmdo logs [show ID] [-n N] [--project P] [--status S] [--json] */
  const char *logs_action, *logs_id, *logs_project, *logs_status;
  int logs_n, json;
  /* the whole command line, as given (the journal records it) */
  int argc;
  char **argv;
  /* llmdo lua SCRIPT [ARGS...] */
  const char *script;
  int nargs;
  char **args;
} ld_cli;

/* Parses argv into o. Returns 0, or -1 with a one-line message in err. */
int ld_cli_parse(int argc, char **argv, ld_cli *o, char *err, size_t errlen);

void ld_cli_usage(FILE *out);

#endif

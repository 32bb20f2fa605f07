/* cli: flags, positionals and their errors. */
#include "cli.h"
#include "unit.h"

static int parse(ld_cli *o, char *err, const char *a0, const char *a1, const char *a2, const char *a3,
                 const char *a4) {
  const char *argv[] = {"llmdo", a0, a1, a2, a3, a4, NULL};
  int argc = 1;
  while (argv[argc]) argc++;
  return ld_cli_parse(argc, (char **)argv, o, err, 256);
}

void suite_cli(void) {
  ld_cli o;
  char err[256];
  CHECK(parse(&o, err, "run", "proj", "hello", "-vv", NULL) == 0);
  CHECK(o.command == LD_CMD_RUN && o.verbose == 2);
  CHECK_STR(o.project, "proj");
  CHECK_STR(o.prompt, "hello");
  CHECK(parse(&o, err, "run", "-v", "proj", "--model=test", "--max-depth=3") == 0);
  CHECK_STR(o.model, "test");
  CHECK(o.max_depth == 3 && o.verbose == 1 && !o.prompt);
  CHECK(parse(&o, err, "run", "proj", "--", "--not-a-flag", NULL) == 0);
  CHECK_STR(o.prompt, "--not-a-flag");
  CHECK(parse(&o, err, "check", "proj", NULL, NULL, NULL) == 0 && o.command == LD_CMD_CHECK);
  CHECK(parse(&o, err, "--version", NULL, NULL, NULL, NULL) == 0 && o.command == LD_CMD_VERSION);
  CHECK(parse(&o, err, "run", "--help", NULL, NULL, NULL) == 0 && o.command == LD_CMD_HELP);

  CHECK(parse(&o, err, "run", "proj", "--frob", NULL, NULL) == -1);
  CHECK_STR(err, "unknown option '--frob'");
  CHECK(parse(&o, err, "run", "proj", "--model", NULL, NULL) == -1);
  CHECK_STR(err, "option '--model' needs a value");
  CHECK(parse(&o, err, "run", "proj", "--max-depth", "0", NULL) == -1);
  CHECK_STR(err, "--max-depth: expected an integer from 1 to 1000, got '0'");
  CHECK(parse(&o, err, "run", "proj", "a", "b", NULL) == -1);
  CHECK_STR(err, "unexpected argument 'b'");
  CHECK(parse(&o, err, "run", NULL, NULL, NULL, NULL) == -1);
  CHECK(strstr(err, "missing PROJECT") != NULL);
  CHECK(parse(&o, err, "run", "p", "--approve-all", "--reject-all", NULL) == -1);
  CHECK_STR(err, "--approve-all and --reject-all cannot be combined");
  CHECK(parse(&o, err, "check", "p", "--input-json", "{}", NULL) == -1);
  CHECK_STR(err, "option '--input-json' does not apply to 'check'");
  CHECK(parse(&o, err, "frobnicate", NULL, NULL, NULL, NULL) == -1);
  CHECK_STR(err, "unknown command 'frobnicate' (expected run, check, tool, logs or lua)");
  CHECK(parse(&o, err, "run", "p", "-vx", NULL, NULL) == -1);
}

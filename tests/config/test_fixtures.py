"""The fixture replay test (lua_fixtures) when the recorded fixtures are
missing: a local build warns and leaves it out; with CI set it is registered
and fails, saying what is missing. Configures throwaway build directories:

    python3 tests/config/test_fixtures.py CMAKE CTEST SOURCE_DIR
"""
import json, os, subprocess, sys, tempfile

cmake, ctest, source = sys.argv[1:4]


def configure(build, fixtures, ci):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    p = subprocess.run([cmake, "-S", source, "-B", build, f"-DLLMDO_FIXTURES={fixtures}"], env=env,
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"configuring failed: {p.stderr}")
    return p.stderr


def registered(build):
    """The lua_fixtures test's command ([] when it runs llmdo, which these
    directories never build), or None when there is no such test."""
    p = subprocess.run([ctest, "--show-only=json-v1"], cwd=build, capture_output=True, text=True, check=True)
    for t in json.loads(p.stdout)["tests"]:
        if t["name"] == "lua_fixtures":
            return t.get("command", [])
    return None


problems = []
with tempfile.TemporaryDirectory(prefix="llmdo-config-") as tmp:
    missing = os.path.join(tmp, "missing")
    present = os.path.join(tmp, "fixtures")
    os.mkdir(present)
    open(os.path.join(present, "INDEX.json"), "w").write("[]\n")

    build = os.path.join(tmp, "local")
    err = configure(build, missing, None)
    if registered(build) is not None:
        problems.append("without CI, missing fixtures still registered lua_fixtures")
    if "recorded fixtures not found at " + missing not in err:
        problems.append(f"without CI, no warning about the missing fixtures: {err!r}")

    build = os.path.join(tmp, "ci")
    configure(build, missing, "true")
    if registered(build) is None:
        problems.append("with CI set, missing fixtures left lua_fixtures out")
    else:
        p = subprocess.run([ctest, "-R", "^lua_fixtures$", "--output-on-failure"], cwd=build, capture_output=True,
                           text=True)
        if p.returncode == 0:
            problems.append("with CI set and no fixtures, lua_fixtures passed")
        if "recorded fixtures not found at " + missing not in p.stdout:
            problems.append(f"the failing lua_fixtures does not say what is missing: {p.stdout!r}")

    build = os.path.join(tmp, "ci-false")
    configure(build, missing, "false")
    if registered(build) is not None:
        problems.append("CI=false counted as CI")

    build = os.path.join(tmp, "present")
    configure(build, present, "true")
    command = registered(build)
    if command != []:
        problems.append(f"with fixtures, lua_fixtures does not run llmdo on them: {command!r}")

for p in problems:
    print("FAIL " + p)
print("ok" if not problems else f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)

"""The production image is lean and locked: the lock files agree with pyproject.toml, the
image installs only the runtime dependencies (no MongoDB emulator, no test tools), and
its Dockerfile builds in two stages and runs as a non-root user without build tools.

No Docker engine here: the Dockerfile is read with ``dockerfile-parse``, never built.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from shared.ops_format import progress_bar

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PRODUCTION = ROOT / "requirements" / "production.txt"
DEV = ROOT / "requirements" / "dev.txt"
OURS = "business-account-platform (pyproject.toml)"
# What must never reach the image, whatever the extras are called.
NEVER_IN_PRODUCTION = {"nx-27017", "neosqlite", "pytest", "pytest-asyncio", "aiosmtpd", "uv",
                       "tqdm", "kubernetes-validate", "dockerfile-parse"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(requirements: list[str]) -> dict[str, str]:
    """``name==version`` lines of pyproject.toml as {canonical name: version}."""
    out = {}
    for line in requirements:
        name, sep, version = line.partition("==")
        assert sep, f"{line!r} in pyproject.toml is not pinned with =="
        out[canonical(name)] = version.strip()
    return out


def locked(path: Path) -> dict[str, tuple[str, set[str], int]]:
    """A uv/pip-tools lock file: {name: (version, what it is required by, number of hashes)}."""
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing: run `make lock`"
    entries: dict[str, tuple[str, set[str], int]] = {}
    current = None
    in_via = False
    for raw in path.read_text().splitlines():
        line = raw.strip()
        match = re.match(r"^([A-Za-z0-9][\w.-]*)==([^\s;\\]+)", raw)
        if match:
            current = canonical(match.group(1))
            entries[current] = (match.group(2), set(), 0)
            in_via = False
            continue
        if current is None:
            continue
        version, via, hashes = entries[current]
        if line.startswith("--hash=sha256:"):
            entries[current] = (version, via, hashes + 1)
        elif line.startswith("# via "):
            via.add(line[len("# via "):].strip())
        elif line == "# via":
            in_via = True
        elif in_via and line.startswith("#   "):
            via.add(line[4:].strip())
        else:
            in_via = False
    return entries


def direct(lock: dict[str, tuple[str, set[str], int]]) -> dict[str, str]:
    return {name: version for name, (version, via, _) in lock.items() if OURS in via}


RUNTIME = pins(PYPROJECT["project"]["dependencies"])
EXTRAS = {extra: pins(reqs)
          for extra, reqs in PYPROJECT["project"]["optional-dependencies"].items()}


# -- the lock files ------------------------------------------------------------------------

def test_production_lock_pins_exactly_the_runtime_dependencies_of_pyproject() -> None:
    assert direct(locked(PRODUCTION)) == RUNTIME, \
        "requirements/production.txt and pyproject.toml's dependencies disagree: `make lock`"


def test_dev_lock_pins_the_runtime_dependencies_and_every_extra() -> None:
    wanted = dict(RUNTIME)
    for extra in EXTRAS.values():
        wanted.update(extra)
    assert direct(locked(DEV)) == wanted, \
        "requirements/dev.txt and pyproject.toml (dependencies + extras) disagree: `make lock`"


def test_what_ships_is_what_the_tests_ran_with() -> None:
    # Every package of the image is in the development environment at the same version.
    production, dev = locked(PRODUCTION), locked(DEV)
    differ = {n: (v, dev.get(n, ("missing",))[0]) for n, (v, _, _) in production.items()
              if dev.get(n, ("missing",))[0] != v}
    assert not differ, f"production vs dev lock: {differ}"


@pytest.mark.parametrize("path", [PRODUCTION, DEV], ids=lambda p: p.name)
def test_every_locked_package_has_hashes(path) -> None:
    missing = [n for n, (_, _, hashes) in locked(path).items() if hashes == 0]
    assert not missing, f"{path.name}: no --hash for {missing}"


def test_production_lock_excludes_the_emulator_the_test_and_the_dev_tools() -> None:
    production = set(locked(PRODUCTION))
    tools = {name for extra in EXTRAS.values() for name in extra} | NEVER_IN_PRODUCTION
    leaked = (production & tools) - set(RUNTIME)
    assert not leaked, f"the image would install {sorted(leaked)}"
    assert "nx-27017" not in production and "pytest" not in production


def test_make_install_and_the_dockerfile_use_the_lock_files() -> None:
    makefile = (ROOT / "Makefile").read_text()
    install = makefile.split("$(STAMP): ", 1)[1].split("\n\n", 1)[0]
    assert "--require-hashes -r $(LOCK_DEV)" in install
    assert "LOCK_DEV := requirements/dev.txt" in makefile
    assert re.search(r"^lock:", makefile, re.M), "no `make lock` target"
    runs = " ".join(i["value"] for i in dockerfile().structure if i["instruction"] == "RUN")
    assert "--require-hashes" in runs and "production.txt" in runs


# -- the code the image runs imports only what the image has -------------------------------

def third_party_imports(path: Path) -> set[str]:
    """Top-level modules imported by ``path``, leaving out imports guarded by ImportError."""
    tree = ast.parse(path.read_text())
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id in ("ImportError",
                                                               "ModuleNotFoundError")
                for h in node.handlers):
            guarded.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    names = set()
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names
            and n not in ("shared", "services", "__future__")}


def test_the_services_import_nothing_the_image_does_not_install() -> None:
    production = set(locked(PRODUCTION))
    providers = importlib.metadata.packages_distributions()
    problems = []
    for path in sorted([*ROOT.joinpath("shared").rglob("*.py"),
                        *ROOT.joinpath("services").rglob("*.py")]):
        for module in third_party_imports(path):
            dists = {canonical(d) for d in providers.get(module, [])}
            if not dists & production:
                problems.append(f"{path.relative_to(ROOT)} imports {module} "
                                f"({', '.join(sorted(dists)) or 'not installed'})")
    assert not problems, "not in requirements/production.txt:\n" + "\n".join(problems)


def test_ops_cli_replays_without_its_progress_bar(monkeypatch) -> None:
    # tqdm is the `ops` extra: the image has none, and the CLI still works, without a bar.
    monkeypatch.setitem(sys.modules, "tqdm", None)
    bar = progress_bar(3, True)
    for _ in range(3):
        bar.update(1)
        bar.set_postfix(moved=1, refresh=False)
    bar.close()
    result = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['tqdm'] = None; import runpy; "
         "sys.argv = ['shared.ops', '--help']; runpy.run_module('shared.ops', "
         "run_name='__main__')"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "parked" in result.stdout


# -- the Dockerfile ------------------------------------------------------------------------

def dockerfile() -> DockerfileParser:
    parser = DockerfileParser(path=str(ROOT / "Dockerfile"), cache_content=True)
    return parser


def stages() -> list[list[dict]]:
    out: list[list[dict]] = []
    for instruction in dockerfile().structure:
        if instruction["instruction"] == "FROM":
            out.append([])
        if out:
            out[-1].append(instruction)
    return out


def values(stage: list[dict], name: str) -> list[str]:
    return [i["value"] for i in stage if i["instruction"] == name]


def test_dockerfile_builds_in_two_stages_and_the_final_one_copies_the_environment() -> None:
    build, final = stages()[0], stages()[-1]
    assert len(stages()) >= 2, "a single-stage image carries its build tooling"
    stage_name = values(build, "FROM")[0].split()[-1]
    assert " as " in values(build, "FROM")[0].lower()
    copies = values(final, "COPY")
    assert any(c.startswith(f"--from={stage_name} ") for c in copies), \
        "the final stage does not copy the environment built in the first"
    # From the build context, only the code: no tests, no dev lock, no pyproject extras.
    context = [c for c in copies if not c.startswith("--from=")]
    assert sorted(c.split()[0] for c in context) == ["services", "shared"]


def test_final_stage_has_no_build_or_install_tools_and_runs_as_non_root() -> None:
    final = stages()[-1]
    runs = " ".join(values(final, "RUN"))
    for tool in ("pip install", "apt-get install", "apk add", "gcc", "build-essential",
                 "requirements/dev.txt"):
        assert tool not in runs, f"the final stage runs {tool!r}"
    users = values(final, "USER")
    assert users, "the final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"the final stage runs as {users[-1]!r}"
    # Before USER: the image's own pip is removed, and bytecode is compiled (read-only root).
    assert "pip uninstall" in runs and "compileall" in runs
    assert values(final, "FROM")[0].startswith("python:3.11-slim")


def test_build_stage_installs_only_wheels_checked_against_their_hashes() -> None:
    runs = " ".join(values(stages()[0], "RUN"))
    assert "--require-hashes" in runs and "--only-binary=:all:" in runs and "--no-deps" in runs
    assert "production.txt" in runs and "dev.txt" not in runs


def test_dockerfile_passes_hadolint() -> None:
    # hadolint's own rules (pinned versions, no cache, exec-form CMD, ...), with no exceptions.
    hadolint = Path(sys.executable).with_name("hadolint")
    assert hadolint.exists(), "hadolint is missing from the venv: make install"
    result = subprocess.run([str(hadolint), "--no-color", str(ROOT / "Dockerfile")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr

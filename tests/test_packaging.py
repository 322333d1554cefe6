"""Setup files agree with each other: pyproject.toml, environment.yml (Binder), postBuild, README, .ci/run."""

from __future__ import annotations

import re
import subprocess
import sys

import tomllib
from course_helpers import CHAPTERS, ROOT

import logits_to_loss

CONDA_NAMES = {"torch": "pytorch-cpu"}  # conda-forge's CPU-only build of the same package
CONDA_ONLY = {"python", "pip"}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;]", requirement.strip(), maxsplit=1)[0].lower()


def _pyproject_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += [r for r in extra if not r.startswith(project["name"])]
    return {CONDA_NAMES.get(_name(r), _name(r)) for r in reqs}


def _environment_names() -> set[str]:
    lines = (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1].splitlines()
    deps = [line.strip()[2:].split("#")[0] for line in lines if line.strip().startswith("- ")]
    return {_name(d) for d in deps} - CONDA_ONLY


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    """Binder's environment.yml and pyproject.toml list the same packages (torch as pytorch-cpu)."""
    assert _environment_names() == _pyproject_names()


def test_environment_yml_uses_conda_forge_and_cpu_torch():
    """conda-forge only, and a CPU-only torch that fits Binder."""
    text = (ROOT / "environment.yml").read_text()
    assert "- conda-forge" in text and "- pytorch\n" not in text and "pytorch-cpu" in text


def test_torch_is_pinned_for_pip():
    """pip's torch requirement is pinned, so no CUDA build is pulled in by a loose range."""
    course = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["course"]
    assert any(re.fullmatch(r"torch==[\d.]+", r) for r in course)


def test_postbuild_installs_the_package():
    """repo2docker installs environment.yml before the repo is copied, so postBuild installs the package."""
    post = (ROOT / "postBuild").read_text()
    assert post.startswith("#!") and "pip install" in post and "-e ." in post
    assert (ROOT / "postBuild").stat().st_mode & 0o111


def test_ci_runs_the_readme_test_command():
    """.ci/run runs exactly the test command the README prints."""
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"^(python3 course\.py test)\b", readme, re.M).group(1)
    assert command in (ROOT / ".ci" / "run").read_text()


def test_every_public_function_is_exported_and_documented():
    """Everything in __all__ exists at the top level with a docstring; chapter numbers live in the registry only."""
    for name in logits_to_loss.__all__:
        doc = getattr(logits_to_loss, name).__doc__ or ""
        assert doc.strip(), f"{name}: no docstring"
        assert not re.search(r"[Cc]hapter \d", doc), f"{name}: a chapter number in a library docstring"


def test_no_module_is_shadowed_by_a_function():
    """No public name of the package is also the name of one of its modules."""
    modules = {p.stem for p in (ROOT / "src" / "logits_to_loss").glob("*.py")}
    assert not modules & set(logits_to_loss.__all__)


def test_reference_library_needs_numpy_only():
    """Importing the reference library pulls in neither matplotlib, ipywidgets, torch nor nbgrader."""
    code = "import sys, logits_to_loss; print(sorted(m for m in ('matplotlib', 'ipywidgets', 'torch', 'nbgrader') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_readme_course_map_is_current():
    """The README's course map is what `course.py regenerate` writes from the chapter registry."""
    from logits_to_loss.authoring import course_map

    assert course_map(ROOT) in (ROOT / "README.md").read_text(), "run `python3 course.py regenerate`"


def test_binder_badges_open_existing_notebooks():
    """Every Binder badge opens JupyterLab on a notebook that exists, in the repository named in pyproject.toml."""
    from logits_to_loss.authoring import repository

    urls = re.findall(r"\((https://mybinder\.org/v2/gh/[^)]+)\)", (ROOT / "README.md").read_text())
    assert len(urls) == len(CHAPTERS)
    for url in urls:
        repo, path = re.fullmatch(r"https://mybinder\.org/v2/gh/(.+)/HEAD\?urlpath=lab/tree/(.+)", url).groups()
        assert repo == repository(ROOT) and (ROOT / path).is_file(), url


def test_ruff_is_clean():
    """`ruff check` (configured in pyproject.toml) finds nothing in the library, tests, benchmarks and tooling."""
    ruff = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests", "bench", "course.py", "grader"],
                          cwd=ROOT, capture_output=True, text=True)
    assert ruff.returncode == 0, ruff.stdout[-3000:]


def test_plots_use_the_colour_blind_safe_palette():
    """No explorer names a colour of matplotlib's default (tab:) palette; they use PALETTE (Okabe-Ito)."""
    for path in (ROOT / "src" / "logits_to_loss" / "explorers").glob("*.py"):
        assert not re.search(r"[\"']tab:\w+[\"']", path.read_text()), path.name


def test_readme_screenshots_exist():
    """Every screenshot the README shows was taken by the browser suite and committed."""
    shots = re.findall(r"\]\((docs/screenshots/[^)]+\.png)\)", (ROOT / "README.md").read_text())
    assert shots and all((ROOT / shot).is_file() for shot in shots), shots

"""How the image check reads a Dockerfile and a .dockerignore, and what the project's own say."""

from pathlib import Path

import pytest

from tests.image.dockerfile import DockerfileError, DockerIgnore, parse_dockerfile, parse_env, parse_mounts
from tests.image.layout import BuiltStage

ROOT = Path(__file__).resolve().parents[2]


def test_continuations_comments_flags_and_both_forms_are_read_as_docker_reads_them():
    global_args, stages = parse_dockerfile(
        "# syntax=docker/dockerfile:1\n"
        "ARG BASE=python:3.11-slim\n"
        "FROM ${BASE} AS builder\n"
        "RUN --mount=type=cache,target=/root/.cache/pip \\\n"
        "    # a comment inside a continuation is dropped\n"
        "    pip wheel \\\n"
        "      --wheel-dir /wheels .\n"
        "FROM python:3.11-slim\n"
        'CMD ["gunicorn", "app:wsgi"]\n'
    )
    assert global_args == {"BASE": "python:3.11-slim"}
    assert [(stage.base, stage.name) for stage in stages] == [
        ("python:3.11-slim", "builder"),
        ("python:3.11-slim", None),
    ]
    run = stages[0].instructions[0]
    assert (run.keyword, run.args) == ("RUN", "pip wheel --wheel-dir /wheels .")
    assert parse_mounts(run.flags["mount"]) == [{"type": "cache", "target": "/root/.cache/pip"}]
    assert stages[1].instructions[0].args == ["gunicorn", "app:wsgi"]


def test_an_instruction_the_check_cannot_reproduce_is_refused_not_skipped():
    with pytest.raises(DockerfileError, match="does not reproduce ADD"):
        parse_dockerfile("FROM python:3.11-slim\nADD https://example.com/x.tar.gz /x\n")
    with pytest.raises(DockerfileError, match="continuation"):
        parse_dockerfile("FROM python:3.11-slim\nRUN echo \\\n")


def test_env_takes_pairs_with_quotes_and_substitution():
    assert parse_env('A=1 B="two words" C=${A}/x', {}) == {"A": "1", "B": "two words", "C": "1/x"}
    assert parse_env("LEGACY value with spaces", {}) == {"LEGACY": "value with spaces"}


def test_bind_mounts_from_another_stage_keep_their_source_and_target():
    assert parse_mounts("type=bind,from=builder,source=/wheels,target=/wheels") == [
        {"type": "bind", "from": "builder", "source": "/wheels", "target": "/wheels"}
    ]


@pytest.mark.parametrize(
    ("rules", "path", "excluded"),
    [
        ("tests", "tests/test_x.py", True),
        ("tests", "partnerportal/tests.py", False),
        ("**/__pycache__", "a/b/__pycache__/c.cpython-311.pyc", True),
        ("**/*.py[cod]", "a/b.pyc", True),
        ("**/*.py[cod]", "a/b.py", False),
        ("*.egg-info", "x.egg-info/PKG-INFO", True),
        ("*.egg-info", "a/x.egg-info/PKG-INFO", False),
        ("docs\n!docs/keep.md", "docs/keep.md", False),
        ("docs\n!docs/keep.md", "docs/other.md", True),
        (".env\n.env.*", ".env.production", True),
    ],
)
def test_dockerignore_patterns_match_as_docker_matches_them(rules, path, excluded):
    assert DockerIgnore(rules).excluded(path) is excluded


def test_the_build_context_has_every_package_and_no_tests_caches_or_secrets(tmp_path):
    (tmp_path / "pkg" / "templates").mkdir(parents=True)
    for name in [
        "pkg/__init__.py",
        "pkg/templates/a.html",
        "pkg/__pycache__/x.pyc",
        "tests/test_a.py",
        ".env",
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    files = DockerIgnore((ROOT / ".dockerignore").read_text()).context_files(tmp_path)
    assert files == ["pkg/__init__.py", "pkg/templates/a.html"]


def test_the_projects_context_holds_each_top_level_package_and_what_the_wheel_build_needs():
    ignore = DockerIgnore((ROOT / ".dockerignore").read_text())
    packages = [p.parent.name for p in ROOT.glob("*/__init__.py") if p.parent.name != "tests"]
    assert packages, "no top-level package found"
    for package in packages:
        assert not ignore.excluded(f"{package}/__init__.py"), package
    for needed in ["pyproject.toml", "README.md", "MANIFEST.in", "manage.py"]:
        assert not ignore.excluded(needed), needed
    for left_out in [
        "tests/conftest.py",
        ".venv/bin/python",
        "var/partnerportal.sqlite3",
        ".git/HEAD",
        ".env",
    ]:
        assert ignore.excluded(left_out), left_out


def test_the_project_dockerfile_builds_wheels_then_installs_them_as_a_user_in_a_slim_stage():
    _, stages = parse_dockerfile((ROOT / "Dockerfile").read_text())
    builder, final = stages[0], stages[-1]
    assert len(stages) == 2 and builder.name == "builder"
    assert "slim" in final.base
    final_runs = [i for i in final.instructions if i.keyword == "RUN"]
    assert not any("build-essential" in str(run.args) or "gcc" in str(run.args) for run in final_runs)
    # The final stage takes no source from the context but manage.py: the packages come from the wheels.
    copies = [i.args for i in final.instructions if i.keyword == "COPY" and "from" not in i.flags]
    assert copies == ["manage.py ./"]
    assert [i.args for i in final.instructions if i.keyword == "USER"] == ["portal"]


def test_image_paths_are_pointed_into_the_layout_and_system_paths_are_left_alone(tmp_path):
    stage = BuiltStage(
        name="s", index=0, base="python:3.11-slim", rootfs=tmp_path / "rootfs", python_home=tmp_path / "py"
    )
    stage.learn_paths("pip wheel --wheel-dir /wheels . && cp x /app/y")
    command = "pip wheel --wheel-dir /wheels . > /dev/null; DATABASE_URL=sqlite:////tmp/b.sqlite3 /usr/local/bin/python"
    rewritten = stage.rewrite(command)
    assert f"--wheel-dir {tmp_path}/rootfs/wheels ." in rewritten
    assert "> /dev/null" in rewritten
    assert f"sqlite:///{tmp_path}/rootfs/tmp/b.sqlite3" in rewritten
    assert f"{tmp_path}/py/bin/python" in rewritten
    # A URL whose host happens to be a word is not a path.
    assert stage.rewrite("redis://redis:6379/0") == "redis://redis:6379/0"
    assert stage.host_path("/usr/bin/sh") == Path("/usr/bin/sh")
    assert stage.host_path("/app/static") == tmp_path / "rootfs" / "app" / "static"

"""Settings: the user's and the project's config.toml, then the environment, then flags.

Real files in real folders (the autouse fixture points XDG_CONFIG_HOME into the test's folder
and makes that folder the current one), the real CLI in-process, and real stores.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from evaltui import settings
from evaltui.errors import InputError, InputErrors
from evaltui.settings import load
from tests.conftest import REPO, CliResult

EXAMPLE = (
    "--rollback",
    "ci-answerer-v1",  # the version in production: no run of the store has it
    "--rollback-external",
    "--limitation",
    "requires production review",
)


def user_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "xdg-config" / "evaltui" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def project_config(project: Path, text: str) -> Path:
    path = project / ".evaltui" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_no_config_and_no_environment_is_all_unset(tmp_path: Path) -> None:
    found = load(environ={"XDG_CONFIG_HOME": str(tmp_path / "none")}, cwd=tmp_path)
    assert found == settings.Settings()


def test_later_sources_win_user_then_project_then_environment(tmp_path: Path) -> None:
    user_config(tmp_path, 'reviewer = "user@x"\nwait = 1\ntheme = "nord"\n')
    project = tmp_path / "repo"
    project_config(project, 'reviewer = "project@x"\nwait = 2\n')
    inner = project / "src" / "deep"
    inner.mkdir(parents=True)
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "xdg-config")}

    found = load(environ=environ, cwd=inner)  # the project's config is found from below
    assert (found.reviewer, found.wait, found.theme) == ("project@x", 2.0, "nord")
    assert found.files == (
        tmp_path / "xdg-config" / "evaltui" / "config.toml",
        project / ".evaltui" / "config.toml",
    )

    environ |= {settings.REVIEWER_ENV: "env@x", settings.WAIT_ENV: "3.5"}
    found = load(environ=environ, cwd=inner)
    assert (found.reviewer, found.wait) == ("env@x", 3.5)
    assert found.origin("reviewer").path == settings.REVIEWER_ENV


def test_relative_paths_start_from_the_project_folder_or_the_user_config(tmp_path: Path) -> None:
    user_config(tmp_path, 'signing_key = "keys/me"\nallowed_signers = "~/trusted"\n')
    project = tmp_path / "repo"
    project_config(project, 'store = "data/store.duckdb"\n')
    found = load(environ={"XDG_CONFIG_HOME": str(tmp_path / "xdg-config")}, cwd=project)
    assert found.store == project / "data" / "store.duckdb"
    assert found.signing_key == tmp_path / "xdg-config" / "evaltui" / "keys" / "me"
    assert found.allowed_signers == Path("~/trusted").expanduser()


def test_no_color_comes_from_the_config_or_from_no_color(tmp_path: Path) -> None:
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "xdg-config")}
    assert not load(environ=environ, cwd=tmp_path).no_color
    assert load(environ=environ | {"NO_COLOR": ""}, cwd=tmp_path).no_color is False  # unset
    assert load(environ=environ | {"NO_COLOR": "1"}, cwd=tmp_path).no_color
    user_config(tmp_path, "no_color = true\n")
    assert load(environ=environ, cwd=tmp_path).no_color


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('reviewer = "a"\nwait = \n', 2, "not valid TOML: "),
        ('reviewer = "a"\n\nsigning_kye = "k"\n', 3, "unknown setting 'signing_kye'"),
        ("# colours\n[colors]\nno_color = true\n", 2, "unknown setting 'colors'"),
        ("wait = -1\n", 1, "wait: expected a number of seconds, 0 or more"),
        ('wait = "5"\n', 1, "wait: expected a number of seconds, got a string"),
        ('no_color = "yes"\n', 1, "no_color: expected true or false, got a string"),
        ("reviewer = 7\n", 1, "reviewer: expected a non-empty string, got a number"),
        ('[keymap]\nhelp = "h"\n"next_failure" = 1\n', 3, "keymap 'next_failure': expected"),
        ('keymap = "n"\n', 1, "[keymap] must be a table"),
    ],
    ids=[
        "not-toml",
        "unknown-key",
        "unknown-table",
        "negative",
        "string-wait",
        "string-bool",
        "number-text",
        "keymap-number",
        "keymap-not-table",
    ],
)
def test_a_bad_config_file_is_one_line_at_its_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = project_config(tmp_path, text)
    with pytest.raises(InputError) as raised:
        load(environ={"XDG_CONFIG_HOME": str(tmp_path / "none")}, cwd=tmp_path)
    assert raised.value.path == str(path) and raised.value.line == line
    assert message in raised.value.message
    assert "\n" not in str(raised.value)


def test_every_problem_of_a_file_is_reported_each_on_its_line(tmp_path: Path) -> None:
    path = project_config(tmp_path, 'wait = "x"\nreviewer = "ok"\nthemes = "nord"\n')
    with pytest.raises(InputErrors) as raised:
        load(environ={"XDG_CONFIG_HOME": str(tmp_path / "none")}, cwd=tmp_path)
    assert [(e.path, e.line) for e in raised.value.errors] == [(str(path), 1), (str(path), 3)]


def test_a_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^EVALTUI_WAIT: 'soon': expected a number of sec"):
        load(environ={settings.WAIT_ENV: "soon"}, cwd=tmp_path)


def test_cli_reports_a_broken_config_in_one_line_and_exit_2(
    run_cli: Callable[..., CliResult], tmp_path: Path, sample_store: Path
) -> None:
    path = user_config(tmp_path, "reviewer = 'a'\n[keymap\n")
    result = run_cli("runs", "--store", sample_store, "--json")
    assert result.code == 2 and result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"evaltui: {path}:2: not valid TOML: ")
    assert "Traceback" not in result.err


def test_cli_store_from_project_config_then_environment_then_flag(
    run_cli: Callable[..., CliResult],
    tmp_path: Path,
    sample_store: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project_config(tmp_path, 'store = "data/reviews.duckdb"\nwait = 0.25\n')
    (tmp_path / "data").mkdir()
    shutil.copy(sample_store, tmp_path / "data" / "reviews.duckdb")
    from_config = run_cli("runs", "--json")
    assert from_config.code == 0, from_config.err
    assert "sr-v3.5-rc1" in from_config.out  # the project's configured store was read

    missing = tmp_path / "elsewhere.duckdb"
    monkeypatch.setenv(settings.STORE_ENV, str(missing))
    from_env = run_cli("runs", "--json")
    assert from_env.code == 2 and f"{missing}: no store here yet" in from_env.err

    from_flag = run_cli("runs", "--json", "--store", tmp_path / "data" / "reviews.duckdb")
    assert from_flag.code == 0 and "sr-v3.5-rc1" in from_flag.out


def test_an_inner_wait_from_settings_keeps_the_outer_flag(tmp_path: Path) -> None:
    """`import --wait 5 TOOL X` with `wait = 1` configured: the flag counts, not the setting
    the inner command's own --wait takes as its default."""
    import click
    from click.testing import CliRunner

    from evaltui.cli.options import current_wait, wait_option

    project_config(tmp_path, "wait = 1\n")
    seen: list[float] = []

    @click.group()
    @wait_option
    def outer() -> None:
        pass

    @outer.command()
    @wait_option
    def inner() -> None:
        seen.append(current_wait())

    runner = CliRunner()
    for args in (["--wait", "5", "inner"], ["inner"], ["inner", "--wait", "7"]):
        assert runner.invoke(outer, args).exit_code == 0
    assert seen == [5.0, 1.0, 7.0]


ENV_NAME = re.compile(r"[\"']EVALTUI_[A-Z0-9_]+[\"']")


def test_every_evaltui_environment_name_is_declared_only_in_settings() -> None:
    declared = {
        str(path.relative_to(REPO)): ENV_NAME.findall(path.read_text(encoding="utf-8"))
        for path in (REPO / "evaltui").rglob("*.py")
    }
    assert {path for path, names in declared.items() if names} == {"evaltui/settings.py"}
    assert len(declared["evaltui/settings.py"]) == len(set(declared["evaltui/settings.py"])) == 11


def test_decide_and_verify_take_key_reviewer_and_signers_from_the_project_config(
    run_cli: Callable[..., CliResult],
    tmp_path: Path,
    sample_store: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Real ssh-keygen keys; the config names them relative to the project folder."""
    from tests.decision_support import make_key, public_line, write_allowed_signers

    for name in ("SSH_AUTH_SOCK", settings.PASSPHRASE_ENV, settings.REVIEWER_ENV):
        monkeypatch.delenv(name, raising=False)
    key = make_key(tmp_path, "alice")  # its comment would make "alice@example.com" the reviewer
    write_allowed_signers(tmp_path / "trusted", f"reviewer-from-config {public_line(key)}")
    project_config(
        tmp_path,
        f'signing_key = "{key.name}"\nreviewer = "reviewer-from-config"\n'
        'allowed_signers = "trusted"\n',
    )
    done = run_cli("decide", "run_003", *EXAMPLE, "--store", sample_store, "--out", "d", "--json")
    assert done.code == 0, done.err
    written = json.loads(done.out)
    assert written["reviewer"] == "reviewer-from-config"
    checked = run_cli("verify", written["decision"], "--json")  # --allowed-signers from config
    assert checked.code == 0 and json.loads(checked.out)["valid"] is True, checked.err

    monkeypatch.setenv(settings.REVIEWER_ENV, "env-reviewer")  # the environment beats the file
    again = run_cli("decide", "run_003", *EXAMPLE, "--store", sample_store, "--out", "e", "--json")
    assert json.loads(again.out)["reviewer"] == "env-reviewer"
    flag = run_cli(  # and a flag beats both
        "decide",
        "run_003",
        *EXAMPLE,
        "--store",
        sample_store,
        "--out",
        "f",
        "--json",
        "--reviewer",
        "flag-reviewer",
    )
    assert json.loads(flag.out)["reviewer"] == "flag-reviewer"

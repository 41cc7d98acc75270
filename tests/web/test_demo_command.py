"""`eduops demo --port` moves everything (console, base_url, demo platform), keeps its workspace out of
/tmp, rebuilds only its own folder, and prints URLs whole."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from tests.conftest import DemoTemp

from eduops.core.demo import DemoContext
from eduops.demo.runner import MARKER, console_url, demo_folder
from eduops.errors import UsageError

EDUOPS = Path(sys.executable).with_name("eduops")


@pytest.mark.slow
def test_one_port_moves_the_console_link_and_the_platform(full_demo: DemoContext, full_demo_port: int) -> None:
    """The session's demo is built with --port full_demo_port (not 8080)."""
    console, platform = f"http://127.0.0.1:{full_demo_port}", f"http://127.0.0.1:{full_demo_port + 1}"
    assert full_demo_port != 8080
    assert full_demo.ws.settings.base_url == console
    written = tomllib.loads((full_demo.ws.settings.home / "eduops.toml").read_text())
    assert written["base_url"] == console
    assert full_demo.shared["platform_url"] == platform
    assert written["loadtest"]["host"] == platform


def test_the_demo_folder_is_under_the_current_folder_and_only_an_old_demo_is_rebuilt(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    folder = demo_folder(None)
    assert folder == tmp_path / "eduops-demo" and (folder / MARKER).exists()
    (folder / "old.db").write_text("from the last demo")
    assert not (demo_folder(None) / "old.db").exists()  # rebuilt
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("not a demo")
    with pytest.raises(UsageError, match="not empty"):
        demo_folder(mine)
    assert (mine / "notes.txt").exists()


@pytest.mark.parametrize(("host", "port", "url"), [("127.0.0.1", 8090, "http://127.0.0.1:8090"),
                                                    ("0.0.0.0", 80, "http://127.0.0.1:80"),
                                                    ("::1", 8080, "http://[::1]:8080")])
def test_console_url(host: str, port: int, url: str) -> None:
    assert console_url(host, port) == url


def test_the_printed_summary_keeps_urls_whole_and_nothing_is_left_in_tmp(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUOPS_")}
    temp = tmp_path / "system-tmp"
    temp.mkdir()
    env.update(COLUMNS="60", TMPDIR=str(temp))
    # one quick share: every share's leftovers in the temporary folder are checked on the session's whole demo
    result = subprocess.run([str(EDUOPS), "demo", "--no-serve", "--only", "drills", "--port", "18290"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "log in at http://127.0.0.1:18290 as admin" in result.stdout
    folder = tmp_path / "eduops-demo"
    assert len(f"demo workspace: {folder}") > 60
    # the whole path on one line, not broken at 60 or 80 columns (URLs alike: the funnel's is checked below)
    assert f"demo workspace: {folder}\n" in result.stdout
    assert (folder / "eduops.toml").exists()
    assert list(temp.iterdir()) == []  # the drill cleaned up after itself


@pytest.mark.slow
def test_the_whole_demo_leaves_nothing_in_tmp_and_links_the_funnel_whole(full_demo: DemoContext,
                                                                         full_demo_tmp: DemoTemp) -> None:
    """The session's demo was built with its own system temporary folder (tests/conftest.py)."""
    assert full_demo_tmp.left == []
    funnel = next(word for word in full_demo.notes["analytics"].split() if word.startswith("/analytics/funnel?"))
    assert funnel.endswith("&window_days=60")


def test_the_chinese_word_splitter_keeps_its_cache_out_of_tmp(tmp_path: Path) -> None:
    temp, cache = tmp_path / "system-tmp", tmp_path / "cache"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "XDG_CACHE_HOME": str(cache)}
    code = "from eduops.feedback.text import words; print(words('直播课卡顿'))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0 and "卡顿" in result.stdout, result.stderr
    assert list(temp.iterdir()) == []
    assert (cache / "eduops" / "jieba.cache").exists()

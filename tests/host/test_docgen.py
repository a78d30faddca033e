"""rtshell's manual page and shell completion, from the tables help reads."""

import os
import shutil
import subprocess
import sys

import pytest

from rtshell import docgen
from rtshell.cli import build_parser
from rtshell.commands import REGISTRY

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_committed_man_page_is_the_generated_one():
    with open(os.path.join(ROOT, "docs", "rtshell.1"), encoding="utf-8") as f:
        assert f.read() == docgen.man_page(build_parser()), "regenerate: rtshell --man > docs/rtshell.1"


def test_the_man_page_names_every_command_and_option():
    page = docgen.man_page(build_parser())
    for spec in REGISTRY.specs:
        assert docgen._roff(spec.usage) in page
    for opt in ("\\-\\-batch", "\\-\\-lenient", "\\-\\-tshort", "\\-6"):
        assert opt in page


@pytest.mark.skipif(shutil.which("groff") is None, reason="no groff")
def test_the_man_page_renders_without_a_warning():
    page = docgen.man_page(build_parser())
    done = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z"], input=page, capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == ""


@pytest.mark.parametrize("line,expected", [
    ("rtshell r", ["route", "restore"]),
    ("rtshell route s", ["show"]),
    ("rtshell ro a 10.0.0.0/8 v", ["via"]),
    ("rtshell -6 route show t", ["table", "type"]),
    ("rtshell --bat", ["--batch"]),
    ("rtshell -b ", []),  # a file: the shell's own file completion
    ("rtshell -c ", []),
])
def test_completion_offers_what_tab_offers_in_the_shell(line, expected):
    assert docgen.complete(line, build_parser()) == expected


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_the_bash_script_completes_through_rtshell(tmp_path):
    """The script as bash runs it: COMPREPLY from `rtshell --complete`."""
    shim = tmp_path / "rtshell"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m rtshell \"$@\"\n")
    shim.chmod(0o755)
    script = docgen.SCRIPTS["bash"] + (
        'COMP_LINE="rtshell ro s"; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(rtshell ro s); COMP_CWORD=2\n'
        '_rtshell; printf "%s\\n" "${COMPREPLY[@]}"\n')
    env = dict(os.environ, PATH=f"{tmp_path}:{os.environ['PATH']}", PYTHONPATH=ROOT)
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout.split() == ["show"], done.stderr

"""What `pip install rtshell` gives without the `shell` extra: the library works,
the `rtshell` command says in one line what to install."""

import os
import subprocess
import sys
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# rich and prompt_toolkit as if they were not installed: any import of them
# fails the way a missing package does, and the script then uses the library
# as a user would and runs the console command's entry
WITHOUT_SHELL_DEPS = """
import sys

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("rich", "prompt_toolkit"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())

import rtshell
from rtshell.cli import run

route = rtshell.Route.parse("10.1.0.0/16 via 10.99.0.2 metric 10 table 100")
print(type(route).__name__, route.dst, route.gateway, route.metric, route.table)
print(rtshell.Filter(prefix="10.0.0.0/8", match=rtshell.Match.ROOT).match.name)
print(rtshell.Client.__name__, rtshell.ModuleNotLoaded.__mro__[1].__name__)
print(sorted(m for m in sys.modules if m.partition(".")[0] in ("rich", "prompt_toolkit")))
sys.stdout.flush()
sys.exit(run(["-c", "route show"]))
"""


def test_the_library_works_without_the_shell_extra_and_the_command_says_what_to_install():
    env = dict(os.environ, PYTHONPATH=ROOT)
    child = subprocess.run([sys.executable, "-c", WITHOUT_SHELL_DEPS], capture_output=True,
                           text=True, env=env, cwd=ROOT, timeout=120)
    assert child.stdout.splitlines() == [
        "Route 10.1.0.0/16 10.99.0.2 10 100",
        "ROOT",
        "Client RtmgrError",
        "[]",
    ], child.stderr
    assert child.stderr == "rtshell: the shell needs prompt_toolkit and rich: pip install 'rtshell[shell]'\n"
    assert child.returncode == 1


def test_the_library_depends_on_cffi_alone_and_the_shell_extra_brings_the_rest():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    assert [d.split(">")[0] for d in project["dependencies"]] == ["cffi"]
    assert sorted(d.split(">")[0] for d in project["optional-dependencies"]["shell"]) == [
        "prompt_toolkit", "rich"]
    assert project["scripts"] == {"rtshell": "rtshell.cli:run"}

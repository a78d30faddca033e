"""What rtshell advises when rtmgr is not loaded: `modprobe` / `insmod` as root
for an installed copy, the make targets in a source checkout; the library's
error and the shell's hint say the same."""

import errno
import io
import os
import shutil
import subprocess
import sys

from fakes import fake_devices, failing_factory
from rtshell import errors
from rtshell.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = os.path.join(ROOT, "rtshell")


def test_a_checkout_is_told_by_its_makefile_and_kernel_dir(tmp_path):
    package = tmp_path / "rtshell"
    package.mkdir()
    assert not errors.source_checkout(str(package))
    (tmp_path / "Makefile").write_text("all:\n")
    assert not errors.source_checkout(str(package))
    (tmp_path / "kernel").mkdir()
    assert errors.source_checkout(str(package))
    assert errors.source_checkout()  # the host tier runs from this checkout


def test_the_host_wording_loads_it_as_root_and_the_checkout_wording_names_make():
    host, checkout = errors.load_advice(checkout=False), errors.load_advice(checkout=True)
    assert "as root" in host and "`modprobe rtmgr`" in host and "`insmod rtmgr.ko`" in host
    assert "make" not in host
    assert "`make shell`" in checkout and "modprobe" not in checkout
    assert errors.load_advice() == checkout


def test_the_error_and_the_shell_hint_in_a_checkout():
    advice = errors.load_advice(checkout=True)
    assert str(errors.ModuleNotLoaded(None, None, "open")) == (
        f"open: EPROTONOSUPPORT (Protocol not supported); {advice}")
    # the client's error, and a bare EPROTONOSUPPORT, get the same hint from the shell
    for exc in (None, OSError(errno.EPROTONOSUPPORT, os.strerror(errno.EPROTONOSUPPORT))):
        out, err = io.StringIO(), io.StringIO()
        assert main(["-c", "route show"], stdout=out, stderr=err, client_factory=failing_factory(exc),
                    devices=fake_devices()) == 1
        assert err.getvalue().rstrip("\n").endswith(f"EPROTONOSUPPORT (Protocol not supported); {advice}")


# an installed copy of the package: the library's error and the shell's hint
INSTALLED = """
import errno, io, os, sys
import rtshell
from rtshell.cli import main

print(str(rtshell.ModuleNotLoaded(None, None, "open")))
for exc in (rtshell.ModuleNotLoaded(None, None, "open"),
            OSError(errno.EPROTONOSUPPORT, os.strerror(errno.EPROTONOSUPPORT))):
    def factory():
        raise exc
    err = io.StringIO()
    assert main(["-c", "route show"], stdout=io.StringIO(), stderr=err, client_factory=factory) == 1
    print(err.getvalue().strip())
"""


def test_an_installed_copy_advises_modprobe_or_insmod_as_root(tmp_path):
    site = tmp_path / "site-packages"
    shutil.copytree(PACKAGE, site / "rtshell", ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, PYTHONPATH=str(site))
    child = subprocess.run([sys.executable, "-c", INSTALLED], capture_output=True, text=True,
                           env=env, cwd=tmp_path, timeout=120)
    assert child.returncode == 0, child.stderr
    host = errors.load_advice(checkout=False)
    lines = child.stdout.splitlines()
    assert len(lines) == 3, child.stdout
    assert lines[0] == f"open: EPROTONOSUPPORT (Protocol not supported); {host}"
    for line in lines[1:]:
        assert line.endswith(f"EPROTONOSUPPORT (Protocol not supported); {host}"), line

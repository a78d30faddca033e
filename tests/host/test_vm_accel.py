"""scripts/vm-run's choice between KVM and emulation (TCG) and its fallback,
without a VM: a fake /dev/kvm and a fake probe for the choice (--which-accel),
and for the boots a copy of the script beside a fake vng, build-module and
vm-guest."""

import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VM_RUN = os.path.join(ROOT, "scripts", "vm-run")
BOOTED = "a kernel booted under KVM in 0.4 s"


def write(path, text):
    path.write_text(text)
    path.chmod(0o755)


@pytest.fixture
def env(tmp_path):
    kvm = tmp_path / "kvm"
    kvm.write_text("")
    write(tmp_path / "probe", '#!/bin/sh\necho "$1" >>"$PROBE_LOG"\n'
                              'printf "%b\\n" "$PROBE_SAYS"\nexit "${PROBE_RC:-0}"\n')
    e = {k: v for k, v in os.environ.items() if not k.startswith("RTSHELL_")}
    e.update(RTSHELL_KVM_DEV=str(kvm), RTSHELL_ACCEL_CACHE=str(tmp_path / "accel"),
             RTSHELL_KVM_PROBE=str(tmp_path / "probe"), PROBE_LOG=str(tmp_path / "probes"),
             PROBE_SAYS=BOOTED)
    return e


def run(env, *args, script=VM_RUN):
    return subprocess.run([script, "--kver", "9.9-test", *args], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


def which(env):
    return run(env, "--which-accel")


def lines(path):
    return open(path).read().splitlines() if os.path.exists(path) else []


def probes(env):
    return lines(env["PROBE_LOG"])


# -- the choice --------------------------------------------------------------------------


def test_a_passing_probe_chooses_kvm_once(env):
    r = which(env)
    assert (r.returncode, r.stdout) == (0, "kvm\n")
    assert r.stderr.splitlines()[-1] == f"vm-run: using KVM (probe: {BOOTED})"
    assert probes(env) == ["/boot/vmlinuz-9.9-test"]
    r = which(env)
    assert r.stdout == "kvm\n"
    assert r.stderr == f"vm-run: using KVM (cached in {env['RTSHELL_ACCEL_CACHE']}: {BOOTED})\n"
    assert len(probes(env)) == 1


def test_a_failing_probe_chooses_tcg_and_says_why(env):
    env.update(PROBE_RC="1", PROBE_SAYS="qemu started\\nfailed to set MSR 0x10a")
    r = which(env)
    assert (r.returncode, r.stdout) == (0, "tcg\n")
    assert r.stderr.splitlines() == [
        "vm-run: probing KVM (once for this machine, up to 10 s)",
        "vm-run: KVM unusable here (probe: failed to set MSR 0x10a); using emulation (TCG)"]
    assert "cached in" in which(env).stderr
    assert len(probes(env)) == 1


def test_another_machine_state_probes_again(env):
    which(env)
    cache = env["RTSHELL_ACCEL_CACHE"]
    key, verdict, why = lines(cache)
    assert key.startswith(f"host {os.uname().release}; ") and "QEMU" in key
    with open(cache, "w") as f:
        f.write(f"host 0.0-elsewhere; {key}\n{verdict}\n{why}\n")
    env.update(PROBE_RC="1", PROBE_SAYS="stuck")
    assert which(env).stdout == "tcg\n"
    assert len(probes(env)) == 2


def test_no_dev_kvm_is_tcg_without_a_probe(env, tmp_path):
    (tmp_path / "kvm").unlink()
    r = which(env)
    assert r.stdout == "tcg\n"
    assert r.stderr == f"vm-run: no {tmp_path / 'kvm'}; using emulation (TCG)\n"
    assert probes(env) == [] and not os.path.exists(env["RTSHELL_ACCEL_CACHE"])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes any file")
def test_a_dev_kvm_not_read_writable_is_tcg_without_a_probe(env, tmp_path):
    (tmp_path / "kvm").chmod(0o444)
    r = which(env)
    assert r.stdout == "tcg\n" and "is not read-writable" in r.stderr
    assert probes(env) == []


@pytest.mark.parametrize("accel, says", [
    ("tcg", "vm-run: using emulation (TCG): RTSHELL_ACCEL=tcg\n"),
    ("kvm", "vm-run: using KVM: RTSHELL_ACCEL=kvm (no probe, no fallback)\n")])
def test_rtshell_accel_chooses_without_a_probe(env, accel, says):
    env["RTSHELL_ACCEL"] = accel
    r = which(env)
    assert (r.returncode, r.stdout, r.stderr) == (0, accel + "\n", says)
    assert probes(env) == []


def test_forced_kvm_without_dev_kvm_fails(env, tmp_path):
    (tmp_path / "kvm").unlink()
    env["RTSHELL_ACCEL"] = "kvm"
    r = which(env)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == f"vm-run: RTSHELL_ACCEL=kvm, but there is no {tmp_path / 'kvm'}\n"


def test_an_unknown_rtshell_accel_is_a_usage_error(env):
    env["RTSHELL_ACCEL"] = "hvf"
    r = which(env)
    assert r.returncode == 2 and "RTSHELL_ACCEL is kvm, tcg or auto, not 'hvf'" in r.stderr


# -- the boots ---------------------------------------------------------------------------

FAKE_VNG = r"""#!/usr/bin/env bash
# fake vng: logs each boot; FAKE_KVM=ok|exit|hang is how a KVM boot goes
kvm=1 exec= shell= pidfile=
while [ $# -gt 0 ]; do
	case $1 in
	--disable-kvm) kvm=0 ;;
	--exec) exec=$2; shift ;;
	--shell) shell=$2; shift ;;
	--qemu-opts=-pidfile\ *) pidfile=${1#--qemu-opts=-pidfile } ;;
	esac
	shift
done
echo "kvm=$kvm" >>"$FAKE_LOG"
# like vng: --exec answers the command's status (255 when it never ran),
# --shell qemu's (0 after a power-off or a SIGTERM)
stopped() { [ -z "$exec" ] || exit 255; exit 0; }
if [ "$kvm" = 1 ]; then
	case ${FAKE_KVM:-ok} in
	exit) echo "qemu-system-x86_64: error: failed to set MSR 0x10a" >&2; stopped ;;
	hang) "$FAKE_QEMU" 600 & echo $! >"$pidfile"; wait $!; stopped ;;
	esac
fi
if [ -n "$exec" ]; then sh -c "$exec"; else "$shell"; exit 0; fi
"""


@pytest.fixture
def tree(env, tmp_path):
    """A copy of vm-run whose top has a fake vng, build-module and vm-guest."""
    top = tmp_path / "top"
    (top / "scripts").mkdir(parents=True)
    (top / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(VM_RUN, top / "scripts" / "vm-run")
    write(top / "scripts" / "build-module", "#!/bin/sh\necho /nowhere/rtmgr.ko\n")
    write(top / "scripts" / "vm-guest",
          '#!/bin/sh\n: >"$RTMGR_STARTED"\n"$@"\nrc=$?\necho $rc >"$RTMGR_STARTED"\nexit $rc\n')
    write(top / ".venv" / "bin" / "vng", FAKE_VNG)
    qemu = tmp_path / "qemu-system-x86"  # the name the watchdog looks for
    shutil.copy(shutil.which("sleep"), qemu)
    env.update(FAKE_LOG=str(tmp_path / "boots"), FAKE_QEMU=str(qemu))
    return str(top / "scripts" / "vm-run")


def boots(env):
    return lines(env["FAKE_LOG"])


@pytest.mark.parametrize("cmd, rc", [(["false"], 1), (["sh", "-c", "exit 3"], 3),
                                     (["sh", "-c", "exit 255"], 255), (["true"], 0)])
@pytest.mark.parametrize("tty", [[], ["--tty"]])
def test_the_commands_status_is_never_taken_for_a_kvm_failure(env, tree, cmd, rc, tty):
    r = run(env, *tty, "--", *cmd, script=tree)
    assert r.returncode == rc
    assert boots(env) == ["kvm=1"]
    assert "again" not in r.stderr


@pytest.mark.parametrize("tty", [[], ["--tty"]])
def test_a_kvm_boot_that_stops_early_runs_once_more_under_tcg(env, tree, tty):
    env["FAKE_KVM"] = "exit"
    r = run(env, *tty, "--", "sh", "-c", "exit 3", script=tree)
    assert r.returncode == 3
    assert boots(env) == ["kvm=1", "kvm=0"]
    assert ("vm-run: the KVM guest stopped before the command started (vng exit "
            f"{0 if tty else 255}); running it again under emulation (TCG), kept for this "
            "machine") in r.stderr
    r = run(env, "--", "true", script=tree)
    assert "KVM unusable here (cached in" in r.stderr
    assert boots(env) == ["kvm=1", "kvm=0", "kvm=0"]


def test_a_kvm_boot_that_hangs_is_stopped_and_run_under_tcg(env, tree):
    env.update(FAKE_KVM="hang", RTSHELL_KVM_BOOT_TIMEOUT="1")
    r = run(env, "--", "false", script=tree)
    assert r.returncode == 1
    assert boots(env) == ["kvm=1", "kvm=0"]
    assert "the KVM guest did not start the command in 1 s; running it again" in r.stderr


def test_forced_kvm_does_not_fall_back(env, tree):
    env.update(FAKE_KVM="exit", RTSHELL_ACCEL="kvm")
    r = run(env, "--", "true", script=tree)
    assert r.returncode == 255
    assert boots(env) == ["kvm=1"]
    assert r.stderr.splitlines()[-1] == ("vm-run: the KVM guest stopped before the command "
                                         "started (vng exit 255); RTSHELL_ACCEL=kvm rules out "
                                         "falling back to emulation")

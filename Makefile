# rtshell: the developer and user entry points.  See README.md.
#
#   make shell   set up everything, boot the VM with the module, start rtshell
#   make test    set up everything, run the host tier and the VM tier
#                (once per kernel: KERNELS="6.1 6.12" by default)
#   make build   venv + C extension + module for every tested kernel, no VM
#   make load    build for the running kernel and insmod (hosts with modules)
#   make bench   side-by-side benchmarks inside the VM (BENCH_ARGS="--routes 20000")
#   make stress  the attacks (stress/) at full size, once per kernel (STRESS_ARGS="--seed N")
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
KVER ?= $(shell scripts/kernels | head -n1)
HOSTKVER := $(shell uname -r)

.PHONY: all deps venv build shell test test-host test-vm bench stress load unload clean

all: build

deps:
	@scripts/install-host-deps

# Reinstalls only when what the package is built from changed.
$(STAMP): setup.py pyproject.toml MANIFEST.in bindings/*.c bindings/*.h \
		bindings/build_ffi.py kernel/uapi/linux/rtmgr.h
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip 'setuptools>=77' 'cffi>=1.15'
	$(PY) -m pip install -q --no-build-isolation -e '.[shell,test,vm]'
	@touch $@

venv: deps $(STAMP)

build: venv
	@for v in $$(scripts/kernels); do scripts/build-module $$v >/dev/null && echo "built build/kmod/$$v/rtmgr.ko"; done

shell: venv
	@scripts/vm-run --kver $(KVER) --tty -- rtshell

test: venv
	@scripts/run-tests

test-host: venv
	@scripts/run-tests --host-only

test-vm: venv
	@scripts/run-tests --vm-only

bench: venv
	@scripts/vm-run --kver $(KVER) -- $(PY) -m bench $(BENCH_ARGS)

# Each kernel in its own boot; the guest script fails the run on a dirty kernel log.
stress: venv
	@rc=0; echo "=== the C parser under libFuzzer (ASan, UBSan), 1,000,000 inputs"; \
	log=$$(mktemp); $(PY) tests/fuzz/run_fuzz.py --runs 1000000 >$$log 2>&1 || rc=1; \
	grep -E '^(#[0-9]+ +DONE|stat::|==[0-9]+==ERROR|SUMMARY|workdir)' $$log; \
	[ $$rc = 0 ] || { tail -40 $$log; echo "libFuzzer found a problem (above)"; }; \
	for v in $$(scripts/kernels); do \
		echo "=== stress on $$v"; scripts/build-module $$v >/dev/null && \
		scripts/vm-run --kver $$v -- $(PY) -m stress $(STRESS_ARGS) || rc=1; done; exit $$rc

# A host whose kernel loads modules: build for it and load it there.
load: venv
	@test -e /proc/modules || { echo "this kernel cannot load modules: use 'make shell' (the VM)" >&2; exit 1; }
	ko=$$(scripts/build-module $(HOSTKVER)) && insmod $$ko

unload:
	rmmod rtmgr

clean:
	rm -rf build *.egg-info rtshell/_rtmgr_cffi*.so

# The two commands a newcomer needs: `make run` and `make test`. Both install
# what is missing first (scripts/deps.sh). Meson builds; this file only
# orders the steps.

BUILD      ?= build
BIN        := $(BUILD)/src/infrakit-instance-vmware-fusion
VM_DIR     ?= ./vms
VM_LIB     ?= ./vmx
RUN_FLAGS  ?= --log=4
ISO        ?=
PREFIX     ?= /usr/local
DESTDIR    ?=

.PHONY: all plugins install uninstall deps run demo test test-quick check-macos bench \
	fuzz vmx-tiny vmx-alpine vmx-moby format clean

all plugins: $(BUILD)/build.ninja
	ninja -C $(BUILD) src/infrakit-instance-vmware-fusion

$(BUILD)/build.ninja:
	@scripts/deps.sh build
	meson setup $(BUILD) -Dtests=false

# The program, its manual pages, the systemd user unit and the launchd agent
# (README, "Install and run as a service"), under PREFIX; DESTDIR stages it.
install:
	@scripts/deps.sh build
	@DESTDIR="$(DESTDIR)" scripts/install.sh $(BUILD) $(PREFIX)

# What the last `make install` from $(BUILD) installed (meson's install log).
uninstall:
	ninja -C $(BUILD) uninstall

deps:
	@scripts/deps.sh test

# Installs missing packages, builds, makes the tiny test template when QEMU
# is the hypervisor here, and serves on the default socket.
run:
	@scripts/deps.sh run
	@$(MAKE) --no-print-directory all
	@if ! command -v vmrun >/dev/null 2>&1 && \
	    [ ! -x "/Applications/VMware Fusion.app/Contents/Library/vmrun" ]; then \
		$(MAKE) --no-print-directory vmx-tiny; fi
	@echo "run: serving; in another terminal: make demo (provision, wait, ssh)"
	$(BIN) serve --vm-dir=$(VM_DIR) --vm-lib=$(VM_LIB) $(RUN_FLAGS)

# The demo, against the plugin `make run` serves: provision the tiny guest,
# wait until it is Ready, describe it, and ssh into it with the plugin's key.
demo:
	@scripts/demo.sh $(BIN)

# Everything CI runs: gcc and clang builds with -Werror, the whole suite,
# the suite again under ASan+UBSan, unit tests under valgrind, style checks.
# Ends with one line "N passed, N failed".
test:
	@scripts/deps.sh test
	@scripts/run-tests.sh

# Just the gcc build and its tests (faster while developing).
test-quick:
	@scripts/deps.sh test
	@scripts/run-tests.sh quick

# Compiles every C file for aarch64-macos and x86_64-macos with zig cc
# (installed from npm into .cache/zig) and links the programs against stub
# libraries; part of `make test`.
check-macos:
	@scripts/deps.sh test
	@scripts/check-macos.sh

bench:
	@scripts/deps.sh bench
	@scripts/bench.sh

fuzz:
	@scripts/deps.sh fuzz
	@scripts/fuzz.sh $(FUZZ_SECONDS)

vmx-tiny:
	@scripts/deps.sh run
	@scripts/mk-tiny.sh $(VM_LIB)

vmx-alpine:
	@scripts/mk-vmx.sh alpine-3.4.4 "$(ISO)" $(VM_LIB)

vmx-moby:
	@scripts/mk-vmx.sh mobylinux "$(ISO)" $(VM_LIB)

format:
	clang-format -i $$(find src tests/unit tests/support tests/fuzz tests/bench -name "*.[ch]")

clean:
	rm -rf build build-asan build-clang build-fuzz build-bench build-macos

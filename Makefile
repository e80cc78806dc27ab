# BitShield: the two commands of the quick start are `make demo` and `make test`.
# Every target installs what it needs first (idempotently), so a fresh machine of this kind works.

SWIFT      ?= swift
BUILD_DIR  ?= .build
RELEASE    := $(BUILD_DIR)/release
TRAIN      := $(RELEASE)/train
CONVERT    := $(RELEASE)/convert
INFER      := $(RELEASE)/infer
DEMO_EPOCHS ?= 3

.PHONY: all deps data build demo test check embedded device slurm-test fuzz torch torchattacks jax bench bench-train bench-attack bench-validate bench-roofline verify-full clean help

all: build

help:
	@echo "make demo        install, fetch data, build, train the default model (FCN2, binary, 2-bit input), convert and score it"
	@echo "make test        install, fetch data, build and run every test: both tiers (what CI runs)"
	@echo "make check       the fast tier for the edit-test loop: Embedded compile, device tests, every test but the slow tier"
	@echo "                 (accuracy floors, adversarial training, PyTorch parity, full-MNIST parity); under 3 minutes after the build"
	@echo "make deps        install the Debian packages (zlib1g-dev, libopenblas-dev, libcadical-dev, libz3-dev, dataset-fashion-mnist)"
	@echo "make data        fill the data cache (\$$BITSHIELD_DATA or ~/.cache/bitshield/data)"
	@echo "make build       swift build -c release"
	@echo "make embedded    compile ModelFormat and Inference in Embedded Swift for armv7em and aarch64 (part of make test)"
	@echo "make device      install qemu-system-arm and Zig (.venv-zig), build the Cortex-M4 and M0 firmware when its sources changed, run a short check under QEMU (part of make test)"
	@echo "make lib         the C API's static libraries (include/bitshield.h): libbitshield.a for armv7em, armv6m, x86_64 and aarch64 Linux"
	@echo "                 and the minimal armv7em build into .build-lib/TARGET/ (sizes printed); installs arm-none-eabi-gcc and the aarch64"
	@echo "                 cross gcc (make test installs them; CExampleTests builds the libraries it runs)"
	@echo "make slurm-test  install slurmctld, slurmd and munge, start a one-node Slurm cluster here, run a tiny grid through sbatch and"
	@echo "                 require the local run's results byte for byte (part of make test; about 25 s; skipped, exit 3, without root)"
	@echo "make fuzz        libFuzzer over every reader, FUZZ_SECONDS each (default 60)"
	@echo "make torch       install the CPU PyTorch wheel into .venv-torch (for parity tests and peers)"
	@echo "make torchattacks install torchattacks 3.5.1 (AutoAttack) into .venv-torch without replacing torch (scripts/torch_attacks.py; make test installs it for TorchAttacksTests, about 20 s once)"
	@echo "make bench       inference µs/image, images/s, bytes: ours beside ONNX Runtime int8, single thread; BASELINE=<commit> also times that commit's infer alternately with ours (medians, ratio)"
	@echo "make bench-train seconds per epoch, ours beside PyTorch's and JAX's, float and binary FCN2 and conv net"
	@echo "make bench-attack FGSM and PGD-40 seconds over the MNIST test set on FCN2, ours beside PyTorch's"
	@echo "make bench-roofline ns per 512 binary MACs on this CPU (XOR + vpopcntq + add), the L2 read rate, FCN2's floor per layer at batch 1 and 256 beside its time per step (infer --profile)"
	@echo "make bench-validate µs to validate an image at the format's caps (4,096 tensors, 1,024 ops); BASELINE=<commit> times that commit too"
	@echo "make verify-full issue 16's full certified runs: trains FCN2 BNN-2b and the Cortex-M0 net (10 epochs, seed 1) once, verifies"
	@echo "                 VERIFY_LIMIT MNIST test images (default 10000) at eps 0.1 and 0.2 at VERIFY_TIMEOUT s (default 60), resumable"
	@echo "                 (journals in runs/verify-full; VERIFY_JOBS at once), attacks the same images (FGSM, PGD, edge), writes"
	@echo "                 reports/verify-full.md; days of CPU, not part of make test"
	@echo "make bench-device FCN2 on the QEMU Cortex-M4: BitShield beside CMSIS-NN int8 and plain C binary (instructions, RAM, code, model; BENCH_DEVICE_IMAGES=1000, CMSIS_NN=, CMSIS_CORE=)"

deps:
	@scripts/install-deps.sh

data: deps
	@scripts/fetch-data.sh

build: deps
	$(SWIFT) build -c release

# The main job: train the default model, convert it to a .bsm file, score it with the runtime (built
# for this CPU when it has popcnt: scripts/build-native.sh).
# Issue 16's full runs (scripts/verify-full.sh): resumable; VERIFY_LIMIT=20 VERIFY_TIMEOUT=5 for a short check.
verify-full: data build
	scripts/verify-full.sh

demo: data build
	$(TRAIN) --dataset mnist --arch fcn2 --precision binary --input-bits 2 \
	    --epochs $(DEMO_EPOCHS) --out runs/demo-fcn2-binary-2b.safetensors
	$(CONVERT) runs/demo-fcn2-binary-2b.safetensors -o runs/demo-fcn2-binary-2b.bsm
	$(CONVERT) inspect runs/demo-fcn2-binary-2b.bsm
	$$(scripts/build-native.sh) runs/demo-fcn2-binary-2b.bsm --dataset mnist

# The PyTorch wheel is optional: without it the parity test skips (scripts/install-torch.sh exits 3).
torch:
	@scripts/install-torch.sh || [ $$? -eq 3 ]

# The ecosystem's attacks on our models (scripts/torch_attacks.py); --no-deps keeps the CPU torch wheel.
torchattacks:
	@scripts/install-torchattacks.sh || [ $$? -eq 3 ]

jax:
	@scripts/install-jax.sh || [ $$? -eq 3 ]

# The runtime must keep building in Embedded Swift for the Cortex-M4.
embedded:
	@scripts/check-embedded.sh

# The runtime on simulated Cortex-M4 (QEMU netduinoplus2) and Cortex-M0 (microbit) boards: install
# QEMU and Zig (compiler-rt for the M0) if missing, build the firmware into .build-firmware/BOARD/
# (firmware.elf, firmware.txt) when its source hash differs from the last build's (Firmware/sources.list
# lists the sources; nothing is rebuilt when they are unchanged), run the golden model through both and
# require exact agreement with the host. `infer --device` runs that firmware and refuses a stale one.
device: deps
	@scripts/install-device.sh
	@scripts/device-check.sh

# The C API (include/bitshield.h, Embedding/CAPI): libbitshield.a per target into .build-lib/TARGET/ when its
# sources changed (scripts/build-lib.sh), and the compilers its examples and link tests use (examples/,
# scripts/check-c-examples.sh, run by CExampleTests).
.PHONY: lib lib-tools
lib: lib-tools
	@scripts/build-lib.sh

lib-tools:
	@scripts/install-arm-gcc.sh
	@scripts/install-cross-gcc.sh

# train reproduce on a real scheduler (issue 18): Debian's slurmctld, slurmd and munge, a single-node cluster on
# localhost, a three-cell grid submitted as job arrays (scripts/slurm-test.sh); exit 3 (no root, no apt) is a skip.
slurm-test: data
	@scripts/slurm-test.sh || [ $$? -eq 3 ]

# libFuzzer over every reader (model, safetensors, IDX raw and gzip, CIFAR, BinaryNet import, JSON),
# FUZZ_SECONDS each (default 60), runs and findings per target; outside the package build.
fuzz:
	scripts/fuzz.sh

# Two tiers (Tests/ToolSupport/Fixtures.swift): the slow one (BITSHIELD_SLOW=1) trains networks on MNIST
# and compares with PyTorch; the fast one uses the committed fixture models (Tests/Fixtures,
# scripts/make-fixture.sh). `make test` runs both, `make check` the fast one.
TEST_ENV := BITSHIELD_REQUIRE_DATA=1 BITSHIELD_REQUIRE_DEVICE=1

test: data torch torchattacks embedded device slurm-test lib-tools
	$(TEST_ENV) BITSHIELD_SLOW=1 $(SWIFT) test --disable-swift-testing

check: data embedded device lib-tools
	$(TEST_ENV) $(SWIFT) test --disable-swift-testing

# Inference speed and footprint beside an int8 peer (ONNX Runtime), single thread.
bench: data build
	scripts/bench.sh

bench-train: data build torch jax
	scripts/bench-train.sh

# Attack speed: FGSM and PGD-40 over 10,000 MNIST test images on FCN2, ours beside PyTorch (not in make test).
bench-attack: data build torch
	scripts/bench-attack.sh

# Validation cost at the format's table caps, host µs (the Cortex-M4 figure is pinned in DeviceTests).
bench-validate:
	scripts/bench-validate.sh

# FCN2 on the simulated Cortex-M4 (QEMU netduinoplus2): BitShield beside CMSIS-NN int8 and a plain C binary network,
# instructions per inference, RAM, code and model bytes (bench/device/, scripts/bench-device.sh; not in make test).
.PHONY: bench-device
bench-device: data build
	scripts/bench-device.sh

clean:
	rm -rf $(BUILD_DIR) runs

# The binary-MAC roofline of this CPU and FCN2's time per step (issue 15).
bench-roofline: build
	scripts/bench-roofline.sh

# The README's entry points. Each target installs missing Debian packages and
# builds what it needs (the control plane goes to ~/.cache/omjob-operator).
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
JOBS ?= $(shell nproc)
# Warnings are errors for `make test` and CI (scripts/test sets WERROR=ON), not
# for a user's build.
WERROR ?= OFF

.PHONY: all deps build asan tsan fuzz test unit lint coverage demo demo-stop bench \
	cluster-build clean format image soak

all: build

deps:
	@scripts/deps

# The container image (deploy/image/): a release build of the operator on a root
# filesystem assembled from Debian packages, FROM scratch, built offline by buildah;
# an OCI archive in build-release/, and its size as a BENCH line.
image:
	@scripts/deps image
	@cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build-release -j $(JOBS) --target omjob-operator
	@deploy/image/build.sh build-release/omjob-operator build-release/image

# TARGET=NAME builds only that target (the demo: TARGET=omjob-operator).
build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOMJOB_WERROR=$(WERROR) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) $(if $(TARGET),--target $(TARGET))

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DOMJOB_SANITIZE=ON \
		-DOMJOB_WERROR=$(WERROR) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

# ThreadSanitizer build; `make test` runs the tests labelled threads in it.
tsan: deps
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DOMJOB_TSAN=ON \
		-DOMJOB_WERROR=$(WERROR) >/dev/null
	@cmake --build $(TSAN_BUILD) -j $(JOBS)

fuzz: deps
	@CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOMJOB_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS)

cluster-build: deps
	@tests/cluster/build >/dev/null

# Every test: lint, then unit, valgrind, fuzz corpora and integration, in the
# normal build and again under ASan+UBSan, and the threaded ones under TSan,
# against one local control plane.
test: deps
	@scripts/test

# Unit tests and fuzz corpora only (no control plane): the fast loop.
unit: build
	@cd $(BUILD) && ctest --output-on-failure -L unit -j $(JOBS)

# clang-format, layering, banned functions, opening comments, shellcheck.
lint: deps
	@scripts/lint

# gcov/lcov over the unit and integration tests: build-cov/coverage/index.html and
# one COVERAGE line per folder.
coverage: deps
	@scripts/coverage

# The operator on a local control plane, left running for you; demo-stop ends it.
demo: deps
	@scripts/demo

demo-stop:
	@scripts/demo --stop

bench: deps
	@scripts/bench

# The long soak (issue 13; not part of `make test`): SOAK_MINUTES (20) of OMJobs
# with random outcomes under role kills, API server restarts and node faults on a
# control plane of its own; "SOAK name value" lines, exit 1 when a target is missed.
soak: build
	@OMJOB_BIN=$(BUILD)/omjob-operator scripts/soak

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) build-fuzz build-cov build-bench

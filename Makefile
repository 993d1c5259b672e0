# The front door. `make demo` and `make check` do all the set-up on a fresh Debian 12 machine.
# `make install` and `make deb` only build: installing tok needs none of the test peers (`make deps`).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all deps build compile demo check bench fuzz install deb clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@$(MAKE) --no-print-directory compile

# Configure and build, nothing else.
compile:
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)

check: build
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

bench: build
	@bench/run.sh $(BUILD)

# Every libFuzzer target for FUZZ_SECONDS each (.ci/run runs them briefly).
FUZZ_SECONDS ?= 120
fuzz: deps
	@scripts/fuzz.sh $(FUZZ_SECONDS)

# make install [PREFIX=/usr/local] [DESTDIR=/scratch]: tok stripped, the docker-credential-tok
# link, the HTTP module, the completions and the man page.
install: compile
	@DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --strip --prefix "$(PREFIX)"

# A Debian package (CPack) of the same files under /usr, written into $(BUILD).
deb: compile
	@cd $(BUILD) && cpack -G DEB

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz

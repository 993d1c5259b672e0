# The front door. `make demo`, `make try` and `make check` do all the set-up on a fresh Debian 12
# machine: `make demo` installs only what building and running tok needs (`make deps`), `make try`
# that and Node.js with oidc-provider (its login server), `make check` the test peers too
# (`make peers`). `make install` and `make deb` only build, and only what they install.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all deps peers build configure compile compile-installed demo try check bench fuzz install deb clean

all: build

# Compiler and libraries: what building and running tok needs.
deps:
	@scripts/install-deps.sh

# The same and everything the tests, benchmarks and fuzzing run against.
peers:
	@scripts/install-deps.sh --peers

build: deps
	@$(MAKE) --no-print-directory compile

configure:
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

# Configure and build, nothing else.
compile: configure
	@cmake --build $(BUILD) -j $(JOBS)

# Only what make install and make deb put in place (tok_installed in CMakeLists.txt): no unit
# test, no fuzz target, no benchmark program.
compile-installed: configure
	@cmake --build $(BUILD) -j $(JOBS) --target tok_installed

demo: build
	@scripts/demo.sh $(BUILD)

# A token server and an OpenID provider on loopback, a throw-away config for both, and the
# commands to try in another shell; Ctrl-C stops everything (scripts/try.py).
try:
	@scripts/install-deps.sh --try
	@$(MAKE) --no-print-directory compile-installed
	@scripts/try.py $(BUILD)

check: peers
	@$(MAKE) --no-print-directory compile
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

bench: peers
	@$(MAKE) --no-print-directory compile
	@bench/run.sh $(BUILD)

# Every libFuzzer target for FUZZ_SECONDS each (.ci/run runs them briefly).
FUZZ_SECONDS ?= 120
fuzz: peers
	@scripts/fuzz.sh $(FUZZ_SECONDS)

# make install [PREFIX=/usr/local] [DESTDIR=/scratch]: tok stripped, the docker-credential-tok
# link, the HTTP module, the completions and the man page.
install: compile-installed
	@DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --strip --prefix "$(PREFIX)"
	@case ":$$PATH:" in *":$(PREFIX)/bin:"*) ;; *) [ -n "$(DESTDIR)" ] || \
	  echo "make install: $(PREFIX)/bin is not on your PATH: add it (export PATH=\"$(PREFIX)/bin:\$$PATH\" in ~/.profile)" ;; esac

# A Debian package (CPack) of the same files under /usr, written into $(BUILD).
deb: compile-installed
	@cd $(BUILD) && cpack -G DEB

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz

# aio-rs: build, install and check (GNU make).
#
#   make deps                install what building and testing need on Debian (apt, cbindgen)
#   make                     cargo build --release
#   make check               every test: header up to date, formatting, clippy, man pages,
#                            wrapper, cargo test, the examples, install/uninstall round trip,
#                            benchmark smoke run
#   make install PREFIX=/usr/local DESTDIR=
#   make uninstall PREFIX=/usr/local DESTDIR=
#   make header              regenerate include/aio_rs.h with cbindgen
#   make bench               run the benchmark (bench/run)
#
# Cargo is taken from PATH; CARGO_TARGET_DIR is honoured (default: target).

SHELL := /bin/sh
.SUFFIXES:
.DELETE_ON_ERROR:
# Options for bench/run, e.g. make bench BENCH_ARGS="--fio --reps 5".
BENCH_ARGS ?=
# The targets share cargo's target directory: run them one at a time.
.NOTPARALLEL:

CARGO ?= cargo
CBINDGEN ?= $(or $(shell command -v cbindgen 2>/dev/null),$(wildcard $(HOME)/.cargo/bin/cbindgen),cbindgen)
# The cbindgen version that generated the committed header (its output differs between versions).
CBINDGEN_VERSION ?= 0.29.4
PKG_CONFIG ?= pkg-config
INSTALL ?= install
LDCONFIG ?= ldconfig
GROFF ?= groff

# Installation directories.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR ?= $(PREFIX)/share/man

# System libraries a program linking libaio_rs.a statically needs: what
# `cargo rustc --release --lib --crate-type staticlib -- --print native-static-libs` prints for
# x86_64-unknown-linux-gnu (checked with Rust 1.95).
LIBS_PRIVATE ?= -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc

# The version, from the [package] section of Cargo.toml.
VERSION := $(shell awk -F'"' '/^\[/ { p = ($$0 == "[package]") } p && /^version[ \t]*=/ { print $$2; exit }' Cargo.toml)
VERSION_CORE := $(firstword $(subst -, ,$(subst +, ,$(VERSION))))
VERSION_MAJOR := $(word 1,$(subst ., ,$(VERSION_CORE)))
VERSION_MINOR := $(word 2,$(subst ., ,$(VERSION_CORE)))
VERSION_PATCH := $(word 3,$(subst ., ,$(VERSION_CORE)))
ifeq ($(VERSION_PATCH),)
$(error cannot read a MAJOR.MINOR.PATCH version from Cargo.toml (got '$(VERSION)'))
endif

TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
RELEASE_DIR := $(TARGET_DIR)/release
BUILT_SO := $(RELEASE_DIR)/libaio_rs.so
BUILT_A := $(RELEASE_DIR)/libaio_rs.a

SONAME := libaio_rs.so.$(VERSION_MAJOR)
REALNAME := libaio_rs.so.$(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)
HEADER := include/aio_rs.h
# cbindgen reads the whole crate; only `pub` items reach the header, so everything internal is
# `pub(crate)`, and tests/install/check-header-names.sh fails if anything but aio-rs names leaks.
HEADER_SOURCE := .
MAN_PAGES := man/aio_rs.7 man/aio-rs.1 man/aio_readv.3 man/aio_read2.3 man/aio_rs_cq_create.3 \
	man/aio_waitcomplete.3
# Section 3 names that are documented on another page (each a one-line `.so` page).
MAN3_LINKS := aio_writev aio_readv64 aio_writev64 aio_write2 aio_rs_cq_harvest aio_rs_cq_close
MAN3_PAGES := aio_readv aio_read2 aio_rs_cq_create aio_waitcomplete

# The .pc file names its directories relative to ${prefix} when they lie under it.
PC_LIBDIR := $(patsubst $(PREFIX)/%,$${exec_prefix}/%,$(LIBDIR))
PC_INCLUDEDIR := $(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))

# Everything `make install` creates, for `make uninstall` and the install test.
INSTALLED_FILES := \
	$(LIBDIR)/$(REALNAME) \
	$(LIBDIR)/$(SONAME) \
	$(LIBDIR)/libaio_rs.so \
	$(LIBDIR)/libaio_rs.a \
	$(INCLUDEDIR)/aio_rs.h \
	$(PKGCONFIGDIR)/aio_rs.pc \
	$(BINDIR)/aio-rs \
	$(MANDIR)/man7/aio_rs.7 \
	$(MANDIR)/man1/aio-rs.1 \
	$(foreach p,$(MAN3_PAGES) $(MAN3_LINKS),$(MANDIR)/man3/$(p).3)

.PHONY: deps all build header check-header cbindgen-version install-cbindgen check test \
	fmt-check clippy install-check wrapper-test man-check examples-check bench bench-smoke install uninstall \
	check-soname print-version print-installed-files clean

all: build

# Debian packages the build, the tests and the benchmark use; installed only when missing.
DEB_PACKAGES := build-essential pkg-config liburing-dev fio man-db groff-base procps
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@if ! command -v cbindgen >/dev/null 2>&1 && [ ! -x "$(HOME)/.cargo/bin/cbindgen" ]; then \
		$(MAKE) install-cbindgen; \
	fi
	@# make check runs cargo fmt and cargo clippy: add the components where rustup manages Rust.
	@for c in rustfmt clippy; do \
		if [ $$c = rustfmt ]; then probe="$(CARGO) fmt --version"; else probe="$(CARGO) clippy --version"; fi; \
		if ! $$probe >/dev/null 2>&1; then \
			if command -v rustup >/dev/null 2>&1; then echo "rustup component add $$c"; rustup component add $$c; \
			else echo "error: '$$probe' fails and rustup is not available to add $$c" >&2; exit 1; fi; \
		fi; \
	done

build:
	$(CARGO) build --release

# --- header ------------------------------------------------------------------------------------

cbindgen-version:
	@v=$$($(CBINDGEN) --version 2>/dev/null | awk '{ print $$2 }'); \
	if [ -z "$$v" ]; then \
		echo "error: cbindgen not found; install it with:" >&2; \
		echo "    make install-cbindgen   (cargo install cbindgen --locked --version $(CBINDGEN_VERSION))" >&2; \
		exit 1; \
	fi; \
	if [ -n "$(CBINDGEN_VERSION)" ] && [ "$$v" != "$(CBINDGEN_VERSION)" ]; then \
		echo "error: $(CBINDGEN) is version $$v, but $(HEADER) is generated with cbindgen $(CBINDGEN_VERSION);" >&2; \
		echo "    run 'make install-cbindgen', or pass CBINDGEN_VERSION= to accept any version" >&2; \
		exit 1; \
	fi

install-cbindgen:
	$(CARGO) install cbindgen --locked --version $(CBINDGEN_VERSION)

header: cbindgen-version
	$(CBINDGEN) --quiet --config cbindgen.toml --output $(HEADER) $(HEADER_SOURCE)
	@sh tests/install/check-header-names.sh $(HEADER)

check-header: cbindgen-version
	@tmp=$$(mktemp "$${TMPDIR:-/tmp}/aio_rs.h.XXXXXX") || exit 1; \
	trap 'rm -f "$$tmp"' EXIT; \
	$(CBINDGEN) --quiet --config cbindgen.toml --output "$$tmp" $(HEADER_SOURCE) || exit 1; \
	if [ ! -f $(HEADER) ]; then \
		echo "error: $(HEADER) does not exist: run 'make header' and commit it" >&2; exit 1; \
	fi; \
	if ! diff -u --label "$(HEADER) (committed)" --label "$(HEADER) (regenerated)" $(HEADER) "$$tmp"; then \
		echo "error: $(HEADER) is out of date with $(HEADER_SOURCE): run 'make header' and commit the result" >&2; \
		exit 1; \
	fi; \
	echo "check-header: $(HEADER) is up to date"
	@sh tests/install/check-header-names.sh $(HEADER)

# --- tests -------------------------------------------------------------------------------------

check: check-header fmt-check clippy man-check wrapper-test test examples-check install-check bench-smoke
	@echo "make check: all checks passed"

fmt-check:
	$(CARGO) fmt --all --check

# The lints themselves are set in src/lib.rs (crate attributes) and Cargo.toml ([lints]).
clippy:
	$(CARGO) clippy --all-targets -- -D warnings

# `cargo test` builds the library only as an rlib for the Rust tests; the C test matrix needs
# the shared object, which `build` makes.
test: build
	$(CARGO) test --release

wrapper-test:
	sh tests/install/wrapper-test.sh tools/aio-rs

# examples/aiocp.c and examples/epoll-server.c, built against the library and run (every engine).
examples-check: build
	sh tests/examples/run.sh $(BUILT_SO)

install-check: build
	env MAKE="$(MAKE)" CC="$(CC)" CXX="$(CXX)" PKG_CONFIG="$(PKG_CONFIG)" \
		sh tests/install/install-test.sh

man-check:
	@status=0; \
	for page in $(MAN_PAGES); do \
		for dev in utf8 ascii; do \
			out=$$(LC_ALL=C.UTF-8 $(GROFF) -man -T$$dev -ww -z "$$page" 2>&1); \
			if [ -n "$$out" ]; then \
				echo "man-check: $$page (groff -T$$dev):" >&2; printf '%s\n' "$$out" >&2; status=1; \
			fi; \
		done; \
		if command -v man >/dev/null 2>&1; then \
			out=$$(LC_ALL=C.UTF-8 MANWIDTH=80 MAN_KEEP_FORMATTING= man --warnings -l "$$page" 2>&1 >/dev/null); \
			if [ -n "$$out" ]; then \
				echo "man-check: $$page (man --warnings):" >&2; printf '%s\n' "$$out" >&2; status=1; \
			fi; \
		fi; \
	done; \
	if [ $$status -eq 0 ]; then echo "man-check: $(MAN_PAGES) render without warnings"; fi; \
	exit $$status

# The benchmark's quick mode, as part of `make check`; skipped while bench/run does not exist.
bench-smoke: build
	@if [ ! -x bench/run ]; then echo "error: bench/run does not exist or is not executable" >&2; exit 1; fi
	BENCH_SKIP_LIB_BUILD=1 bench/run --quick --strict $(BENCH_ARGS)

bench: build
	@if [ ! -x bench/run ]; then echo "error: bench/run does not exist or is not executable" >&2; exit 1; fi
	BENCH_SKIP_LIB_BUILD=1 bench/run $(BENCH_ARGS)

# --- install -----------------------------------------------------------------------------------

# The shared library must carry SONAME libaio_rs.so.MAJOR (set by build.rs).
check-soname: build
	@soname=$$(LC_ALL=C readelf -d $(BUILT_SO) | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p'); \
	if [ "$$soname" != "$(SONAME)" ]; then \
		echo "error: $(BUILT_SO) has SONAME '$$soname', expected '$(SONAME)'" >&2; \
		echo "    (build.rs must pass -Wl,-soname,$(SONAME) to the cdylib link)" >&2; \
		exit 1; \
	fi

install: build check-soname
	@test -f $(HEADER) || { echo "error: $(HEADER) is missing: run 'make header'" >&2; exit 1; }
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	$(INSTALL) -m 0755 $(BUILT_SO) $(DESTDIR)$(LIBDIR)/.$(REALNAME).tmp
	mv -f $(DESTDIR)$(LIBDIR)/.$(REALNAME).tmp $(DESTDIR)$(LIBDIR)/$(REALNAME)
	ln -sfn $(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sfn $(SONAME) $(DESTDIR)$(LIBDIR)/libaio_rs.so
	$(INSTALL) -m 0644 $(BUILT_A) $(DESTDIR)$(LIBDIR)/libaio_rs.a
	$(INSTALL) -m 0644 $(HEADER) $(DESTDIR)$(INCLUDEDIR)/aio_rs.h
	sed -e '/^#/d' \
		-e 's|@PREFIX@|$(PREFIX)|g' \
		-e 's|@LIBDIR@|$(PC_LIBDIR)|g' \
		-e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|g' \
		-e 's|@VERSION@|$(VERSION)|g' \
		-e 's|@LIBS_PRIVATE@|$(LIBS_PRIVATE)|g' \
		aio_rs.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/aio_rs.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/aio_rs.pc
	sed -e "s|^configured_version='@AIO_RS_VERSION@'\$$|configured_version='$(VERSION)'|" \
		-e "s|^configured_libdir='@AIO_RS_LIBDIR@'\$$|configured_libdir='$(LIBDIR)'|" \
		tools/aio-rs >$(DESTDIR)$(BINDIR)/aio-rs
	chmod 0755 $(DESTDIR)$(BINDIR)/aio-rs
	$(INSTALL) -m 0644 man/aio_rs.7 $(DESTDIR)$(MANDIR)/man7/aio_rs.7
	$(INSTALL) -m 0644 man/aio-rs.1 $(DESTDIR)$(MANDIR)/man1/aio-rs.1
	$(INSTALL) -m 0644 $(foreach p,$(MAN3_PAGES) $(MAN3_LINKS),man/$(p).3) $(DESTDIR)$(MANDIR)/man3/
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v $(LDCONFIG) >/dev/null 2>&1; then \
		echo "$(LDCONFIG)"; $(LDCONFIG) || true; \
	fi

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED_FILES))
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v $(LDCONFIG) >/dev/null 2>&1; then \
		echo "$(LDCONFIG)"; $(LDCONFIG) || true; \
	fi

# For tests/install/install-test.sh.
print-version:
	@echo $(VERSION)

print-installed-files:
	@printf '%s\n' $(INSTALLED_FILES)

clean:
	$(CARGO) clean
	rm -rf bench/target

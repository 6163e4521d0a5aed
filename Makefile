# aio-rs: build, install and check (GNU make).
#
#   make deps                install what building and testing need on Debian (apt, cbindgen)
#   make                     cargo build --release, then the release artifacts in target/dist/:
#                            the stripped shared library (+ its .debug file), the static library
#   make check               every test: header up to date, formatting, clippy, man pages and
#                            docs agree, wrapper, cargo test, release artifacts, install/uninstall
#                            round trip, Debian packages, benchmark smoke run
#   make deb                 Debian packages libaio-rs0 and libaio-rs-dev in target/deb/
#   make install prefix=/usr/local DESTDIR=     installs what `make` built; never compiles
#   make uninstall prefix=/usr/local DESTDIR=
#   make header              regenerate include/aio_rs.h with cbindgen
#   make bench               run the benchmark (bench/run)
#
# Cargo is taken from PATH; CARGO_TARGET_DIR is honoured (default: target). `make install` does
# not need cargo, so `make && sudo make install` works when cargo is not on root's PATH.

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
# ldconfig is in /sbin, which is not on an ordinary user's PATH on Debian.
LDCONFIG ?= $(or $(shell command -v ldconfig 2>/dev/null),/sbin/ldconfig)
GROFF ?= groff

# Installation directories: the GNU names (prefix, exec_prefix, bindir, libdir, includedir,
# mandir, ...) and, as before, the upper-case ones (PREFIX, BINDIR, LIBDIR, INCLUDEDIR, MANDIR,
# PKGCONFIGDIR); a lower-case name given explicitly wins over its upper-case twin.
PREFIX ?= /usr/local
prefix ?= $(PREFIX)
exec_prefix ?= $(prefix)
bindir ?= $(or $(BINDIR),$(exec_prefix)/bin)
libdir ?= $(or $(LIBDIR),$(exec_prefix)/lib)
includedir ?= $(or $(INCLUDEDIR),$(prefix)/include)
datarootdir ?= $(prefix)/share
mandir ?= $(or $(MANDIR),$(datarootdir)/man)
pkgconfigdir ?= $(or $(PKGCONFIGDIR),$(libdir)/pkgconfig)
DESTDIR ?=
# The directories in which the dynamic loader finds libraries without help (`ldconfig` runs
# after an install only into one of these, and never with DESTDIR). Empty: ask ldconfig.
LOADER_DIRS ?=

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
# What cargo makes (the C tests and the benchmark use these).
BUILT_SO := $(RELEASE_DIR)/libaio_rs.so
BUILT_A := $(RELEASE_DIR)/libaio_rs.a

SONAME := libaio_rs.so.$(VERSION_MAJOR)
REALNAME := libaio_rs.so.$(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)
# The release artifacts `make` leaves for `make install` and `make deb` (packaging/dist.sh):
# the stripped shared library and its debug information, the reduced static library.
DIST_DIR := $(TARGET_DIR)/dist
DIST_SO := $(DIST_DIR)/$(REALNAME)
DIST_A := $(DIST_DIR)/libaio_rs.a
DEB_DIR := $(TARGET_DIR)/deb

HEADER := include/aio_rs.h
# cbindgen reads the whole crate; only `pub` items reach the header, so everything internal is
# `pub(crate)`, and tests/install/check-header-names.sh fails if anything but aio-rs names leaks.
HEADER_SOURCE := .
MAN_PAGES := man/aio_rs.7 man/aio-rs.1 man/aio_rs_version.3

# The .pc file names its directories relative to ${prefix} / ${exec_prefix} when they lie under
# them, so that pkg-config's --define-prefix and sysroot handling work.
PC_EXEC_PREFIX := $(if $(filter $(prefix),$(exec_prefix)),$${prefix},$(patsubst $(prefix)/%,$${prefix}/%,$(exec_prefix)))
PC_LIBDIR := $(if $(filter $(exec_prefix)/%,$(libdir)),$(patsubst $(exec_prefix)/%,$${exec_prefix}/%,$(libdir)),$(patsubst $(prefix)/%,$${prefix}/%,$(libdir)))
PC_INCLUDEDIR := $(patsubst $(prefix)/%,$${prefix}/%,$(includedir))

# Everything `make install` creates, for `make uninstall` and the install test.
INSTALLED_FILES := \
	$(libdir)/$(REALNAME) \
	$(libdir)/$(SONAME) \
	$(libdir)/libaio_rs.so \
	$(libdir)/libaio_rs.a \
	$(includedir)/aio_rs.h \
	$(pkgconfigdir)/aio_rs.pc \
	$(bindir)/aio-rs \
	$(mandir)/man7/aio_rs.7 \
	$(mandir)/man1/aio-rs.1 \
	$(mandir)/man3/aio_rs_version.3

.PHONY: deps all build dist header check-header cbindgen-version install-cbindgen check test \
	fmt-check clippy install-check wrapper-test man-check docs-check dist-check bench \
	bench-smoke install uninstall deb deb-check cinstall-check print-version print-installed-files clean

all: dist

# Debian packages the build, the tests and the benchmark use; installed only when missing.
# dpkg-dev (dpkg-shlibdeps) and binutils come with build-essential.
DEB_PACKAGES := build-essential pkg-config liburing-dev fio man-db groff-base procps
# lintian checks the packages `make deb` builds. It is large (about 150 Debian packages), so
# `make deps` installs it only in CI (CI set to anything but empty or "false") or when asked:
# `make deps DEB_LINT=1`. Without it, `make deb-check` skips the lintian run and says so.
DEB_LINT ?= $(if $(filter-out false,$(CI)),1,)
DEB_PACKAGES += $(if $(DEB_LINT),lintian)
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

# The release artifacts (see packaging/dist.sh); this is what `make install` and `make deb` use.
dist: build
	sh packaging/dist.sh $(BUILT_SO) $(BUILT_A) $(DIST_DIR) $(REALNAME) $(SONAME)

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

check: check-header fmt-check clippy man-check docs-check wrapper-test test dist-check install-check \
	deb-check cinstall-check bench-smoke
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

# The wrapper: options, environment, exec; with the built library, the stats of every process of
# a run (fio with several jobs, when installed) and `aio-rs stats PID`.
wrapper-test: build
	env CC="$(CC)" sh tests/install/wrapper-test.sh tools/aio-rs $(BUILT_SO)

# The release artifacts: stripped .so, reduced .a (nm-readable, only the public names global),
# the exports unversioned and matching the Debian symbols file; a C program links libaio_rs.a
# next to another Rust static library; versioned glibc references (aio_read@GLIBC_2.2.5,
# aio_read@GLIBC_2.34) are served by the preloaded or linked library.
dist-check: dist
	env CC="$(CC)" sh tests/install/artifacts-test.sh $(DIST_DIR) $(BUILT_SO)
	env CC="$(CC)" sh tests/install/static-link-test.sh $(DIST_A)
	env CC="$(CC)" sh tests/install/symver-test.sh $(DIST_SO) $(DIST_A)

install-check: dist
	env MAKE="$(MAKE)" CC="$(CC)" CXX="$(CXX)" PKG_CONFIG="$(PKG_CONFIG)" \
		sh tests/install/install-test.sh

# The Debian packages: contents, lintian (when installed; required in CI), a consumer built with
# pkg-config from the unpacked packages, and, as root in CI (or DEB_INSTALL_TEST=1), a real
# `apt-get install ./*.deb`, a consumer built against the installed system, and a purge.
DEB_INSTALL_TEST ?= $(if $(filter-out false,$(CI)),1,)
deb-check: deb
	env CC="$(CC)" PKG_CONFIG="$(PKG_CONFIG)" DEB_LINT="$(DEB_LINT)" \
		DEB_INSTALL_TEST="$(DEB_INSTALL_TEST)" sh tests/install/deb-test.sh $(DEB_DIR) $(VERSION)

# `cargo cinstall` gives the same SONAME and layout (skipped when cargo-c is not installed).
cinstall-check:
	env CARGO="$(CARGO)" CC="$(CC)" PKG_CONFIG="$(PKG_CONFIG)" \
		sh tests/install/cinstall-test.sh $(TARGET_DIR)/capi

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

# README, aio_rs(7) and aio-rs(1) against docs/routing.txt (which engine takes which request),
# the AIO_RS_* variables the library reads, the license files and Cargo.toml's metadata.
docs-check:
	env GROFF="$(GROFF)" sh tests/install/docs-check.sh

# The benchmark's quick mode, as part of `make check`; skipped while bench/run does not exist.
bench-smoke: build
	@if [ ! -x bench/run ]; then echo "error: bench/run does not exist or is not executable" >&2; exit 1; fi
	BENCH_SKIP_LIB_BUILD=1 bench/run --quick --strict $(BENCH_ARGS)

bench: build
	@if [ ! -x bench/run ]; then echo "error: bench/run does not exist or is not executable" >&2; exit 1; fi
	BENCH_SKIP_LIB_BUILD=1 bench/run $(BENCH_ARGS)

# --- install -----------------------------------------------------------------------------------

# Installs the release artifacts that `make` left in $(DIST_DIR); compiles nothing, needs no
# cargo (so `sudo make install` works), and stops with a clear message when they are missing.
install:
	@for f in $(DIST_SO) $(DIST_A); do \
		if [ ! -f "$$f" ]; then \
			echo "error: $$f does not exist: build first with 'make' (as yourself, without sudo);" >&2; \
			echo "    'make install' installs what 'make' built and never compiles" >&2; \
			echo "    (if you built with CARGO_TARGET_DIR set, pass it here too: sudo drops it)" >&2; \
			exit 1; \
		fi; \
	done
	@if [ $(BUILT_SO) -nt $(DIST_SO) ]; then \
		echo "warning: $(BUILT_SO) is newer than $(DIST_SO): run 'make' to refresh what is installed" >&2; \
	fi
	@test -f $(HEADER) || { echo "error: $(HEADER) is missing: run 'make header'" >&2; exit 1; }
	$(INSTALL) -d $(DESTDIR)$(libdir) $(DESTDIR)$(includedir) $(DESTDIR)$(pkgconfigdir) \
		$(DESTDIR)$(bindir) $(DESTDIR)$(mandir)/man7 $(DESTDIR)$(mandir)/man1 \
		$(DESTDIR)$(mandir)/man3
	$(INSTALL) -m 0755 $(DIST_SO) $(DESTDIR)$(libdir)/.$(REALNAME).tmp
	mv -f $(DESTDIR)$(libdir)/.$(REALNAME).tmp $(DESTDIR)$(libdir)/$(REALNAME)
	ln -sfn $(REALNAME) $(DESTDIR)$(libdir)/$(SONAME)
	ln -sfn $(SONAME) $(DESTDIR)$(libdir)/libaio_rs.so
	$(INSTALL) -m 0644 $(DIST_A) $(DESTDIR)$(libdir)/libaio_rs.a
	$(INSTALL) -m 0644 $(HEADER) $(DESTDIR)$(includedir)/aio_rs.h
	sed -e '/^#/d' \
		-e 's|@PREFIX@|$(prefix)|g' \
		-e 's|@EXEC_PREFIX@|$(PC_EXEC_PREFIX)|g' \
		-e 's|@LIBDIR@|$(PC_LIBDIR)|g' \
		-e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|g' \
		-e 's|@VERSION@|$(VERSION)|g' \
		-e 's|@LIBS_PRIVATE@|$(LIBS_PRIVATE)|g' \
		aio_rs.pc.in >$(DESTDIR)$(pkgconfigdir)/aio_rs.pc
	chmod 0644 $(DESTDIR)$(pkgconfigdir)/aio_rs.pc
	sed -e "s|^configured_version='@AIO_RS_VERSION@'\$$|configured_version='$(VERSION)'|" \
		-e "s|^configured_libdir='@AIO_RS_LIBDIR@'\$$|configured_libdir='$(libdir)'|" \
		tools/aio-rs >$(DESTDIR)$(bindir)/aio-rs
	chmod 0755 $(DESTDIR)$(bindir)/aio-rs
	$(INSTALL) -m 0644 man/aio_rs.7 $(DESTDIR)$(mandir)/man7/aio_rs.7
	$(INSTALL) -m 0644 man/aio-rs.1 $(DESTDIR)$(mandir)/man1/aio-rs.1
	$(INSTALL) -m 0644 man/aio_rs_version.3 $(DESTDIR)$(mandir)/man3/aio_rs_version.3
	@$(if $(DESTDIR),:,env LDCONFIG="$(LDCONFIG)" LOADER_DIRS="$(LOADER_DIRS)" sh packaging/ldconfig.sh install "$(libdir)")

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED_FILES))
	@$(if $(DESTDIR),:,env LDCONFIG="$(LDCONFIG)" LOADER_DIRS="$(LOADER_DIRS)" sh packaging/ldconfig.sh uninstall "$(libdir)")

# --- Debian packages ---------------------------------------------------------------------------

# libaio-rs0 (the shared library) and libaio-rs-dev (header, static library, .so link, .pc, man
# pages, the aio-rs wrapper), built with dpkg-deb from the release artifacts; packaging/deb/.
deb: dist
	env MAKE="$(MAKE)" sh packaging/deb/build.sh $(DEB_DIR) $(VERSION)

# For tests/install/install-test.sh.
print-version:
	@echo $(VERSION)

print-installed-files:
	@printf '%s\n' $(INSTALLED_FILES)

clean:
	$(CARGO) clean
	rm -rf bench/target

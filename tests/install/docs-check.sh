#!/bin/sh
# shellcheck disable=SC2015  # `cond && pass || fail` (pass cannot fail)
# The documentation agrees with itself and with the code (`make docs-check`):
#   - every paragraph of docs/routing.txt (which engine serves which request) appears word for
#     word in each file its "@" line names: the manual pages rendered with groff -Tascii, the
#     README with its Markdown marks removed, white space runs taken as one space;
#   - every AIO_RS_* variable the library reads (a string literal in src/) is documented in the
#     README's Environment table and in aio_rs(7)'s ENVIRONMENT section, and nothing else is;
#   - the README says that the worker-thread engine can be slower than glibc;
#   - the license files the README promises exist and hold the full texts; Cargo.toml has the
#     metadata a crate page needs.
#
# Environment: GROFF (default groff).

set -u

repo=$(cd "$(dirname "$0")/../.." && pwd -P)
# shellcheck source=tests/install/lib.sh
. "$repo/tests/install/lib.sh"
GROFF=${GROFF:-groff}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aio-rs-docs-check.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# One line of plain text per file, white space runs as one space.
squeeze() { tr '\n\t' '  ' | sed 's/  */ /g'; }
render() {
    case $1 in
    *.md)
        # Code spans, emphasis and link targets removed; table pipes kept.
        sed -e 's/`//g' -e 's/\*\*//g' -e 's/\[\([^]]*\)\]([^)]*)/\1/g' "$repo/$1" | squeeze
        ;;
    *)
        # Very long lines (no line breaks inside a paragraph), no hyphenation, no overstriking.
        LC_ALL=C $GROFF -man -Tascii -rLL=5000n -rHY=0 -P-cbou "$repo/$1" 2>/dev/null | squeeze
        ;;
    esac
}

# ---- docs/routing.txt -----------------------------------------------------------------------------
routing=$repo/docs/routing.txt
paragraphs=0
where=
text=
check_paragraph() {
    [ -n "$text" ] || return 0
    paragraphs=$((paragraphs + 1))
    for f in $where; do
        [ -f "$tmp/$(echo "$f" | tr / _).txt" ] || render "$f" >"$tmp/$(echo "$f" | tr / _).txt"
        if grep -qF -- "$text" "$tmp/$(echo "$f" | tr / _).txt"; then
            pass
        else
            fail "$f does not contain routing paragraph $paragraphs of docs/routing.txt: \"$(printf '%s' "$text" | cut -c1-90)...\""
        fi
    done
    text=
}
while IFS= read -r line || [ -n "$line" ]; do
    case $line in
    '#'*) ;;
    '@ '*)
        check_paragraph
        where=${line#@ }
        ;;
    '')
        check_paragraph
        ;;
    *)
        text=$(printf '%s %s' "$text" "$line" | squeeze | sed 's/^ //')
        ;;
    esac
done <"$routing"
check_paragraph
[ "$paragraphs" -ge 3 ] && pass || fail "docs/routing.txt has $paragraphs paragraphs, expected at least 3"

# ---- the AIO_RS_* variables -------------------------------------------------------------------
# Read by the library: string literals in its sources.
grep -rhoE '"AIO_RS_[A-Z0-9_]+"' "$repo/src" | tr -d '"' | LC_ALL=C sort -u >"$tmp/read"
[ -s "$tmp/read" ] && pass || fail "found no AIO_RS_* variables in src/"
# The README's Environment table: rows "| `AIO_RS_...` |" between "## Environment" and the next
# heading.
sed -n '/^## Environment/,/^## /p' "$repo/README.md" | sed -n 's/^| `\(AIO_RS_[A-Z0-9_]*\)` |.*/\1/p' |
    LC_ALL=C sort -u >"$tmp/readme"
expect_eq "AIO_RS_* variables: README Environment table vs the code" "$(cat "$tmp/read")" "$(cat "$tmp/readme")"
# aio_rs(7): the .TP tags in ENVIRONMENT.
sed -n '/^\.SH ENVIRONMENT/,/^\.SH /p' "$repo/man/aio_rs.7" | sed -n 's/^\.B \(AIO_RS_[A-Z0-9_]*\)$/\1/p' |
    LC_ALL=C sort -u >"$tmp/man7"
expect_eq "AIO_RS_* variables: aio_rs(7) ENVIRONMENT vs the code" "$(cat "$tmp/read")" "$(cat "$tmp/man7")"

# ---- what the README must say ----------------------------------------------------------------
readme=$(render README.md)
case $readme in
*"worker-thread engine"*"slower than glibc"*) pass ;;
*) fail "README.md does not say that the worker-thread engine can be slower than glibc" ;;
esac

# ---- licenses and crate metadata ---------------------------------------------------------------
grep -q 'Permission is hereby granted, free of charge' "$repo/LICENSE-MIT" 2>/dev/null && pass ||
    fail "LICENSE-MIT does not hold the MIT license text"
grep -q 'Apache License' "$repo/LICENSE-APACHE" 2>/dev/null &&
    grep -q 'END OF TERMS AND CONDITIONS' "$repo/LICENSE-APACHE" && pass ||
    fail "LICENSE-APACHE does not hold the full Apache License 2.0 text"
for key in license description repository homepage readme keywords categories rust-version; do
    sed -n '/^\[package\]/,/^\[/p' "$repo/Cargo.toml" | grep -q "^$key *= *[\"[]" && pass ||
        fail "Cargo.toml [package] has no $key"
done

printf 'docs-check: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]

# Shared by the install and wrapper tests: counters and assertions. Source it.
passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() {
    failed=$((failed + 1))
    printf 'FAIL: %s\n' "$*" >&2
}
# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
    if [ "$2" = "$3" ]; then pass; else fail "$1: expected [$2], got [$3]"; fi
}
# expect_match NAME PATTERN TEXT (shell case pattern)
expect_match() {
    case $3 in
    $2) pass ;;
    *) fail "$1: [$3] does not match [$2]" ;;
    esac
}

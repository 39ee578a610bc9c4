#!/usr/bin/env bash
# System packages the grader uses when present: bubblewrap (the sandbox), Chromium with its
# driver (the report's browser tests) and shellcheck (workflow scripts, via actionlint). Installed only when missing and when we can (root + apt).
set -u
need=()
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)   # actionlint checks run: scripts
ldconfig -p 2>/dev/null | grep -q 'libseccomp\.so\.2' || need+=(libseccomp2)  # worker syscall filter
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${need[*]} (apt-get)"
    apt-get update -qq >/dev/null && \
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null || \
        echo "warning: could not install ${need[*]}; the grader will use its reduced sandbox" \
             "and browser tests will be skipped"
else
    echo "note: ${need[*]} not installed (needs root and apt-get): the grader falls back to its" \
         "reduced sandbox and browser tests are skipped. Install them with:" \
         "sudo apt-get install ${need[*]}"
fi
exit 0

#!/usr/bin/env bash
# Checks that the release binary links only libraries the runtime image in the Dockerfile has:
# glibc, libgcc (in debian:bookworm-slim), libsystemd0 with its own dependencies, zlib, OpenSSL
# (libssl3: TLS on --web.config.file) and libcrypt1 (bcrypt for basic auth); the Swift
# runtime and libstdc++ are linked statically.
set -euo pipefail
bin=${1:?usage: check-links.sh BINARY}
allowed='^(linux-vdso\.so\.1|/lib64/ld-linux-x86-64\.so\.2|ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libutil\.so\.1|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libsystemd\.so\.0|libcap\.so\.2|libgcrypt\.so\.20|libgpg-error\.so\.0|liblzma\.so\.5|libzstd\.so\.1|liblz4\.so\.1|libz\.so\.1|libssl\.so\.3|libcrypto\.so\.3|libcrypt\.so\.1)$'
status=0
while read -r name _; do
    [ -z "$name" ] && continue
    if ! [[ "$name" =~ $allowed ]]; then
        echo "check-links: $bin links $name, which the runtime image does not have" >&2
        status=1
    fi
done < <(ldd "$bin" | sed -e 's/^[[:space:]]*//' -e 's/ (0x[0-9a-f]*)$//')
if ldd "$bin" | grep -q 'not found'; then
    echo "check-links: unresolved libraries:" >&2; ldd "$bin" | grep 'not found' >&2; status=1
fi
if ldd "$bin" | grep -q 'libswift'; then
    echo "check-links: the Swift runtime is linked dynamically; build with --static-swift-stdlib" >&2; status=1
fi
if ldd "$bin" | grep -q 'libstdc++'; then
    echo "check-links: libstdc++ is linked dynamically; make release links it statically" >&2; status=1
fi
# Position-independent (ASLR) with packed relative relocations, as `make release` links it.
if ! readelf -hW "$bin" | grep -q 'Type:.*DYN'; then
    echo "check-links: $bin is not a position-independent executable" >&2; status=1
fi
if ! readelf -dW "$bin" | grep -q '(RELR)'; then
    echo "check-links: $bin has no DT_RELR (packed relative relocations): not linked as make release links" >&2; status=1
fi
size=$(stat -c %s "$bin")
echo "check-links: $bin ($((size / 1024 / 1024)) MiB) links:"
ldd "$bin" | sed 's/^/  /'
[ $status -eq 0 ] && echo "check-links: ok"
exit $status

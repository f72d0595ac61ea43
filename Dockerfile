# kubemeter's image: build with the official Swift image, run on a small Debian with only what the
# binary links (checked in CI by Tests/release/check-links.sh on the same release build).
FROM swift:6.3.1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libsystemd-dev zlib1g-dev libssl-dev libcrypt-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
# The flags of `make release` (see the Makefile): static Swift runtime and libstdc++ (through a
# linker script that `-lstdc++` finds first), lld, packed relocations.
ARG SWIFT_FLAGS="-c release --static-swift-stdlib -Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs -Xlinker -L/src/.build-static-cxx"
RUN mkdir -p .build-static-cxx \
    && echo "INPUT($(clang -print-file-name=libstdc++.a))" > .build-static-cxx/libstdc++.so \
    && swift build $SWIFT_FLAGS --product kubemeter \
    && install -D "$(swift build $SWIFT_FLAGS --show-bin-path)/kubemeter" /out/kubemeter

FROM debian:bookworm-slim
ARG VERSION=0.1.0
RUN apt-get update && apt-get install -y --no-install-recommends libsystemd0 zlib1g libssl3 libcrypt1 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/kubemeter /usr/local/bin/kubemeter
# The kubectl plugin (`kubectl kubemeter top`) is the same binary under another name; copy both
# out to a workstation with `docker cp`, or `make install` from source (README).
RUN ln -s kubemeter /usr/local/bin/kubectl-kubemeter
# 65534 (nobody): the host paths kubemeter reads are world-readable on a default node.
USER 65534:65534
EXPOSE 10265
LABEL org.opencontainers.image.title="kubemeter" \
      org.opencontainers.image.description="Kubernetes node agent: the kubelet's /metrics/resource from cgroup v2 and /proc, read at scrape time" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.documentation="docs/deploy.md"
ENTRYPOINT ["/usr/local/bin/kubemeter"]
CMD ["serve", "--host-root", "/host"]

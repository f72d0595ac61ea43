// swift-tools-version: 6.1
// The targets follow the data flow: host files -> parsers -> pod discovery -> one snapshot
// -> renderers -> HTTP server / CLI. docs/architecture.md draws the dependencies below
// (Tests/architecture/check.py keeps the two in step, and every import declared).
import PackageDescription

/// swift-log's strictness, on every Swift target: each module says what it imports and what it
/// exposes (`package import` where a declaration crosses targets), members come only from
/// modules imported in the same file, and existential types are spelled `any`.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "kubemeter",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kubemeter", targets: ["kubemeter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // libsystemd (sd_notify, sd_journal_sendv, sd_listen_fds), through pkg-config.
        .systemLibrary(
            name: "CSystemd",
            path: "Sources/CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // zlib, for gzip-encoded responses (Prometheus asks for them).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // OpenSSL (libssl, libcrypto), for TLS on the agent's port (--web.config.file).
        .systemLibrary(
            name: "COpenSSL",
            path: "Sources/COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // libcrypt (libxcrypt): crypt_r, to check basic auth passwords against bcrypt hashes.
        .systemLibrary(name: "CCrypt", path: "Sources/CCrypt", providers: [.apt(["libcrypt-dev"])]),
        // Linux headers the Glibc module lacks (statfs, file system magic numbers, O_PATH, mallopt).
        .systemLibrary(name: "CLinux", path: "Sources/CLinux"),
        // Pure parsers, one per kernel file: bytes in, typed values out. No I/O, no Foundation.
        .target(name: "KubemeterParsers", swiftSettings: strict),
        // The host's files: paths, directory listings, kept-open files re-read with pread, the one
        // error every read of the host gives, and what kind of file system a path is on.
        .target(name: "KubemeterHostFiles", dependencies: ["CLinux", "KubemeterParsers"], swiftSettings: strict),
        // Pod discovery: cgroup directory names and CRI log paths -> (namespace, pod, uid, container, id).
        .target(name: "KubemeterDiscovery", dependencies: ["CLinux", "KubemeterHostFiles", "KubemeterSync"], swiftSettings: strict),
        // The snapshot model every renderer reads, and the kubelet's formulas over it.
        .target(name: "KubemeterSnapshot", dependencies: ["KubemeterHostFiles", "KubemeterParsers"], swiftSettings: strict),
        // Reads the host (host roots, file reads) and builds one snapshot per collection.
        .target(
            name: "KubemeterCollector",
            dependencies: [
                "KubemeterParsers", "KubemeterHostFiles", "KubemeterDiscovery", "KubemeterSnapshot", "KubemeterSync", "KubemeterJSON",
                "CLinux", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Renderers: Prometheus text exposition (and later tables and JSON).
        .target(name: "KubemeterExposition", dependencies: ["KubemeterParsers", "KubemeterHostFiles", "KubemeterSnapshot", "KubemeterSync", "CZlib"], swiftSettings: strict),
        // A Mutex that ThreadSanitizer can follow (shared by the server, systemd and the tests).
        .target(name: "KubemeterSync", swiftSettings: strict),
        // A small HTTP/1.1 server on POSIX sockets (and the response decoder its one client uses).
        .target(name: "KubemeterHTTP", dependencies: ["KubemeterSync"], swiftSettings: strict),
        // The web configuration file (exporter-toolkit's format): a small YAML subset parser and the
        // typed, validated configuration. Pure: bytes in, values or errors with line numbers out.
        .target(name: "KubemeterWebConfig", swiftSettings: strict),
        // TLS (OpenSSL, non-blocking inside the server's I/O thread) and basic auth (bcrypt through
        // crypt_r) for KubemeterHTTP, from a web configuration re-read when it or its files change.
        .target(
            name: "KubemeterTLS",
            dependencies: ["COpenSSL", "CCrypt", "KubemeterHTTP", "KubemeterWebConfig", "KubemeterHostFiles", "KubemeterSync"],
            swiftSettings: strict
        ),
        // A strict JSON parser (the API server's PodList, the agents' /top.json), no Foundation.
        .target(name: "KubemeterJSON", swiftSettings: strict),
        // The cluster view (`kubectl kubemeter top`): agents found through the API server, read
        // through a `kubectl proxy` child on a unix socket, all nodes at once, each with a timeout.
        .target(
            name: "KubemeterCluster",
            dependencies: ["KubemeterJSON", "KubemeterHTTP", "KubemeterExposition", "KubemeterSync", "CLinux"],
            swiftSettings: strict
        ),
        // systemd integration (readiness, watchdog, socket activation) and the swift-log handlers
        // (logfmt, JSON, journald).
        .target(
            name: "KubemeterSystemd",
            dependencies: ["CSystemd", "KubemeterSync", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // The agent: routes, single-flight collection, wiring of all of the above.
        .target(
            name: "KubemeterAgent",
            dependencies: [
                "KubemeterParsers", "KubemeterHostFiles", "KubemeterSnapshot", "KubemeterCollector", "KubemeterExposition",
                "KubemeterHTTP", "KubemeterSync", "KubemeterSystemd", "CLinux", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The command line: `kubemeter serve|snapshot|top|cluster top|version`, and `kubectl-kubemeter`
        // (the same binary under the plugin's name). Thin by design.
        .executableTarget(
            name: "kubemeter",
            dependencies: [
                "KubemeterAgent", "KubemeterCluster", "KubemeterSnapshot", "KubemeterCollector", "KubemeterExposition",
                "KubemeterHTTP", "KubemeterSync", "KubemeterSystemd", "KubemeterTLS", "KubemeterWebConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // What the test targets share: driving Tests/tools/fake-node, reading what it wrote.
        .target(name: "KubemeterTestSupport", path: "Tests/KubemeterTestSupport", swiftSettings: strict),
        .testTarget(name: "KubemeterParsersTests", dependencies: ["KubemeterParsers", "KubemeterTestSupport"], exclude: ["Fixtures"], swiftSettings: strict),
        .testTarget(name: "KubemeterDiscoveryTests", dependencies: ["KubemeterDiscovery", "KubemeterHostFiles", "KubemeterTestSupport"], swiftSettings: strict),
        .testTarget(name: "KubemeterHTTPTests", dependencies: ["KubemeterHTTP", "KubemeterTestSupport"], swiftSettings: strict),
        .testTarget(name: "KubemeterWebConfigTests", dependencies: ["KubemeterWebConfig", "KubemeterTestSupport"], exclude: ["Fixtures"], swiftSettings: strict),
        .testTarget(name: "KubemeterTLSTests", dependencies: ["KubemeterTLS", "KubemeterHTTP", "KubemeterHostFiles", "KubemeterWebConfig", "KubemeterTestSupport"], swiftSettings: strict),
        .testTarget(name: "KubemeterJSONTests", dependencies: ["KubemeterJSON"], swiftSettings: strict),
        .testTarget(
            name: "KubemeterClusterTests",
            dependencies: ["KubemeterCluster", "KubemeterJSON", "KubemeterHTTP", "KubemeterExposition", "KubemeterSnapshot", "KubemeterParsers", "KubemeterSync"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "KubemeterAgentTests",
            dependencies: [
                "KubemeterAgent", "KubemeterCollector", "KubemeterDiscovery", "KubemeterExposition", "KubemeterHostFiles",
                "KubemeterHTTP", "KubemeterParsers", "KubemeterSnapshot", "KubemeterSync", "KubemeterTestSupport",
                "KubemeterJSON", "KubemeterCluster", "CLinux", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "KubemeterSystemdTests",
            dependencies: ["KubemeterSystemd", "KubemeterSync", "KubemeterTestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)

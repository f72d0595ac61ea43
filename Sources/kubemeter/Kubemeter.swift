public import ArgumentParser
import Dispatch
import KubemeterAgent
import KubemeterCollector
import KubemeterExposition
import KubemeterHTTP
import KubemeterSnapshot
import KubemeterSystemd
import KubemeterTLS
import KubemeterWebConfig
import Logging

#if canImport(Glibc)
import Glibc
#endif

@main
struct Kubemeter: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A Kubernetes node agent: the kubelet's /metrics/resource, read from cgroup v2 and /proc at scrape time.",
        discussion: """
            kubemeter maps pod and container cgroups to names through the CRI log paths on disk \
            (no API server, no CRI socket). Start with `kubemeter serve`, then \
            `curl localhost:10265/metrics/resource`.
            """,
        subcommands: [Serve.self, Snapshot.self, Top.self, Cluster.self, Version.self],
        defaultSubcommand: nil
    )

    /// Under the plugin's name (`kubectl-kubemeter`, a link to this binary) the commands are the
    /// plugin's: kubectl runs it for `kubectl kubemeter ...`.
    static func main() {
        let name = CommandLine.arguments.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? ""
        if name == KubectlKubemeter.pluginName {
            KubectlKubemeter.main()
        } else {
            main(nil)
        }
    }
}

/// The host paths, shared by `serve` and `snapshot`. These flag names are fixed: manifests and
/// operators' scripts depend on them.
struct HostOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Prefix for the four host paths below (a DaemonSet mounts the host at e.g. /host).", valueName: "dir"))
    var hostRoot: String = "/"

    @Option(help: ArgumentHelp("procfs of the host. Default: <host-root>/proc.", valueName: "dir"))
    var procPath: String?

    @Option(help: ArgumentHelp("""
        cgroup v2 mount. Default: <host-root>/sys/fs/cgroup when it is a cgroup2 root, \
        else <host-root>/sys/fs/cgroup/unified (hybrid hosts).
        """, valueName: "dir"))
    var cgroupPath: String?

    @Option(help: ArgumentHelp("CRI pod log directory. Default: <host-root>/var/log/pods.", valueName: "dir"))
    var podLogPath: String?

    @Option(help: ArgumentHelp("CRI container log symlinks. Default: <host-root>/var/log/containers.", valueName: "dir"))
    var containerLogPath: String?

    @Option(help: ArgumentHelp("The kubepods cgroup relative to the cgroup mount (e.g. kubepods.slice). Default: found by searching.", valueName: "path"))
    var kubepodsPath: String?

    @Option(help: ArgumentHelp("The kubelet's root directory: the Summary API's node fs is its file system (statfs only). Default: <host-root>/var/lib/kubelet.", valueName: "dir"))
    var kubeletRootDir: String?

    @Option(help: ArgumentHelp("""
        A directory on the runtime's image file system (statfs only). Default: the first of \
        <host-root>/var/lib/containerd, /var/lib/containers/storage, /var/lib/docker that exists.
        """, valueName: "dir"))
    var imageFsPath: String?

    @Option(help: ArgumentHelp("""
        The node's name in /stats/summary and /pods. Default: $NODE_NAME (the DaemonSet sets it \
        from spec.nodeName), else the host name in lower case (the kubelet's default).
        """, valueName: "name"))
    var nodeName: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(help: ArgumentHelp("""
        Log format: logfmt or json (stderr), or journald (native protocol, structured fields). \
        Default: journald when stderr is the journal (JOURNAL_STREAM), else logfmt.
        """, valueName: "format"))
    var logFormat: LogFormat?

    var paths: HostPaths {
        HostPaths.resolve(hostRoot: hostRoot, procPath: procPath, cgroupPath: cgroupPath,
                          podLogPath: podLogPath, containerLogPath: containerLogPath,
                          kubeletRootPath: kubeletRootDir, imageFileSystemPath: imageFsPath)
    }

    @Option(help: ArgumentHelp("""
        How the runtime turned CPU shares into cpu.weight, for /pods' CPU requests: linear (runc before \
        1.3.2, crun before 1.23), quadratic (later ones), or auto: told from the pods' own cgroups.
        """, valueName: "formula"))
    var cpuWeightConversion: CPUWeightConversionSetting = .auto

    @Option(help: ArgumentHelp("""
        Seconds between the starts of two walks of every pod's ephemeral storage (writable layers, \
        logs, emptyDir volumes, etc-hosts), done in the background; 0 turns them off.
        """, valueName: "seconds"))
    var ephemeralStorageInterval: Double = 60

    @Option(help: ArgumentHelp("""
        Inodes the ephemeral-storage walks examine per second at most (about 2 µs of CPU each); 0 = no limit.
        """, valueName: "count"))
    var ephemeralStorageInodesPerSecond: Int = 20_000

    var ephemeralStorage: EphemeralStorageMonitor.Configuration? {
        guard ephemeralStorageInterval > 0 else { return nil }
        return EphemeralStorageMonitor.Configuration(
            inodesPerSecond: max(0, ephemeralStorageInodesPerSecond), intervalSeconds: ephemeralStorageInterval)
    }

    var podListRenderer: PodListJSONRenderer {
        PodListJSONRenderer(nodeName: resolvedNodeName, cgroupfsRuntime: paths.installedRuntime, weightConversion: cpuWeightConversion)
    }

    var resolvedNodeName: String {
        NodeName.resolve(flag: nodeName, environment: getenv("NODE_NAME").map { String(cString: $0) })
    }

    func makeLogger() -> Logger {
        let level = logLevel
        let format = logFormat ?? .automatic()
        LoggingSystem.bootstrap { label in format.makeHandler(label: label, level: level) }
        return Logger(label: "kubemeter")
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension LogFormat: ExpressibleByArgument {}
extension CPUWeightConversionSetting: ExpressibleByArgument {}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the agent: serve /metrics/resource over HTTP.")

    @OptionGroup var host: HostOptions

    @Option(help: ArgumentHelp("Address to listen on: HOST:PORT, [IPv6]:PORT, or :PORT for all interfaces.", valueName: "address"))
    var listenAddress: String = ":10265"

    @Flag(help: "Attach the collection time to CPU and memory samples, as the kubelet does (off: samples are read at scrape time).")
    var sampleTimestamps = false

    @Option(help: "Most connections served at once; past it new connections are closed.")
    var maxConnections = 256

    @Option(help: ArgumentHelp("""
        Most connections one peer address holds at once; past it that address's own idle or silent \
        connections make room, else the new one gets 503. Default: a quarter of --max-connections.
        """, valueName: "n"))
    var maxConnectionsPerAddress: Int?

    @Option(help: ArgumentHelp("IPv6 peers count for --max-connections-per-address by this many leading bits (128: each address on its own; 64: a /64 as one).", valueName: "bits"))
    var ipv6PrefixPerAddress = 128

    @Option(help: ArgumentHelp("Seconds a client has to send a whole request head.", valueName: "seconds"))
    var readTimeout: Double = 5

    @Option(help: ArgumentHelp("Seconds responses in flight may take to finish after SIGTERM/SIGINT; then the agent exits 0.", valueName: "seconds"))
    var shutdownGracePeriod: Double = 5

    @Option(name: .customLong("web.config.file"), help: ArgumentHelp("""
        TLS, client certificates, basic auth and response headers, in exporter-toolkit's web configuration \
        format (docs/security.md). Re-read when it or the files it names change.
        """, valueName: "path"))
    var webConfigFile: String?

    func run() throws {
        let logger = host.makeLogger()
        // Socket activation: systemd (kubemeter.socket) passes the listening socket as fd 3, and
        // --listen-address is then ignored.
        let passed: Int32?
        do { passed = try SocketActivation.passedListeningSocket() } catch {
            logger.critical("cannot use the socket systemd passed", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        let address: ListenAddress
        do { address = try ListenAddress(parsing: listenAddress) } catch {
            throw ValidationError("--listen-address \(listenAddress): \(error)")
        }
        var http = HTTPServerConfiguration(listenAddress: address)
        http.maxConnections = maxConnections
        http.readTimeoutSeconds = readTimeout
        if let maxConnectionsPerAddress {
            guard maxConnectionsPerAddress >= 1 else { throw ValidationError("--max-connections-per-address must be at least 1") }
            http.maxConnectionsPerAddress = maxConnectionsPerAddress
        }
        guard (0...128).contains(ipv6PrefixPerAddress) else { throw ValidationError("--ipv6-prefix-per-address must be 0-128") }
        http.ipv6PrefixLengthPerAddress = ipv6PrefixPerAddress
        if let webConfigFile {
            let security: WebSecurity
            do {
                security = try WebSecurity(path: webConfigFile) { event in
                    switch event {
                    case .loaded(let config):
                        logger.notice("web configuration reloaded", metadata: Self.describe(config, path: webConfigFile))
                    case .failed(let error):
                        var metadata: Logger.Metadata = ["error": "\(error)"]
                        for (name, value) in error.fields { metadata[name] = "\(value)" }
                        logger.error("web configuration not reloaded; the previous one stays in force", metadata: metadata)
                    }
                }
            } catch {
                var metadata: Logger.Metadata = ["error": "\(error)"]
                for (name, value) in error.fields { metadata[name] = "\(value)" }
                logger.critical("invalid --web.config.file", metadata: metadata)
                throw ExitCode.failure
            }
            logger.info("web configuration loaded", metadata: Self.describe(security.config, path: webConfigFile))
            if security.tlsEnabled { http.tls = security }
            http.gate = security
        }
        let agent: Agent
        do {
            agent = try Agent(
                configuration: AgentConfiguration(paths: host.paths, podList: host.podListRenderer, kubepodsPath: host.kubepodsPath,
                                                  sampleTimestamps: sampleTimestamps, http: http,
                                                  listeningSocket: passed,
                                                  shutdownGracePeriodSeconds: shutdownGracePeriod,
                                                  ephemeralStorage: host.ephemeralStorage),
                logger: logger)
        } catch {
            logger.critical("cannot listen", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        let signals = ShutdownSignals { number in
            logger.notice("shutting down", metadata: ["signal": number == SIGTERM ? "SIGTERM" : "SIGINT"])
            agent.shutdown()
        }
        agent.run()
        withExtendedLifetime(signals) {}
        logger.info("stopped")
    }
}

extension Serve {
    static func describe(_ config: WebConfig, path: String) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["file": "\(path)", "tls": "\(config.tls != nil)", "basic_auth_users": "\(config.basicAuthUsers.count)"]
        if let tls = config.tls {
            metadata["cert_file"] = "\(tls.certFile)"
            metadata["client_auth_type"] = "\(tls.clientAuth.rawValue)"
            metadata["min_version"] = "\(tls.minVersion.rawValue)"
        }
        return metadata
    }
}

/// SIGTERM and SIGINT start a graceful shutdown.
final class ShutdownSignals {
    private let sources: [any DispatchSourceSignal]

    init(_ action: @escaping @Sendable (Int32) -> Void) {
        sources = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { action(number) }
            source.resume()
            return source
        }
    }
}

struct Snapshot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Collect once and print it to stdout: /metrics/resource (prom), every pod and container (json), or a table.")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case prom, json, summary, pods, table
    }

    @OptionGroup var host: HostOptions

    @Option(help: """
        prom: exactly what /metrics/resource serves; json: what /snapshot.json serves; summary: /stats/summary \
        (without usageNanoCores: one collection has no rate); pods: /pods (a v1.PodList); table: one collection \
        as `kubemeter top` lays it out (no rates).
        """)
    var format: Format = .prom

    @Flag(help: "Attach the collection time to CPU and memory samples, as the kubelet does (prom).")
    var sampleTimestamps = false

    func run() throws {
        let logger = host.makeLogger()
        let collector = Collector(paths: host.paths, kubepodsPath: host.kubepodsPath, storage: host.ephemeralStorage, logger: logger)
        var snapshot = collector.collect()
        if let storage = collector.storage {
            // One walk of the pods just found, then the same collection's figures attached.
            storage.measureNow()
            storage.attach(to: &snapshot)
        }
        let bytes: [UInt8]
        switch format {
        case .prom: bytes = ResourceMetricsRenderer(sampleTimestamps: sampleTimestamps).render(snapshot)
        case .json: bytes = SnapshotJSONRenderer().render(snapshot)
        case .summary: bytes = SummaryJSONRenderer(nodeName: host.resolvedNodeName).render(snapshot)
        case .pods: bytes = host.podListRenderer.render(snapshot)
        case .table:
            bytes = Array(TopTable().render(TopView(current: snapshot, previous: nil, options: TopOptions(sort: .namespace))).utf8)
        }
        writeAll(bytes)
        if snapshot.scrapeFailed { throw ExitCode.failure }
    }
}

/// Writes all of `bytes` to stdout, past short writes.
func writeAll(_ bytes: [UInt8]) {
    writeAllTo(1, bytes)
}

/// Writes all of `bytes` to `descriptor`, past short writes.
func writeAllTo(_ descriptor: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            offset += n
        }
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print kubemeter's version.")

    func run() {
        print("kubemeter \(KubemeterVersion.current)")
    }
}

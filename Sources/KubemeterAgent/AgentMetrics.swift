import KubemeterCollector
import KubemeterExposition
import KubemeterSnapshot
import KubemeterHTTP

/// Renders `/metrics`: the agent's own health, in Prometheus client conventions (`process_*`,
/// `*_build_info`, counters ending in `_total`, base units), like node_exporter's reports on its
/// own collectors.
struct AgentMetricsRenderer: Sendable {

    struct Family {
        var name: String
        var type: String
        var help: String
        var samples: [(suffix: String, labels: [(String, String)], value: Double)]
    }

    func render(_ h: AgentHealth) -> [UInt8] {
        func one(_ name: String, _ type: String, _ help: String, _ value: Double?) -> Family? {
            value.map { Family(name: name, type: type, help: help, samples: [("", [], $0)]) }
        }
        let p = h.process
        let families: [Family?] = [
            Family(name: "kubemeter_build_info", type: "gauge", help: "A metric with a constant '1' value labeled by kubemeter's version.",
                   samples: [("", [("version", h.version)], 1)]),
            one("kubemeter_collections_total", "counter", "Collections run since start (one may serve several scrapes).", Double(h.collections)),
            one("kubemeter_collection_failures_total", "counter", "Collections that could read neither the node's CPU nor its memory.", Double(h.failedCollections)),
            Family(name: "kubemeter_collection_duration_seconds", type: "summary", help: "Wall time of collections.",
                   samples: [("_sum", [], h.collectionSecondsSum), ("_count", [], Double(h.collections))]),
            Family(name: "kubemeter_collector_last_duration_seconds", type: "gauge", help: "Wall time of each stage of the last collection.",
                   samples: [("", [("collector", "cgroups")], h.lastTimings.cgroups),
                             ("", [("collector", "discovery")], h.lastTimings.discovery),
                             ("", [("collector", "node")], h.lastTimings.node)]),
            Family(name: "kubemeter_collector_success", type: "gauge",
                   help: "1 if each stage of the last collection read every file it found (absent and vanished files are no failure), else 0; the log names each file.",
                   samples: CollectionStage.allCases.map { stage in
                       ("", [("collector", stage.rawValue)], h.lastStageSucceeded[stage] == false ? 0 : 1)
                   }),
            h.features.map { features in
                Family(name: "kubemeter_feature_enabled", type: "gauge",
                       help: "1 if the posture the agent runs in lets it read the feature's files, else 0 (the start log says what is missing and why).",
                       samples: features.all.map { ("", [("feature", $0.name)], $0.enabled ? 1 : 0) })
            },
            one("kubemeter_ephemeral_storage_walk_rounds_total", "counter", "Rounds of the background ephemeral-storage walks completed (each walks every pod once).", h.ephemeralStorageWalks.map { Double($0.rounds) }),
            one("kubemeter_ephemeral_storage_walk_last_end_timestamp_seconds", "gauge", "When the last round of ephemeral-storage walks ended, in seconds since the Unix epoch.", h.ephemeralStorageWalks?.lastRoundEndSeconds),
            one("kubemeter_ephemeral_storage_walk_last_duration_seconds", "gauge", "Wall time of the last round of ephemeral-storage walks, the budget's sleeps included.", h.ephemeralStorageWalks.flatMap { $0.rounds > 0 ? $0.lastRoundDurationSeconds : nil }),
            one("kubemeter_ephemeral_storage_walk_cpu_seconds_total", "counter", "CPU time the ephemeral-storage walking thread has used.", h.ephemeralStorageWalks.map { $0.cpuSeconds }),
            one("kubemeter_ephemeral_storage_walk_inodes_total", "counter", "Inodes the ephemeral-storage walks have examined.", h.ephemeralStorageWalks.map { Double($0.inodesTotal) }),
            one("kubemeter_ephemeral_storage_walk_failures_total", "counter", "Parts of pods' ephemeral storage that a walk could not measure (the log names each path); their pods have no total.", h.ephemeralStorageWalks.map { Double($0.failuresTotal) }),
            one("kubemeter_ephemeral_storage_walk_budget_inodes_per_second", "gauge", "The walks' budget: inodes examined per second at most (--ephemeral-storage-inodes-per-second; 0: none).", h.ephemeralStorageWalks.map { Double($0.inodesPerSecond) }),
            one("kubemeter_pods", "gauge", "Pods seen by the last collection.", Double(h.lastPods)),
            one("kubemeter_containers", "gauge", "App containers seen by the last collection.", Double(h.lastContainers)),
            one("kubemeter_pods_without_log_directory", "gauge", "Pod cgroups the last collection could not name (no CRI pod log directory).", Double(h.lastPodsWithoutLogDirectory)),
            one("kubemeter_cgroups_vanished_total", "counter", "Cgroups that disappeared between discovery and reading (pod churn); skipped, never an error.", Double(h.vanishedCgroups)),
            one("kubemeter_files_unreadable_total", "counter", "Host files present but unreadable or unparsable; their values were left out.", Double(h.unreadableFiles)),
            one("kubemeter_entries_skipped_total", "counter", "Cgroup or log directory entries whose names fit no known layout.", Double(h.skippedEntries)),
            one("kubemeter_open_files", "gauge", "Host files and directories kept open between collections.", Double(h.openFiles)),
            one("kubemeter_uncached_reads_total", "counter", "Reads that opened and closed their file because the open-file bound was reached.", Double(h.uncachedReads)),
            Family(name: "kubemeter_directory_listings_total", type: "counter", help: "Directory listings, reused from the last collection or read anew.",
                   samples: [("", [("result", "read")], Double(h.listingsRead)), ("", [("result", "reused")], Double(h.listingsReused))]),
            h.http.map { http in
                Family(name: "kubemeter_http_connections_total", type: "counter", help: "Connections accepted, and those closed at once with 503: at the connection limit or the address's share with every open one busy, or out of file descriptors.",
                       samples: [("", [("result", "accepted")], Double(http.connectionsAccepted - http.connectionsRejected)),
                                 ("", [("result", "rejected")], Double(http.connectionsRejected))])
            },
            h.http.map { http in
                Family(name: "kubemeter_http_max_connections", type: "gauge",
                       help: "The connection limit in force: --max-connections, or less where RLIMIT_NOFILE leaves no room for it beside the kept-open files.",
                       samples: [("", [], Double(http.maxConnections))])
            },
            h.http.map { http in
                Family(name: "kubemeter_http_max_connections_per_address", type: "gauge",
                       help: "The share of the connection slots one peer address may hold: --max-connections-per-address, by default a quarter of the connection limit.",
                       samples: [("", [], Double(http.maxConnectionsPerAddress))])
            },
            h.http.map { http in
                Family(name: "kubemeter_http_connections_over_address_share_total", type: "counter",
                       help: "Connections from an address already holding its share: made room by closing one of that address's own (also counted in kubemeter_http_connections_closed_for_room_total), or closed with 503 (also counted as rejected in kubemeter_http_connections_total).",
                       samples: [("", [("result", "made_room")], Double(http.addressShareMadeRoom)),
                                 ("", [("result", "rejected")], Double(http.addressShareRejected))])
            },
            h.http.map { http in
                Family(name: "kubemeter_http_connections_closed_for_room_total", type: "counter",
                       help: "Connections closed at the connection limit or their address's share to make room for a new one: idle after a response, still waiting for their request head, or with a response the client has taken nothing of for a second (reset).",
                       samples: [("", [("state", "idle")], Double(http.idleConnectionsClosedForRoom)),
                                 ("", [("state", "waiting_for_head")], Double(http.incompleteConnectionsClosedForRoom)),
                                 ("", [("state", "stalled_response")], Double(http.stalledConnectionsClosedForRoom))])
            },
            h.http.map { http in
                Family(name: "kubemeter_http_requests_total", type: "counter", help: "Requests served, and requests refused by the server (400, 405, 408, 413, 414, 431, 505).",
                       samples: [("", [("result", "handled")], Double(http.requestsHandled)), ("", [("result", "rejected")], Double(http.requestsRejected))])
            },
            h.http.map { http in
                Family(name: "kubemeter_http_timeouts_total", type: "counter", help: "Connections cut off by the read or the write timeout (a response not handed over and acknowledged by the client in time).",
                       samples: [("", [("kind", "read")], Double(http.readTimeouts)), ("", [("kind", "write")], Double(http.writeTimeouts))])
            },
            h.http.flatMap { http in
                http.tlsHandshakes + http.tlsHandshakeFailures + http.tlsHandshakeTimeouts + http.tlsPlaintextRequests == 0 && http.security == nil ? nil :
                Family(name: "kubemeter_http_tls_handshakes_total", type: "counter",
                       help: "TLS handshakes: completed, failed (version, cipher, certificate, reset), cut off by the read timeout, or plain HTTP sent to the TLS port (answered 400).",
                       samples: [("", [("result", "completed")], Double(http.tlsHandshakes)),
                                 ("", [("result", "failed")], Double(http.tlsHandshakeFailures)),
                                 ("", [("result", "timeout")], Double(http.tlsHandshakeTimeouts)),
                                 ("", [("result", "plaintext")], Double(http.tlsPlaintextRequests))])
            },
            one("kubemeter_web_config_reloads_total", "counter",
                "Loads of --web.config.file and the files it names, the first one included.",
                h.http?.security.map { Double($0.reloads) }),
            one("kubemeter_web_config_reload_errors_total", "counter",
                "Changed web configurations or certificate files that could not be loaded (the previous configuration stayed in force).",
                h.http?.security.map { Double($0.reloadErrors) }),
            one("kubemeter_web_config_last_reload_successful", "gauge",
                "1 if the last load of the web configuration succeeded, else 0.",
                h.http?.security.map { $0.lastReloadSucceeded ? 1 : 0 }),
            one("kubemeter_http_auth_failures_total", "counter",
                "Requests answered 401: no, malformed or wrong basic auth credentials.",
                h.http?.security.map { Double($0.authFailures) }),
            h.http?.security.map { security in
                Family(name: "kubemeter_http_auth_cache_total", type: "counter",
                       help: "Basic auth checks answered from the cache of recent successes, and those that ran a bcrypt.",
                       samples: [("", [("result", "hit")], Double(security.authCacheHits)),
                                 ("", [("result", "miss")], Double(security.authCacheMisses))])
            },
            one("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", p.cpuSeconds),
            one("process_max_fds", "gauge", "Maximum number of open file descriptors.", p.maximumFileDescriptors.map { Double($0) }),
            one("process_open_fds", "gauge", "Number of open file descriptors.", p.openFileDescriptors.map { Double($0) }),
            one("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", p.residentBytes.map { Double($0) }),
            one("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", p.startTimeSeconds),
            one("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", p.virtualBytes.map { Double($0) }),
        ]
        var w = PrometheusTextWriter(reservingCapacity: 8 * 1024)
        for family in families.compactMap({ $0 }).sorted(by: { $0.name < $1.name }) {
            w.family(family.name, type: family.type, help: family.help)
            for s in family.samples { w.sample(family.name + s.suffix, labels: s.labels, value: s.value) }
        }
        return w.bytes
    }
}

/// Counters since the server started, for the agent's own metrics.
package struct HTTPServerStatistics: Sendable, Equatable {
    /// Connections accepted, including the ones refused for `maxConnections`.
    package var connectionsAccepted: UInt64
    /// Connections closed at once (after a best-effort 503): `maxConnections` were open and every
    /// one had a request being handled or written, or the process was out of descriptors.
    package var connectionsRejected: UInt64
    /// Kept-alive connections, idle after a response, closed to make room for a new connection.
    package var idleConnectionsClosedForRoom: UInt64
    /// Connections whose request head had not arrived, closed (after a 503) to make room.
    package var incompleteConnectionsClosedForRoom: UInt64
    /// Connections whose request was stalled (no byte taken by the peer for a second) closed to
    /// make room.
    package var stalledConnectionsClosedForRoom: UInt64 = 0
    /// Of the connections that arrived from an address already holding its share: those that took
    /// the slot of one of that address's own connections (also counted as closed for room, by the
    /// state of the one closed), and those sent a 503 and closed (also counted as rejected).
    package var addressShareMadeRoom: UInt64 = 0
    package var addressShareRejected: UInt64 = 0
    /// The per-address share in force.
    package var maxConnectionsPerAddress: Int = 0
    /// Requests handed to the handler.
    package var requestsHandled: UInt64
    /// Requests answered by the server itself with an error (400, 405, 408, 413, 414, 431, 505).
    package var requestsRejected: UInt64
    /// Connections whose request head did not arrive within the read timeout.
    package var readTimeouts: UInt64
    /// Connections reset because a response could not be written within the write timeout.
    package var writeTimeouts: UInt64
    /// The connection limit in force (the agent may lower the one asked for: `FileDescriptorBudget`).
    package var maxConnections: Int
    /// TLS handshakes completed; those that failed (protocol version, certificate, a closed or reset
    /// connection); those cut off by the read timeout; plain-HTTP requests sent to the TLS port
    /// (answered 400, as Go's server does). All 0 without TLS.
    package var tlsHandshakes: UInt64 = 0
    package var tlsHandshakeFailures: UInt64 = 0
    package var tlsHandshakeTimeouts: UInt64 = 0
    package var tlsPlaintextRequests: UInt64 = 0
    /// The web configuration's counters; nil without `--web.config.file`.
    package var security: WebSecurityStatistics?
}

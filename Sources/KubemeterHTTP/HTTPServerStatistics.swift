/// Counters since the server started, for the agent's own metrics.
public struct HTTPServerStatistics: Sendable, Equatable {
    /// Connections accepted, including the ones refused for `maxConnections`.
    public var connectionsAccepted: UInt64
    /// Connections closed at once because `maxConnections` were open.
    public var connectionsRejected: UInt64
    /// Requests handed to the handler.
    public var requestsHandled: UInt64
    /// Requests answered by the server itself with an error (400, 405, 408, 413, 414, 431, 505).
    public var requestsRejected: UInt64
    /// Connections whose request head did not arrive within the read timeout.
    public var readTimeouts: UInt64
    /// Connections reset because a response could not be written within the write timeout.
    public var writeTimeouts: UInt64
}

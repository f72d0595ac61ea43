import Synchronization

/// The live counters: written by the I/O thread, read from any thread.
final class ServerCounters: Sendable {
    let connectionsAccepted = Atomic<UInt64>(0)
    let connectionsRejected = Atomic<UInt64>(0)
    let idleConnectionsClosedForRoom = Atomic<UInt64>(0)
    let incompleteConnectionsClosedForRoom = Atomic<UInt64>(0)
    let stalledConnectionsClosedForRoom = Atomic<UInt64>(0)
    let addressShareMadeRoom = Atomic<UInt64>(0)
    let addressShareRejected = Atomic<UInt64>(0)
    let requestsHandled = Atomic<UInt64>(0)
    let requestsRejected = Atomic<UInt64>(0)
    let readTimeouts = Atomic<UInt64>(0)
    let writeTimeouts = Atomic<UInt64>(0)
    let tlsHandshakes = Atomic<UInt64>(0)
    let tlsHandshakeFailures = Atomic<UInt64>(0)
    let tlsHandshakeTimeouts = Atomic<UInt64>(0)
    let tlsPlaintextRequests = Atomic<UInt64>(0)

    static func increment(_ counter: borrowing Atomic<UInt64>) {
        counter.wrappingAdd(1, ordering: .relaxed)
    }

    func snapshot(maxConnections: Int, maxConnectionsPerAddress: Int, security: WebSecurityStatistics?) -> HTTPServerStatistics {
        HTTPServerStatistics(
            connectionsAccepted: connectionsAccepted.load(ordering: .relaxed),
            connectionsRejected: connectionsRejected.load(ordering: .relaxed),
            idleConnectionsClosedForRoom: idleConnectionsClosedForRoom.load(ordering: .relaxed),
            incompleteConnectionsClosedForRoom: incompleteConnectionsClosedForRoom.load(ordering: .relaxed),
            stalledConnectionsClosedForRoom: stalledConnectionsClosedForRoom.load(ordering: .relaxed),
            addressShareMadeRoom: addressShareMadeRoom.load(ordering: .relaxed),
            addressShareRejected: addressShareRejected.load(ordering: .relaxed),
            maxConnectionsPerAddress: maxConnectionsPerAddress,
            requestsHandled: requestsHandled.load(ordering: .relaxed),
            requestsRejected: requestsRejected.load(ordering: .relaxed),
            readTimeouts: readTimeouts.load(ordering: .relaxed),
            writeTimeouts: writeTimeouts.load(ordering: .relaxed),
            maxConnections: maxConnections,
            tlsHandshakes: tlsHandshakes.load(ordering: .relaxed),
            tlsHandshakeFailures: tlsHandshakeFailures.load(ordering: .relaxed),
            tlsHandshakeTimeouts: tlsHandshakeTimeouts.load(ordering: .relaxed),
            tlsPlaintextRequests: tlsPlaintextRequests.load(ordering: .relaxed),
            security: security
        )
    }
}

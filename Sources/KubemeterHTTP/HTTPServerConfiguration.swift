/// Limits and timeouts of an `HTTPServer`. The defaults suit a node agent scraped every few seconds.
package struct HTTPServerConfiguration: Sendable {
    package var listenAddress: ListenAddress
    /// Open connections allowed at once. At the limit a new connection takes the slot of the
    /// connection idle longest after a response, or else of the oldest whose head has not arrived
    /// (which gets a best-effort 503); only when every connection has a request being handled or
    /// written is the new one sent a 503 and closed.
    package var maxConnections: Int = 256
    /// Connections one peer address may hold at once (nil: a quarter of `maxConnections`, at least
    /// 1). A new connection from an address at its share takes the slot of that address's own
    /// connection idle longest, or else of its oldest whose head has not arrived; when all of them
    /// are busy it is sent a 503 and closed. So one address cannot hold every slot.
    package var maxConnectionsPerAddress: Int?
    /// How IPv6 peers are counted for the share: by their first this many bits (128: each address
    /// on its own; 64: a /64 as one address). IPv4 peers are counted by their address.
    package var ipv6PrefixLengthPerAddress: Int = 128
    /// SO_SNDBUF of each accepted socket (nil: the kernel's autotuning, up to net.ipv4.tcp_wmem's
    /// maximum, 4 MiB by default). It bounds what one connection keeps queued in the kernel.
    package var socketSendBufferBytes: Int? = 256 << 10
    /// The whole request head must arrive within this, counted from accept (or, on a kept-alive
    /// connection, from the first byte of the next request). A late head gets 408 and the connection closes.
    package var readTimeoutSeconds: Double = 5
    /// A response must be fully handed to the kernel, and acknowledged by the peer (the socket's
    /// send queue empty), within this, or the connection is reset.
    package var writeTimeoutSeconds: Double = 10
    /// An idle kept-alive connection is closed after this.
    package var keepAliveTimeoutSeconds: Double = 30
    /// Request line and header fields together; a longer request line gets 414, a longer head 431.
    package var maxHeaderBytes: Int = 8192
    /// Threads that run the handler.
    package var workerThreads: Int = 4
    /// TLS on every connection (nil: plain HTTP). The handshake runs on the I/O thread, within
    /// the read timeout counted from accept, like the request head that follows it.
    package var tls: (any TLSStreamFactory)?
    /// Runs on the worker before the handler (basic auth) and decorates its responses (headers).
    package var gate: (any RequestGate)?

    package init(listenAddress: ListenAddress) {
        self.listenAddress = listenAddress
    }

    /// The share in force: `maxConnectionsPerAddress`, or a quarter of `maxConnections`; never
    /// more than `maxConnections`, never less than 1.
    package var effectiveMaxConnectionsPerAddress: Int {
        max(1, min(maxConnections, maxConnectionsPerAddress ?? maxConnections / 4))
    }
}

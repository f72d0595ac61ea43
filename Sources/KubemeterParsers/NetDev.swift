/// One interface's counters from `/proc/net/dev`, as the kernel prints them (dev_seq_printf_stats).
package struct NetDevInterface: Equatable, Sendable {
    package var name: String
    package var rxBytes: UInt64
    package var rxPackets: UInt64
    package var rxErrors: UInt64
    package var rxDropped: UInt64
    package var rxFifo: UInt64
    package var rxFrame: UInt64
    package var rxCompressed: UInt64
    package var rxMulticast: UInt64
    package var txBytes: UInt64
    package var txPackets: UInt64
    package var txErrors: UInt64
    package var txDropped: UInt64
    package var txFifo: UInt64
    package var txCollisions: UInt64
    package var txCarrier: UInt64
    package var txCompressed: UInt64

    package init(
        name: String, rxBytes: UInt64 = 0, rxPackets: UInt64 = 0, rxErrors: UInt64 = 0,
        rxDropped: UInt64 = 0, rxFifo: UInt64 = 0, rxFrame: UInt64 = 0, rxCompressed: UInt64 = 0,
        rxMulticast: UInt64 = 0, txBytes: UInt64 = 0, txPackets: UInt64 = 0, txErrors: UInt64 = 0,
        txDropped: UInt64 = 0, txFifo: UInt64 = 0, txCollisions: UInt64 = 0, txCarrier: UInt64 = 0,
        txCompressed: UInt64 = 0
    ) {
        self.name = name
        self.rxBytes = rxBytes
        self.rxPackets = rxPackets
        self.rxErrors = rxErrors
        self.rxDropped = rxDropped
        self.rxFifo = rxFifo
        self.rxFrame = rxFrame
        self.rxCompressed = rxCompressed
        self.rxMulticast = rxMulticast
        self.txBytes = txBytes
        self.txPackets = txPackets
        self.txErrors = txErrors
        self.txDropped = txDropped
        self.txFifo = txFifo
        self.txCollisions = txCollisions
        self.txCarrier = txCarrier
        self.txCompressed = txCompressed
    }
}

/// `/proc/net/dev` (the reading process's network namespace) or `/proc/<pid>/net/dev` (that
/// process's namespace, e.g. a pod's):
///
///     Inter-|   Receive                                                |  Transmit
///      face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets ...
///       eth0: 55728435    1411    0    0    0     0          0         0    80996    1036 ...
///
/// The name ends at the first ':' (names cannot contain one); the kernel pads it to six columns
/// and omits the space after the colon when a number is wide ("eth0:123"), so the colon, not
/// blanks, separates it from the counters.
package struct NetDev: KernelFile, Equatable, Sendable {
    package static let fileName = "/proc/net/dev"

    /// In file order.
    package var interfaces: [NetDevInterface]
    /// Lines skipped: no colon, a bad name, not exactly 16 numbers, or a repeated interface
    /// (every line of a repeated name is dropped).
    package var malformedLines: Int

    package init(interfaces: [NetDevInterface], malformedLines: Int = 0) {
        self.interfaces = interfaces
        self.malformedLines = malformedLines
    }

    /// IFNAMSIZ is 16; anything much longer is not an interface name.
    static let maximumNameLength = 64
    static let columnCount = 16

    package static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> NetDev {
        if bytes.isBlankFile { throw ParseError(file: fileName, reason: .empty) }
        var interfaces: [NetDevInterface] = []
        var malformed = 0
        var seen = DuplicateFinder<String>()
        var repeated: Set<String> = []

        var lines = LineReader(bytes)
        while let line = lines.next() {
            // The two header lines are the only ones with '|' (names may contain it too).
            if lines.lineNumber <= 2 && bytes.contains(ASCII.verticalBar, in: line) { continue }
            let trimmed = bytes.trimmingBlanks(line)
            if trimmed.isEmpty { continue }
            guard let colon = bytes.firstIndex(of: ASCII.colon, in: trimmed) else {
                malformed += 1
                continue
            }
            let nameSpan = ByteSpan(start: trimmed.start, end: colon)
            guard isName(bytes, nameSpan),
                  var interface = parseCounters(bytes, ByteSpan(start: colon + 1, end: trimmed.end))
            else {
                malformed += 1
                continue
            }
            interface.name = bytes.string(nameSpan)
            if !seen.insert(interface.name) {
                repeated.insert(interface.name)
                malformed += 1
            }
            interfaces.append(interface)
        }
        if !repeated.isEmpty {
            interfaces.removeAll { repeated.contains($0.name) }
        }
        return NetDev(interfaces: interfaces, malformedLines: malformed)
    }

    /// Exactly 16 numbers; the name is filled in by the caller.
    private static func parseCounters(_ bytes: UnsafeRawBufferPointer, _ span: ByteSpan) -> NetDevInterface? {
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: columnCount) { c -> NetDevInterface? in
            var fields = FieldReader(bytes, span)
            var count = 0
            while let field = fields.next() {
                guard count < columnCount, let value = DecimalText.uint64(bytes, field) else { return nil }
                c[count] = value
                count += 1
            }
            guard count == columnCount else { return nil }
            return NetDevInterface(
                name: "", rxBytes: c[0], rxPackets: c[1], rxErrors: c[2], rxDropped: c[3],
                rxFifo: c[4], rxFrame: c[5], rxCompressed: c[6], rxMulticast: c[7],
                txBytes: c[8], txPackets: c[9], txErrors: c[10], txDropped: c[11],
                txFifo: c[12], txCollisions: c[13], txCarrier: c[14], txCompressed: c[15])
        }
    }

    /// Linux names have no whitespace, '/' or ':'; control bytes are refused too.
    private static func isName(_ bytes: UnsafeRawBufferPointer, _ span: ByteSpan) -> Bool {
        guard span.count > 0 && span.count <= maximumNameLength else { return false }
        var i = span.start
        while i < span.end {
            let byte = bytes[i]
            guard byte > ASCII.space && byte != 0x7F && byte != 0x2F else { return false }
            i += 1
        }
        return true
    }
}

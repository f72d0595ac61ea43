import Testing
@testable import KubemeterParsers

@Suite struct NetDevTests {
    // Copied from this host's /proc/net/dev (Linux 6.18).
    @Test func realSample() throws {
        let dev = try NetDev.parse(try Fixture.bytes("proc_net_dev.txt"))
        #expect(dev.interfaces.map(\.name) == ["lo", "ifb0", "ifb1", "eth0"])
        #expect(dev.interfaces[0] == NetDevInterface(name: "lo", rxBytes: 3193, rxPackets: 29, txBytes: 3193, txPackets: 29))
        #expect(dev.interfaces[1] == NetDevInterface(name: "ifb0"))
        #expect(dev.interfaces[3] == NetDevInterface(name: "eth0", rxBytes: 55_728_435, rxPackets: 1411, txBytes: 80996, txPackets: 1036))
        #expect(dev.malformedLines == 0)
    }

    static let header = """
        Inter-|   Receive                                                |  Transmit
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed

        """

    @Test func everyColumnInItsPlace() throws {
        let dev = try NetDev.parse(Self.header + "  eth1: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n")
        #expect(dev.interfaces == [NetDevInterface(
            name: "eth1", rxBytes: 1, rxPackets: 2, rxErrors: 3, rxDropped: 4, rxFifo: 5, rxFrame: 6,
            rxCompressed: 7, rxMulticast: 8, txBytes: 9, txPackets: 10, txErrors: 11, txDropped: 12,
            txFifo: 13, txCollisions: 14, txCarrier: 15, txCompressed: 16)])
    }

    @Test func longNameAndWideNumberWithoutSpace() throws {
        // "%6s:%8llu": a 15-byte name and a 9-digit number leave no blank after the colon.
        let dev = try NetDev.parse(Self.header + "veth1a2b3c4d5e6:123456789 2 0 0 0 0 0 0 18446744073709551615 4 0 0 0 0 0 0\n")
        #expect(dev.interfaces == [NetDevInterface(name: "veth1a2b3c4d5e6", rxBytes: 123_456_789, rxPackets: 2, txBytes: .max, txPackets: 4)])
    }

    @Test func namesMayHoldPunctuation() throws {
        let dev = try NetDev.parse(Self.header + " br-a|b.1@x: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n")
        #expect(dev.interfaces.map(\.name) == ["br-a|b.1@x"])
    }

    @Test func wrongColumnCountsAndBadNumbersAreSkipped() throws {
        let dev = try NetDev.parse(Self.header + lines(
            "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15",        // 15 columns
            "  eth1: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17",  // 17 columns
            "  eth2: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 -16",
            "  eth3: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 18446744073709551616",
            "  eth4 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",      // no colon
            "  : 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",         // no name
            "  lo: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"))
        #expect(dev == NetDev(interfaces: [NetDevInterface(name: "lo")], malformedLines: 6))
    }

    @Test func repeatedInterfaceIsDropped() throws {
        let dev = try NetDev.parse(Self.header + lines(
            "  eth0: 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0", "    lo: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0",
            "  eth0: 2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"))
        #expect(dev == NetDev(interfaces: [NetDevInterface(name: "lo")], malformedLines: 1))
    }

    @Test func noHeaderStillReadsInterfaces() throws {
        let dev = try NetDev.parse("lo: 5 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n")
        #expect(dev.interfaces == [NetDevInterface(name: "lo", rxBytes: 5)])
    }

    @Test func headerOnlyAndEmpty() throws {
        #expect(try NetDev.parse(Self.header) == NetDev(interfaces: []))
        #expect(parseError(NetDev.self, "") == ParseError(file: "/proc/net/dev", reason: .empty))
    }

    @Test func crlf() throws {
        let text = Self.header.split(separator: "\n").map { $0 + "\r\n" }.joined()
            + "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\r\n"
        let dev = try NetDev.parse(text)
        #expect(dev.interfaces.map(\.txCompressed) == [16])
    }
}

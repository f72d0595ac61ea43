import Testing
@testable import KubemeterParsers

@Suite struct CgroupValueTests {
    // Written in the kernel's format (one number and "\n", cgroup-v2.rst "memory.current").
    @Test func kernelFormatSample() throws {
        let bytes = try Fixture.bytes("cgroupv2_memory.current.txt")
        #expect(try CgroupValue.parse(bytes, file: "memory.current") == CgroupValue(value: 536_870_912))
    }

    @Test func toleratesOneTrailingNewlineOnly() throws {
        #expect(try CgroupValue.parse("42") == CgroupValue(value: 42))
        #expect(try CgroupValue.parse("42\n") == CgroupValue(value: 42))
        #expect(try CgroupValue.parse("42\r\n") == CgroupValue(value: 42))
        #expect(try CgroupValue.parse("0\n") == CgroupValue(value: 0))
        #expect(try CgroupValue.parse("18446744073709551615\n") == CgroupValue(value: .max))
    }

    @Test(arguments: [
        "42\n\n", " 42\n", "42 \n", "-1\n", "+1\n", "max\n", "4 2\n", "42\n43\n", "0x10\n",
        "18446744073709551616\n", "99999999999999999999999999\n", "1.5\n", "\u{0}\n", "42\u{0}",
    ])
    func anythingElseIsInvalidNumber(_ text: String) {
        let error = parseError(CgroupValue.self, text)
        #expect(error == ParseError(file: "single-value file", reason: .invalidNumber(field: "value")))
    }

    @Test func errorsNameTheRealFile() {
        do {
            _ = try CgroupValue.parse("max\n", file: "pids.current")
            Issue.record("parsed")
        } catch {
            #expect(error == ParseError(file: "pids.current", reason: .invalidNumber(field: "value")))
            #expect(error.description == "pids.current: invalid number in value")
        }
        #expect(throws: ParseError(file: "memory.peak", reason: .empty)) {
            try CgroupValue.parse([UInt8](), file: "memory.peak")
        }
        #expect(throws: ParseError(file: "memory.peak", reason: .empty)) {
            try CgroupValue.parse("\n", file: "memory.peak")
        }
    }
}

@Suite struct CgroupLimitTests {
    @Test func kernelFormatSample() throws {
        let bytes = try Fixture.bytes("cgroupv2_memory.max.txt")
        #expect(try CgroupLimit.parse(bytes, file: "memory.max") == .unlimited)
    }

    @Test func numbersAndMax() throws {
        #expect(try CgroupLimit.parse("max") == .unlimited)
        #expect(try CgroupLimit.parse("max\r\n") == .unlimited)
        #expect(try CgroupLimit.parse("1073741824\n") == .limited(1_073_741_824))
        #expect(try CgroupLimit.parse("0\n", file: "pids.max") == .limited(0))
    }

    @Test(arguments: ["Max\n", "max \n", "maximum\n", "-1\n", "18446744073709551616\n", "max\nmax\n", "1 2\n"])
    func invalid(_ text: String) {
        #expect(parseError(CgroupLimit.self, text) == ParseError(file: "limit file", reason: .invalidNumber(field: "value")))
    }

    @Test func emptyNamesTheFile() {
        #expect(throws: ParseError(file: "memory.swap.max", reason: .empty)) {
            try CgroupLimit.parse("", file: "memory.swap.max")
        }
    }
}

@Suite struct CPUMaxTests {
    // Written in the kernel's format (cgroup-v2.rst "cpu.max", default "max 100000").
    @Test func kernelFormatSample() throws {
        let max = try CPUMax.parse(try Fixture.bytes("cgroupv2_cpu.max.txt"))
        #expect(max == CPUMax(quotaUsec: nil, periodUsec: 100_000))
    }

    @Test func quota() throws {
        #expect(try CPUMax.parse("50000 100000\n") == CPUMax(quotaUsec: 50000, periodUsec: 100_000))
        #expect(try CPUMax.parse("50000 100000\r\n") == CPUMax(quotaUsec: 50000, periodUsec: 100_000))
    }

    @Test func malformed() {
        func error(_ text: String) -> ParseError.Reason? { parseError(CPUMax.self, text)?.reason }
        #expect(error("") == .empty)
        #expect(error("max\n") == .missingField("period"))
        #expect(error("max 100000 1\n") == .malformed(line: 1))
        #expect(error("max 100000\n50000 100000\n") == .malformed(line: 2))
        #expect(error("-1 100000\n") == .invalidNumber(field: "quota"))
        #expect(error("max max\n") == .invalidNumber(field: "period"))
        #expect(error("50000 18446744073709551616\n") == .invalidNumber(field: "period"))
        #expect(parseError(CPUMax.self, "max 100000\n\n") == nil)
    }
}

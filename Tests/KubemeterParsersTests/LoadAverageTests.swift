import Testing
@testable import KubemeterParsers

@Suite struct LoadAverageTests {
    // As fs/proc/loadavg.c writes it: "%lu.%02lu %lu.%02lu %lu.%02lu %u/%d %d\n".
    @Test func kernelFormat() throws {
        #expect(try LoadAverage.parse("0.52 0.58 0.59 2/1090 123456\n") == LoadAverage(runnableTasks: 2, tasks: 1090))
        #expect(try LoadAverage.parse("12.00 8.31 4.02 17/70001 4194303") == LoadAverage(runnableTasks: 17, tasks: 70_001))
    }

    @Test(arguments: ["0.52 0.58 0.59\n", "0.52 0.58 0.59 21090 1\n", "0.52 0.58 0.59 2/ 1\n", "0.52 0.58 0.59 /5 1\n", "0.52 0.58 0.59 -2/5 1\n", "a b c 2/x 1\n"])
    func malformedIsAnError(_ text: String) {
        #expect(throws: ParseError.self) { try LoadAverage.parse(text) }
    }

    @Test func emptyIsEmpty() {
        #expect(throws: ParseError(file: "loadavg", reason: .empty)) { try LoadAverage.parse("\n") }
    }
}

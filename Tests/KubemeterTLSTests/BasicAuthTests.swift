import Testing
@testable import KubemeterTLS

@Suite struct BasicAuthTests {
    @Test func placeholder() {}
}

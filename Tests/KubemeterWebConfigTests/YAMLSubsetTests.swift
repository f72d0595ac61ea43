import Testing
@testable import KubemeterWebConfig

@Suite struct YAMLSubsetTests {
    @Test func placeholder() {}
}

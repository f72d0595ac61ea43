import Testing
@testable import KubemeterDiscovery

private let uid = "6f1c2b9e-3d4a-4b8c-9e0f-1a2b3c4d5e6f"
private let staticUID = "0123456789abcdef0123456789abcdef"

@Suite struct PodLogDirectoryNameTests {
    static let good: [(String, String, String, String)] = [
        ("default_web-0_\(uid)", "default", "web-0", uid),
        ("kube-system_kube-apiserver-node-1_\(staticUID)", "kube-system", "kube-apiserver-node-1", staticUID),
        ("ns_my.app-1.example_\(uid)", "ns", "my.app-1.example", uid),  // `.` in pod names
        ("a_b_\(uid)", "a", "b", uid),
        ("\(String(repeating: "n", count: 63))_\(String(repeating: "p", count: 253))_\(uid)",
         String(repeating: "n", count: 63), String(repeating: "p", count: 253), uid),
    ]

    @Test(arguments: good)
    func parses(directory: String, namespace: String, name: String, uid: String) throws {
        let parsed = try #require(PodLogDirectoryName(parsing: directory))
        #expect(parsed == PodLogDirectoryName(namespace: namespace, name: name, uid: uid))
    }

    static let bad: [String] = [
        uid,  // legacy /var/log/pods/<uid>: no names
        "default_web-0", "default_web_0_\(uid)", "default_web-0_\(uid)_", "_web-0_\(uid)", "default__\(uid)",
        "Default_web-0_\(uid)", "default_Web-0_\(uid)", "default_web-0_\(uid.uppercased())",
        "default_web-0_not-a-uid", "default_web-0_\(uid.dropLast())", "default_web-0_\(staticUID)0",
        "-default_web-0_\(uid)", "default-_web-0_\(uid)", "default_web-0-_\(uid)", "default_.web_\(uid)",
        "default_web..0_\(uid)", "default_web.-0_\(uid)", "de.fault_web-0_\(uid)",
        "\(String(repeating: "n", count: 64))_web_\(uid)", "ns_\(String(repeating: "p", count: 254))_\(uid)",
        "default_wéb_\(uid)", "", "__",
    ]

    @Test(arguments: bad)
    func rejects(directory: String) {
        #expect(PodLogDirectoryName(parsing: directory) == nil, "\(directory)")
    }
}

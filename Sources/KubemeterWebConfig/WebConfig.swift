/// A web configuration file in the format of Prometheus' exporter-toolkit
/// (docs/web-configuration.md there): `tls_server_config`, `http_server_config`,
/// `basic_auth_users`. Validated whole at load: an unknown key, a bad value, or a key kubemeter does
/// not implement is a `WebConfigError` with its line, never ignored. Paths are made absolute
/// against the file's directory, as exporter-toolkit does.
package struct WebConfig: Equatable, Sendable {
    /// nil: plain HTTP (no `tls_server_config`, or one without `cert_file`, as exporter-toolkit).
    package var tls: TLSServerConfig?
    /// `http_server_config.headers`, added to every response the handler makes.
    package var headers: [HeaderField]
    /// user -> bcrypt hash; empty: no basic auth.
    package var basicAuthUsers: [String: String]

    package init(tls: TLSServerConfig? = nil, headers: [HeaderField] = [], basicAuthUsers: [String: String] = [:]) {
        self.tls = tls
        self.headers = headers
        self.basicAuthUsers = basicAuthUsers
    }

    package struct HeaderField: Equatable, Sendable {
        package var name: String
        package var value: String

        package init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The files this configuration reads (re-read when they change).
    package var files: [String] {
        guard let tls else { return [] }
        return [tls.certFile, tls.keyFile] + (tls.clientCAFile.map { [$0] } ?? [])
    }
}

package struct TLSServerConfig: Equatable, Sendable {
    package var certFile: String
    package var keyFile: String
    package var clientCAFile: String?
    package var clientAuth: ClientAuthType = .noClientCert
    package var minVersion: TLSVersion = .tls12
    package var maxVersion: TLSVersion = .tls13
    /// OpenSSL names of the TLS 1.2 suites, in preference order; empty: OpenSSL's defaults
    /// restricted to forward-secret AEAD suites (see `defaultCipherList`).
    package var cipherSuites: [String] = []
    package var preferServerCipherSuites = true
    /// OpenSSL group names, in preference order; empty: OpenSSL's defaults.
    package var curves: [String] = []

    package init(certFile: String, keyFile: String) {
        self.certFile = certFile
        self.keyFile = keyFile
    }

    /// What is used when `cipher_suites` is not set: ECDHE with AES-GCM or ChaCha20-Poly1305 (Go's
    /// defaults without the CBC suites).
    package static let defaultCipherList = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
}

/// Go's `tls.ClientAuthType` names.
package enum ClientAuthType: String, Equatable, Sendable, CaseIterable {
    case noClientCert = "NoClientCert"
    /// A certificate is asked for, not required, not verified.
    case requestClientCert = "RequestClientCert"
    /// A certificate is required, not verified.
    case requireAnyClientCert = "RequireAnyClientCert"
    /// A certificate is not required; one that is sent must verify against `client_ca_file`.
    case verifyClientCertIfGiven = "VerifyClientCertIfGiven"
    /// A certificate is required and must verify against `client_ca_file`.
    case requireAndVerifyClientCert = "RequireAndVerifyClientCert"

    package var verifies: Bool { self == .verifyClientCertIfGiven || self == .requireAndVerifyClientCert }
    package var requires: Bool { self == .requireAnyClientCert || self == .requireAndVerifyClientCert }
}

package enum TLSVersion: String, Equatable, Sendable, Comparable {
    case tls12 = "TLS12"
    case tls13 = "TLS13"

    package static func < (a: TLSVersion, b: TLSVersion) -> Bool { a == .tls12 && b == .tls13 }
}

package struct WebConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    /// 1-based line of the offending key or value; 0 when it concerns the whole file.
    package var line: Int
    /// The key's path, e.g. `tls_server_config.min_version`; empty for a YAML syntax error.
    package var key: String
    package var reason: String

    package init(line: Int, key: String, reason: String) {
        self.line = line
        self.key = key
        self.reason = reason
    }

    package var description: String {
        let place = line > 0 ? "line \(line): " : ""
        return key.isEmpty ? place + reason : place + key + ": " + reason
    }
}

extension WebConfig {
    /// Go's names of the TLS 1.2 suites (crypto/tls `CipherSuites()` and the ChaCha20 aliases) ->
    /// OpenSSL's. The TLS 1.3 suites are accepted and, as in Go, not configurable.
    package static let cipherSuiteNames: [String: String] = [
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": "ECDHE-RSA-CHACHA20-POLY1305",
    ]
    package static let tls13CipherSuiteNames: Set<String> = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]
    /// Go's `tls.CurveID` names -> OpenSSL's group names.
    package static let curveNames: [String: String] = [
        "CurveP256": "P-256", "CurveP384": "P-384", "CurveP521": "P-521", "X25519": "X25519",
    ]
    /// The headers exporter-toolkit allows, and the values it allows for two of them (lower case).
    package static let allowedHeaders: [String: Set<String>?] = [
        "Strict-Transport-Security": nil, "X-Content-Type-Options": ["nosniff"],
        "X-Frame-Options": ["deny", "sameorigin"], "X-XSS-Protection": nil, "Content-Security-Policy": nil,
    ]

    /// Parses and validates a web configuration. `directory` is the file's own directory, against
    /// which relative paths are resolved.
    package static func parse(_ bytes: [UInt8], directory: String) throws(WebConfigError) -> WebConfig {
        let root: YAMLNode
        do { root = try YAMLSubset.parse(bytes) } catch {
            throw WebConfigError(line: error.line, key: "", reason: error.reason)
        }
        var config = WebConfig()
        if case .null = root.kind { return config }
        let top = try mapping(root, key: "")
        for pair in top {
            switch pair.key {
            case "tls_server_config": config.tls = try tlsServerConfig(pair, directory: directory)
            case "http_server_config": config.headers = try httpServerConfig(pair)
            case "basic_auth_users": config.basicAuthUsers = try basicAuthUsers(pair)
            case "rate_limit":
                throw WebConfigError(line: pair.line, key: pair.key, reason: "not supported by kubemeter (use the connection limit, --max-connections)")
            default:
                throw WebConfigError(line: pair.line, key: pair.key, reason: "unknown key (expected tls_server_config, http_server_config or basic_auth_users)")
            }
        }
        return config
    }

    // MARK: Sections

    private static func tlsServerConfig(_ section: YAMLPair, directory: String) throws(WebConfigError) -> TLSServerConfig? {
        let pairs = try optionalMapping(section.value, key: section.key)
        var certFile: String?
        var keyFile: String?
        var clientCAFile: String?
        var clientAuth = ClientAuthType.noClientCert
        var clientAuthLine = section.line
        var minVersion = TLSVersion.tls12
        var maxVersion = TLSVersion.tls13
        var versionLine = section.line
        var ciphers: [String] = []
        var preferServer = true
        var curves: [String] = []
        for pair in pairs {
            let key = section.key + "." + pair.key
            switch pair.key {
            case "cert_file": certFile = try optionalString(pair.value, key: key).map { resolve($0, directory) }
            case "key_file": keyFile = try optionalString(pair.value, key: key).map { resolve($0, directory) }
            case "client_ca_file": clientCAFile = try optionalString(pair.value, key: key).map { resolve($0, directory) }
            case "cert", "key", "client_ca":
                throw WebConfigError(line: pair.line, key: key, reason: "inline PEM is not supported by kubemeter: use \(pair.key)_file")
            case "client_allowed_sans":
                throw WebConfigError(line: pair.line, key: key, reason: "not supported by kubemeter")
            case "client_auth_type":
                let text = try optionalString(pair.value, key: key) ?? ""
                if text.isEmpty { clientAuth = .noClientCert; break }
                guard let value = ClientAuthType(rawValue: text) else {
                    throw WebConfigError(line: pair.value.line, key: key, reason: "\"\(text)\" is not one of \(ClientAuthType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                clientAuth = value
                clientAuthLine = pair.line
            case "min_version":
                minVersion = try version(pair, key: key) ?? .tls12
                versionLine = pair.line
            case "max_version":
                maxVersion = try version(pair, key: key) ?? .tls13
                versionLine = pair.line
            case "cipher_suites":
                ciphers = []
                for item in try stringList(pair.value, key: key) {
                    if let name = cipherSuiteNames[item.text] {
                        if !ciphers.contains(name) { ciphers.append(name) }
                    } else if !tls13CipherSuiteNames.contains(item.text) {
                        throw WebConfigError(line: item.line, key: key, reason: "unknown cipher suite \"\(item.text)\" (Go's names of the TLS 1.2 ECDHE suites, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)")
                    }
                }
            case "prefer_server_cipher_suites":
                preferServer = try optionalBool(pair.value, key: key) ?? true
            case "curve_preferences":
                curves = []
                for item in try stringList(pair.value, key: key) {
                    guard let name = curveNames[item.text] else {
                        throw WebConfigError(line: item.line, key: key, reason: "unknown curve \"\(item.text)\" (expected \(curveNames.keys.sorted().joined(separator: ", ")))")
                    }
                    if !curves.contains(name) { curves.append(name) }
                }
            default:
                throw WebConfigError(line: pair.line, key: key, reason: "unknown key")
            }
        }
        guard let certFile, !certFile.isEmpty else {
            // exporter-toolkit: no certificate means TLS is off; anything else set is then a mistake.
            if keyFile != nil || clientCAFile != nil || clientAuth != .noClientCert {
                throw WebConfigError(line: section.line, key: section.key + ".cert_file", reason: "missing (key_file, client_ca_file and client_auth_type need a certificate)")
            }
            return nil
        }
        guard let keyFile, !keyFile.isEmpty else {
            throw WebConfigError(line: section.line, key: section.key + ".key_file", reason: "missing (cert_file is set)")
        }
        if clientAuth.verifies && clientCAFile == nil {
            throw WebConfigError(line: clientAuthLine, key: section.key + ".client_ca_file", reason: "missing: \(clientAuth.rawValue) verifies client certificates against it")
        }
        if clientCAFile != nil && clientAuth == .noClientCert {
            throw WebConfigError(line: section.line, key: section.key + ".client_auth_type", reason: "client_ca_file is set without a client_auth_type that uses it")
        }
        if minVersion > maxVersion {
            throw WebConfigError(line: versionLine, key: section.key + ".min_version", reason: "\(minVersion.rawValue) is above max_version \(maxVersion.rawValue)")
        }
        var tls = TLSServerConfig(certFile: certFile, keyFile: keyFile)
        tls.clientCAFile = clientCAFile
        tls.clientAuth = clientAuth
        tls.minVersion = minVersion
        tls.maxVersion = maxVersion
        tls.cipherSuites = ciphers
        tls.preferServerCipherSuites = preferServer
        tls.curves = curves
        return tls
    }

    private static func version(_ pair: YAMLPair, key: String) throws(WebConfigError) -> TLSVersion? {
        guard let text = try optionalString(pair.value, key: key), !text.isEmpty else { return nil }
        if let version = TLSVersion(rawValue: text) { return version }
        if text == "TLS10" || text == "TLS11" {
            throw WebConfigError(line: pair.value.line, key: key, reason: "\(text) is refused: kubemeter speaks TLS 1.2 and 1.3 only")
        }
        throw WebConfigError(line: pair.value.line, key: key, reason: "\"\(text)\" is not TLS12 or TLS13")
    }

    private static func httpServerConfig(_ section: YAMLPair) throws(WebConfigError) -> [HeaderField] {
        var headers: [HeaderField] = []
        for pair in try optionalMapping(section.value, key: section.key) {
            let key = section.key + "." + pair.key
            switch pair.key {
            case "http2":
                if try optionalBool(pair.value, key: key) ?? true {
                    throw WebConfigError(line: pair.line, key: key, reason: "HTTP/2 is not supported by kubemeter: set it to false (the default here is HTTP/1.1 only)")
                }
            case "headers":
                for header in try optionalMapping(pair.value, key: key) {
                    let headerKey = key + "." + header.key
                    guard let allowed = allowedHeaders.first(where: { $0.key.lowercased() == header.key.lowercased() }) else {
                        throw WebConfigError(line: header.line, key: headerKey, reason: "not a header that may be set (expected one of \(allowedHeaders.keys.sorted().joined(separator: ", ")))")
                    }
                    guard let value = try optionalString(header.value, key: headerKey), !value.isEmpty else { continue }
                    if let values = allowed.value, !values.contains(value.lowercased()) {
                        throw WebConfigError(line: header.value.line, key: headerKey, reason: "\"\(value)\" is not one of \(values.sorted().joined(separator: ", "))")
                    }
                    if value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
                        throw WebConfigError(line: header.value.line, key: headerKey, reason: "a control character in a header value")
                    }
                    headers.append(HeaderField(name: allowed.key, value: value))
                }
            default:
                throw WebConfigError(line: pair.line, key: key, reason: "unknown key (expected headers or http2)")
            }
        }
        return headers
    }

    private static func basicAuthUsers(_ section: YAMLPair) throws(WebConfigError) -> [String: String] {
        var users: [String: String] = [:]
        for pair in try optionalMapping(section.value, key: section.key) {
            let key = section.key + "." + pair.key
            if pair.key.contains(":") {
                throw WebConfigError(line: pair.line, key: key, reason: "a user name cannot contain \":\" (basic auth separates user and password with it)")
            }
            guard let hash = try optionalString(pair.value, key: key) else {
                throw WebConfigError(line: pair.line, key: key, reason: "missing bcrypt hash")
            }
            guard isBcryptHash(hash) else {
                throw WebConfigError(line: pair.value.line, key: key, reason: "not a bcrypt hash ($2a$, $2b$ or $2y$, cost 04-31, 60 characters; e.g. from `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)")
            }
            users[pair.key] = hash
        }
        return users
    }

    /// `$2a$`/`$2b$`/`$2y$`, a two-digit cost 04...31, `$`, 53 characters of bcrypt's base64.
    package static func isBcryptHash(_ hash: String) -> Bool {
        let bytes = Array(hash.utf8)
        guard bytes.count == 60, bytes[0] == UInt8(ascii: "$"), bytes[1] == UInt8(ascii: "2"),
              [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")].contains(bytes[2]),
              bytes[3] == UInt8(ascii: "$"), bytes[6] == UInt8(ascii: "$"),
              let cost = Int(String(decoding: bytes[4..<6], as: UTF8.self)), (4...31).contains(cost) else { return false }
        return bytes[7...].allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "/")
        }
    }

    // MARK: Typed access to nodes

    private static func resolve(_ path: String, _ directory: String) -> String {
        if path.isEmpty || path.hasPrefix("/") || directory.isEmpty { return path }
        return directory.hasSuffix("/") ? directory + path : directory + "/" + path
    }

    private static func describe(_ node: YAMLNode) -> String {
        switch node.kind {
        case .null: "null"
        case .scalar: "a scalar"
        case .sequence: "a sequence"
        case .mapping: "a mapping"
        }
    }

    private static func mapping(_ node: YAMLNode, key: String) throws(WebConfigError) -> [YAMLPair] {
        guard case .mapping(let pairs) = node.kind else {
            throw WebConfigError(line: node.line, key: key, reason: "expected a mapping, found \(describe(node))")
        }
        return pairs
    }

    private static func optionalMapping(_ node: YAMLNode, key: String) throws(WebConfigError) -> [YAMLPair] {
        if case .null = node.kind { return [] }
        return try mapping(node, key: key)
    }

    private static func optionalString(_ node: YAMLNode, key: String) throws(WebConfigError) -> String? {
        switch node.kind {
        case .null: return nil
        case .scalar(let text, _): return text
        default: throw WebConfigError(line: node.line, key: key, reason: "expected a string, found \(describe(node))")
        }
    }

    private static func optionalBool(_ node: YAMLNode, key: String) throws(WebConfigError) -> Bool? {
        switch node.kind {
        case .null: return nil
        case .scalar(let text, quoted: false) where ["true", "True", "TRUE"].contains(text): return true
        case .scalar(let text, quoted: false) where ["false", "False", "FALSE"].contains(text): return false
        default: throw WebConfigError(line: node.line, key: key, reason: "expected true or false")
        }
    }

    private static func stringList(_ node: YAMLNode, key: String) throws(WebConfigError) -> [(text: String, line: Int)] {
        switch node.kind {
        case .null: return []
        case .sequence(let items):
            var result: [(text: String, line: Int)] = []
            for item in items {
                guard case .scalar(let text, _) = item.kind else {
                    throw WebConfigError(line: item.line, key: key, reason: "expected a list of strings, found \(describe(item)) in it")
                }
                result.append((text, item.line))
            }
            return result
        default:
            throw WebConfigError(line: node.line, key: key, reason: "expected a list, found \(describe(node))")
        }
    }
}

import Testing
@testable import KubemeterWebConfig

func webConfig(_ text: String, directory: String = "/etc/kubemeter") throws(WebConfigError) -> WebConfig {
    try WebConfig.parse(Array(text.utf8), directory: directory)
}

func webConfigError(_ text: String) -> WebConfigError? {
    do {
        _ = try webConfig(text)
        return nil
    } catch {
        return error
    }
}

@Suite struct WebConfigTests {
    @Test func theFullFixtureReadsAsExporterToolkitMeansIt() throws {
        let config = try WebConfig.parse(try Fixture.bytes("full.yml"), directory: "/etc/kubemeter")
        let tls = try #require(config.tls)
        #expect(tls.certFile == "/etc/kubemeter/tls/tls.crt")
        #expect(tls.keyFile == "/etc/kubemeter/tls/tls.key")
        #expect(tls.clientCAFile == "/etc/kubemeter/ca.crt")
        #expect(tls.clientAuth == .requireAndVerifyClientCert)
        #expect(tls.minVersion == .tls12 && tls.maxVersion == .tls13)
        #expect(tls.cipherSuites == ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384"])
        #expect(tls.preferServerCipherSuites)
        #expect(tls.curves == ["P-256", "X25519"])
        #expect(config.headers == [
            .init(name: "X-Frame-Options", value: "deny"), .init(name: "X-Content-Type-Options", value: "nosniff"),
            .init(name: "Strict-Transport-Security", value: "max-age=31536000"),
        ])
        #expect(config.basicAuthUsers == [
            "alice": "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG",
            "bob": "$2b$12$zIdRsXQPfZzo.lvyFuv/teYnpM0jLi2LshYGXkcp98EbCdk06JAC6",
        ])
        #expect(config.files == ["/etc/kubemeter/tls/tls.crt", "/etc/kubemeter/tls/tls.key", "/etc/kubemeter/ca.crt"])
    }

    @Test func defaultsAndPlainHTTP() throws {
        #expect(try webConfig("") == WebConfig())
        #expect(try webConfig("tls_server_config:\n") == WebConfig())
        let tls = try #require(try webConfig("tls_server_config:\n  cert_file: c\n  key_file: k\n").tls)
        #expect(tls.clientAuth == .noClientCert && tls.minVersion == .tls12 && tls.maxVersion == .tls13)
        #expect(tls.cipherSuites.isEmpty && tls.curves.isEmpty && tls.preferServerCipherSuites)
        // TLS 1.3 suites are accepted and, as in Go, change nothing.
        let ciphers = try #require(try webConfig("tls_server_config:\n  cert_file: c\n  key_file: k\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n").tls)
        #expect(ciphers.cipherSuites.isEmpty)
    }

    /// Unknown keys and bad values: refused with the key's path and the line.
    @Test(arguments: [
        ("tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS11\n", 4, "tls_server_config.min_version", "TLS 1.2 and 1.3 only"),
        ("tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS10\n", 4, "tls_server_config.min_version", "TLS 1.2 and 1.3 only"),
        ("tls_server_config:\n  cert_file: c\n  key_file: k\n  max_version: SSL3\n", 4, "tls_server_config.max_version", "not TLS12 or TLS13"),
        ("tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS13\n  max_version: TLS12\n", 5, "tls_server_config.min_version", "above max_version"),
        ("tls_server_config:\n  cert_file: c\n  key_fil: k\n", 3, "tls_server_config.key_fil", "unknown key"),
        ("tls_server_config:\n  cert_file: c\n", 1, "tls_server_config.key_file", "missing"),
        ("tls_server_config:\n  key_file: k\n", 1, "tls_server_config.cert_file", "missing"),
        ("tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: RequireAndVerify\n", 4, "tls_server_config.client_auth_type", "is not one of"),
        ("tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: RequireAndVerifyClientCert\n", 4, "tls_server_config.client_ca_file", "missing"),
        ("tls_server_config:\n  cert_file: c\n  key_file: k\n  client_ca_file: ca\n", 1, "tls_server_config.client_auth_type", "without a client_auth_type"),
        ("tls_server_config:\n  cert_file: c\n  key_file: k\n  cipher_suites:\n    - TLS_RSA_WITH_RC4_128_SHA\n", 5, "tls_server_config.cipher_suites", "unknown cipher suite"),
        ("tls_server_config:\n  cert_file: c\n  key_file: k\n  cipher_suites: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n", 4, "tls_server_config.cipher_suites", "expected a list"),
        ("tls_server_config:\n  cert_file: c\n  key_file: k\n  curve_preferences: [CurveP256, P-256]\n", 4, "tls_server_config.curve_preferences", "unknown curve"),
        ("tls_server_config:\n  cert_file: c\n  key_file: k\n  prefer_server_cipher_suites: yes\n", 4, "tls_server_config.prefer_server_cipher_suites", "true or false"),
        ("tls_server_config:\n  cert: |\n", 2, "", "block scalars"),
        ("tls_server_config:\n  cert: inline\n", 2, "tls_server_config.cert", "inline PEM"),
        ("tls_server_config:\n  cert_file: c\n  key_file: k\n  client_allowed_sans: [a]\n", 4, "tls_server_config.client_allowed_sans", "not supported"),
        ("tls_server_config: [a]\n", 1, "tls_server_config", "expected a mapping"),
        ("http_server_config:\n  http2: true\n", 2, "http_server_config.http2", "HTTP/2 is not supported"),
        ("http_server_config:\n  http2:\n", 2, "http_server_config.http2", "HTTP/2 is not supported"),
        ("http_server_config:\n  headers:\n    Server: kubemeter\n", 3, "http_server_config.headers.Server", "not a header that may be set"),
        ("http_server_config:\n  headers:\n    X-Frame-Options: allow\n", 3, "http_server_config.headers.X-Frame-Options", "is not one of"),
        ("http_server_config:\n  headers:\n    X-Content-Type-Options: \"nosniff\\r\\nX: y\"\n", 3, "http_server_config.headers.X-Content-Type-Options", "is not one of"),
        ("http_server_config:\n  headers:\n    Content-Security-Policy: \"a\\r\\nX: y\"\n", 3, "http_server_config.headers.Content-Security-Policy", "control character"),
        ("http_server_config:\n  keep_alive: true\n", 2, "http_server_config.keep_alive", "unknown key"),
        ("basic_auth_users:\n  alice: plaintext\n", 2, "basic_auth_users.alice", "not a bcrypt hash"),
        ("basic_auth_users:\n  alice: $1$abc$0123456789012345678901\n", 2, "basic_auth_users.alice", "not a bcrypt hash"),
        ("basic_auth_users:\n  alice:\n", 2, "basic_auth_users.alice", "missing bcrypt hash"),
        ("basic_auth_users:\n  \"a:b\": $2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG\n", 2, "basic_auth_users.a:b", "cannot contain"),
        ("basic_auth_user:\n  alice: x\n", 1, "basic_auth_user", "unknown key"),
        ("rate_limit:\n  interval: 1s\n", 1, "rate_limit", "not supported"),
        ("- a\n", 1, "", "expected a mapping"),
        ("tls_server_config:\n  cert_file: [a]\n", 2, "tls_server_config.cert_file", "expected a string"),
    ] as [(String, Int, String, String)])
    func refusals(input: String, line: Int, key: String, reason: String) {
        let error = webConfigError(input)
        #expect(error?.line == line, "\(input.debugDescription): \(String(describing: error))")
        #expect(error?.key == key, "\(input.debugDescription): \(String(describing: error))")
        #expect(error?.reason.contains(reason) == true, "\(input.debugDescription): \(String(describing: error))")
    }

    @Test func errorsSayLineAndKey() {
        let error = webConfigError("tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS11\n")
        #expect(error?.description == "line 4: tls_server_config.min_version: TLS11 is refused: kubemeter speaks TLS 1.2 and 1.3 only")
    }

    @Test func relativePathsFollowTheFilesDirectory() throws {
        let config = try webConfig("tls_server_config:\n  cert_file: a/c.crt\n  key_file: /abs/k\n", directory: "/cfg")
        #expect(config.tls?.certFile == "/cfg/a/c.crt")
        #expect(config.tls?.keyFile == "/abs/k")
    }

    @Test func bcryptHashShapes() {
        #expect(WebConfig.isBcryptHash("$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG"))
        #expect(WebConfig.isBcryptHash("$2a$04$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG"))
        #expect(!WebConfig.isBcryptHash("$2x$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG"))
        #expect(!WebConfig.isBcryptHash("$2y$03$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG"))
        #expect(!WebConfig.isBcryptHash("$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7z"))
        #expect(!WebConfig.isBcryptHash("$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7z!"))
    }
}

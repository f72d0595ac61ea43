import KubemeterHTTP
import KubemeterHostFiles
import KubemeterTestSupport
import KubemeterWebConfig
import Synchronization
import Testing
@testable import KubemeterTLS

/// A directory with a CA, a server certificate and key made by the openssl command line.
func certificateDirectory() throws -> TemporaryDirectory {
    let directory = TemporaryDirectory()
    let d = directory.path
    try TestShell.run("""
        cd \(d) && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=ca 2>/dev/null \
        && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.crt -days 2 -subj /CN=localhost 2>/dev/null \
        && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout other.key -out other.crt -days 2 -subj /CN=other 2>/dev/null
        """)
    return directory
}

final class Events: Sendable {
    let seen = Mutex<[String]>([])
    func record(_ event: WebSecurity.Event) {
        seen.withLock {
            switch event {
            case .loaded: $0.append("loaded")
            case .failed(let error): $0.append("failed: \(error)")
            }
        }
    }
}

@Suite struct WebSecurityTests {
    static let tlsConfig = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"

    @Test func firstLoadErrorsNameFileLineAndKey() throws {
        let directory = try certificateDirectory()
        defer { directory.remove() }
        directory.writeFile("bad.yml", Self.tlsConfig + "  min_version: TLS11\n")
        #expect(throws: WebConfigLoadError.config(path: directory.path + "/bad.yml", WebConfigError(line: 4, key: "tls_server_config.min_version", reason: "TLS11 is refused: kubemeter speaks TLS 1.2 and 1.3 only"))) {
            try WebSecurity(path: directory.path + "/bad.yml")
        }
        directory.writeFile("mismatch.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n")
        do {
            _ = try WebSecurity(path: directory.path + "/mismatch.yml")
            Issue.record("a key of another certificate was accepted")
        } catch {
            #expect("\(error)".contains("does not match"))
        }
        directory.writeFile("missing.yml", "tls_server_config:\n  cert_file: nothere.crt\n  key_file: server.key\n")
        #expect(throws: WebConfigLoadError.file(.notFound(path: directory.path + "/nothere.crt"))) {
            try WebSecurity(path: directory.path + "/missing.yml")
        }
        directory.writeFile("notpem.yml", "tls_server_config:\n  cert_file: notpem.yml\n  key_file: server.key\n")
        do {
            _ = try WebSecurity(path: directory.path + "/notpem.yml")
            Issue.record("a file without a certificate was accepted")
        } catch {
            #expect("\(error)".contains("no PEM certificate"))
        }
    }

    @Test func aChangedFileIsReloadedABadOneKeepsTheOldAndIsCountedOnce() throws {
        let directory = try certificateDirectory()
        defer { directory.remove() }
        let path = directory.path + "/web.yml"
        directory.writeFile("web.yml", Self.tlsConfig)
        let events = Events()
        let security = try WebSecurity(path: path, checkIntervalSeconds: 0) { events.record($0) }
        #expect(security.tlsEnabled)
        #expect(security.statistics.reloads == 1)
        let before = security.config

        // Unchanged: nothing happens.
        security.refreshIfDue()
        #expect(events.seen.withLock { $0 }.isEmpty)

        // A bad value: the old configuration stays, the error is reported and counted once.
        directory.writeFile("web.yml", Self.tlsConfig + "  min_version: TLS11\n")
        security.refreshIfDue()
        security.refreshIfDue()
        #expect(security.config == before)
        #expect(security.statistics.reloadErrors == 1)
        #expect(!security.statistics.lastReloadSucceeded)
        #expect(events.seen.withLock { $0 }.count == 1)
        #expect(events.seen.withLock { $0 }.first?.contains("line 4") == true)

        // Fixed, with basic auth added: loaded.
        directory.writeFile("web.yml", Self.tlsConfig + "basic_auth_users:\n  alice: '\(hunter2Hash)'\n")
        security.refreshIfDue()
        #expect(security.config.basicAuthUsers == ["alice": hunter2Hash])
        #expect(security.statistics.reloads == 2)
        #expect(security.statistics.lastReloadSucceeded)

        // A certificate replaced by garbage: kept the old context, one error.
        directory.writeFile("server.crt", "garbage\n")
        security.refreshIfDue()
        #expect(security.statistics.reloadErrors == 2)
        #expect(security.makeStreamContext() != nil)

        // Turning TLS off needs a restart.
        directory.writeFile("web.yml", "basic_auth_users:\n  alice: '\(hunter2Hash)'\n")
        security.refreshIfDue()
        #expect(security.statistics.reloadErrors == 3)
        #expect(security.tlsEnabled)
        #expect(events.seen.withLock { $0 }.last?.contains("needs a restart") == true)
    }

    @Test func theGateAsksForCredentialsButNotOnProbes() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        directory.writeFile("web.yml", "basic_auth_users:\n  alice: '\(hunter2Hash)'\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n")
        let security = try WebSecurity(path: directory.path + "/web.yml")
        #expect(!security.tlsEnabled)
        let denied = try #require(security.check(HTTPRequest(path: "/metrics/resource")))
        #expect(denied.status == 401)
        #expect(denied.headers["WWW-Authenticate"]?.hasPrefix("Basic") == true)
        #expect(security.check(HTTPRequest(path: "/healthz")) == nil)
        #expect(security.check(HTTPRequest(path: "/readyz")) == nil)
        let wrong = HTTPRequest(path: "/metrics", headers: HTTPHeaders([("Authorization", basic("alice:nope"))]))
        #expect(security.check(wrong)?.status == 401)
        let right = HTTPRequest(path: "/metrics", headers: HTTPHeaders([("Authorization", basic("alice:hunter2"))]))
        #expect(security.check(right) == nil)
        #expect(security.statistics.authFailures == 2)
        var response = HTTPResponse.text(200, "ok")
        security.decorate(&response)
        #expect(response.headers["X-Frame-Options"] == "deny")
    }
}

extension WebSecurity {
    /// Whether a context is in force (a stream can be made); on a pipe, which OpenSSL accepts as an fd.
    func makeStreamContext() -> (any TLSStream)? {
        makeStream(fd: 0)
    }
}

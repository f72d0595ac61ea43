import COpenSSL
package import KubemeterHTTP
package import KubemeterWebConfig

/// Why a TLS configuration could not be made into a context: the file (or setting) and OpenSSL's words.
package struct TLSSetupError: Error, Equatable, Sendable, CustomStringConvertible {
    package var subject: String
    package var reason: String

    package init(subject: String, reason: String) {
        self.subject = subject
        self.reason = reason
    }

    package var description: String { "\(subject): \(reason)" }
}

/// One SSL_CTX made from a `TLSServerConfig` and the PEM bytes of its files. Immutable once made;
/// OpenSSL lets many threads make SSL objects from one context, and each SSL keeps the context
/// alive (reference counted), so a replaced context lives until its last connection closes.
package final class OpenSSLContext: @unchecked Sendable {
    let context: OpaquePointer

    package init(_ config: TLSServerConfig, certificate: [UInt8], key: [UInt8], clientCA: [UInt8]?) throws(TLSSetupError) {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_server_method()) else {
            throw TLSSetupError(subject: "TLS", reason: "SSL_CTX_new: " + Self.lastError())
        }
        self.context = context
        kubemeter_ssl_ctx_set_options(context, config.preferServerCipherSuites ? 1 : 0)
        kubemeter_ssl_ctx_set_server_modes(context)
        kubemeter_ssl_ctx_no_session_cache(context)
        guard kubemeter_ssl_ctx_set_min_proto(context, Self.protocolVersion(config.minVersion)) == 1,
              kubemeter_ssl_ctx_set_max_proto(context, Self.protocolVersion(config.maxVersion)) == 1 else {
            throw TLSSetupError(subject: "min_version/max_version", reason: Self.lastError())
        }
        let ciphers = config.cipherSuites.isEmpty ? TLSServerConfig.defaultCipherList : config.cipherSuites.joined(separator: ":")
        guard SSL_CTX_set_cipher_list(context, ciphers) == 1 else {
            throw TLSSetupError(subject: "cipher_suites", reason: Self.lastError())
        }
        if !config.curves.isEmpty {
            guard kubemeter_ssl_ctx_set_groups_list(context, config.curves.joined(separator: ":")) == 1 else {
                throw TLSSetupError(subject: "curve_preferences", reason: Self.lastError())
            }
        }
        try Self.useCertificateChain(context, certificate, file: config.certFile)
        try Self.usePrivateKey(context, key, file: config.keyFile)
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw TLSSetupError(subject: config.keyFile, reason: "the key does not match the certificate in \(config.certFile)")
        }
        let verifyMode: Int32 = switch config.clientAuth {
        case .noClientCert: SSL_VERIFY_NONE
        case .requestClientCert, .verifyClientCertIfGiven: SSL_VERIFY_PEER
        case .requireAnyClientCert, .requireAndVerifyClientCert: SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
        }
        if let clientCA, let file = config.clientCAFile {
            try Self.trustClientCAs(context, clientCA, file: file)
        }
        kubemeter_ssl_ctx_set_verify(context, verifyMode, config.clientAuth.verifies ? 1 : 0)
        ERR_clear_error()
    }

    deinit {
        SSL_CTX_free(context)
    }

    private static func protocolVersion(_ version: TLSVersion) -> Int32 {
        switch version {
        case .tls12: TLS1_2_VERSION
        case .tls13: TLS1_3_VERSION
        }
    }

    /// The oldest error OpenSSL queued on this thread, as text; the queue is emptied.
    static func lastError() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "unknown OpenSSL error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func withBIO<T>(_ bytes: [UInt8], _ body: (OpaquePointer) throws(TLSSetupError) -> T) throws(TLSSetupError) -> T {
        var copy = bytes
        let bio: OpaquePointer? = copy.withUnsafeMutableBytes { BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }
        guard let bio else { throw TLSSetupError(subject: "TLS", reason: "BIO_new_mem_buf: " + lastError()) }
        defer { BIO_free(bio) }
        return try withExtendedLifetime(copy) { () throws(TLSSetupError) -> T in try body(bio) }
    }

    /// Every certificate in `bytes`, in order.
    private static func certificates(_ bytes: [UInt8], file: String) throws(TLSSetupError) -> [OpaquePointer] {
        try withBIO(bytes) { (bio) throws(TLSSetupError) -> [OpaquePointer] in
            var found: [OpaquePointer] = []
            while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) {
                found.append(certificate)
            }
            // The loop ends on "no start line" at the end of the input; anything else is an error.
            ERR_clear_error()
            guard !found.isEmpty else {
                throw TLSSetupError(subject: file, reason: "no PEM certificate (-----BEGIN CERTIFICATE-----) in it")
            }
            return found
        }
    }

    private static func useCertificateChain(_ context: OpaquePointer, _ bytes: [UInt8], file: String) throws(TLSSetupError) {
        let chain = try certificates(bytes, file: file)
        let leaf = chain[0]
        defer { X509_free(leaf) }
        guard SSL_CTX_use_certificate(context, leaf) == 1 else {
            for certificate in chain.dropFirst() { X509_free(certificate) }
            throw TLSSetupError(subject: file, reason: lastError())
        }
        for (index, certificate) in chain.enumerated().dropFirst() {
            guard kubemeter_ssl_ctx_add0_chain_cert(context, certificate) == 1 else {
                for rest in chain[(index + 1)...] { X509_free(rest) }
                X509_free(certificate)
                throw TLSSetupError(subject: file, reason: lastError())
            }
        }
    }

    private static func usePrivateKey(_ context: OpaquePointer, _ bytes: [UInt8], file: String) throws(TLSSetupError) {
        try withBIO(bytes) { (bio) throws(TLSSetupError) in
            guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
                throw TLSSetupError(subject: file, reason: "no PEM private key (unencrypted) in it: " + lastError())
            }
            defer { EVP_PKEY_free(key) }
            guard SSL_CTX_use_PrivateKey(context, key) == 1 else {
                throw TLSSetupError(subject: file, reason: "the key does not match the certificate: " + lastError())
            }
        }
    }

    private static func trustClientCAs(_ context: OpaquePointer, _ bytes: [UInt8], file: String) throws(TLSSetupError) {
        let authorities = try certificates(bytes, file: file)
        defer { for certificate in authorities { X509_free(certificate) } }
        guard let store = SSL_CTX_get_cert_store(context) else {
            throw TLSSetupError(subject: file, reason: lastError())
        }
        for certificate in authorities {
            // X509_STORE_add_cert and SSL_CTX_add_client_CA take their own references.
            guard X509_STORE_add_cert(store, certificate) == 1, SSL_CTX_add_client_CA(context, certificate) == 1 else {
                throw TLSSetupError(subject: file, reason: lastError())
            }
        }
    }

    /// A server-side stream over `fd`, or nil if OpenSSL cannot make one (out of memory).
    func makeStream(fd: Int32) -> OpenSSLStream? {
        guard let ssl = SSL_new(context) else {
            ERR_clear_error()
            return nil
        }
        guard SSL_set_fd(ssl, fd) == 1 else {
            SSL_free(ssl)
            ERR_clear_error()
            return nil
        }
        SSL_set_accept_state(ssl)
        return OpenSSLStream(ssl)
    }
}

/// One connection's SSL object, driven by the server's I/O thread on a non-blocking socket.
final class OpenSSLStream: TLSStream {
    private var ssl: OpaquePointer?

    init(_ ssl: OpaquePointer) {
        self.ssl = ssl
    }

    deinit {
        if let ssl { SSL_free(ssl) }
    }

    /// SSL_get_error's verdict on a call that returned `value`; the thread's error queue is left empty.
    private func outcome(_ ssl: OpaquePointer, _ value: Int32) -> TLSResult {
        let code = SSL_get_error(ssl, value)
        ERR_clear_error()
        switch code {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        default: return .failed
        }
    }

    func handshake() -> TLSResult {
        guard let ssl else { return .failed }
        ERR_clear_error()
        let value = SSL_do_handshake(ssl)
        return value == 1 ? .done(0) : outcome(ssl, value)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> TLSResult {
        guard let ssl else { return .failed }
        ERR_clear_error()
        let value = SSL_read(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
        return value > 0 ? .done(Int(value)) : outcome(ssl, value)
    }

    func write(_ buffer: UnsafeRawBufferPointer) -> TLSResult {
        guard let ssl else { return .failed }
        if buffer.isEmpty { return .done(0) }
        ERR_clear_error()
        let value = SSL_write(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
        return value > 0 ? .done(Int(value)) : outcome(ssl, value)
    }

    var hasBufferedInput: Bool {
        guard let ssl else { return false }
        return kubemeter_ssl_pending(ssl) > 0
    }

    func close(notifyPeer: Bool) {
        guard let ssl else { return }
        if notifyPeer && SSL_is_init_finished(ssl) == 1 {
            ERR_clear_error()
            _ = SSL_shutdown(ssl)
            ERR_clear_error()
        }
        SSL_free(ssl)
        self.ssl = nil
    }
}

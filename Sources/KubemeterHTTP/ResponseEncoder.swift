/// Turns an `HTTPResponse` into the bytes of its head, applying the server's framing rules.
enum ResponseEncoder {
    /// How the connection continues after this response.
    enum ConnectionDirective {
        /// HTTP/1.1 persistent connection: no `Connection` field needed.
        case keepAliveDefault
        /// HTTP/1.0 client that asked for keep-alive: it must be told `Connection: keep-alive`.
        case keepAliveExplicit
        case close
    }

    /// Whether the handler asked, through its own `Connection` field, to close after this response.
    static func handlerRequestsClose(_ response: HTTPResponse) -> Bool {
        response.headers.values(name: "Connection").contains { ConnectionTokens.contains($0, token: "close") }
    }

    /// The head bytes (status line, fields, blank line). `bodyLength` is the length a GET would carry,
    /// also for HEAD, whose body the caller leaves out.
    static func encodeHead(_ response: HTTPResponse, bodyLength: Int, connection: ConnectionDirective) -> [UInt8] {
        var status = response.status
        var headers = response.headers
        var length = bodyLength
        if !(200...999).contains(status) {
            status = 500
            headers = HTTPHeaders()
            length = 0
        }
        var head: [UInt8] = []
        head.reserveCapacity(128 + headers.count * 48)
        head.append(contentsOf: "HTTP/1.1 \(status) \(HTTPStatus.reasonPhrase(status))\r\n".utf8)
        for field in headers where isSendable(field) {
            head.append(contentsOf: field.name.utf8)
            head.append(contentsOf: ": ".utf8)
            head.append(contentsOf: field.value.utf8)
            head.append(contentsOf: "\r\n".utf8)
        }
        if !HTTPStatus.forbidsContent(status) {
            head.append(contentsOf: "Content-Length: \(length)\r\n".utf8)
        }
        switch connection {
        case .keepAliveDefault: break
        case .keepAliveExplicit: head.append(contentsOf: "Connection: keep-alive\r\n".utf8)
        case .close: head.append(contentsOf: "Connection: close\r\n".utf8)
        }
        head.append(contentsOf: "\r\n".utf8)
        return head
    }

    /// The body to send: none for HEAD, for 204/304, or when the status had to be replaced.
    static func bodyToSend(_ response: HTTPResponse, isHead: Bool) -> [UInt8] {
        if isHead || HTTPStatus.forbidsContent(response.status) || !(200...999).contains(response.status) {
            return []
        }
        return response.body
    }

    /// The framing fields are the server's; invalid fields are dropped so a handler cannot split a response.
    private static func isSendable(_ field: HTTPHeaders.Element) -> Bool {
        if HTTPHeaders.namesMatch(field.name, "Content-Length")
            || HTTPHeaders.namesMatch(field.name, "Transfer-Encoding")
            || HTTPHeaders.namesMatch(field.name, "Connection") {
            return false
        }
        return ASCII.isToken(field.name.utf8)
            && field.value.utf8.allSatisfy { ASCII.isFieldValueByte($0) }
    }
}

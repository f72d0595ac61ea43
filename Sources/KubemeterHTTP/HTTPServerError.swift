/// Why the server could not be set up, with the address and the system's error text when there is one.
package struct HTTPServerError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: Sendable, Equatable {
        /// The listen address text could not be parsed.
        case invalidAddress
        /// getaddrinfo could not resolve the host.
        case addressResolution
        /// socket() or a socket option failed.
        case socket
        /// bind() failed, e.g. the port is in use or the address is not local.
        case bind
        /// listen() failed.
        case listen
        /// The descriptor handed to `init(listeningSocket:)` is not a listening stream socket.
        case invalidListeningSocket
        /// The server's own resources (wake-up pipe) could not be created.
        case resources
    }

    package var kind: Kind
    /// The address (or descriptor) concerned, e.g. "127.0.0.1:9779" or "fd 3".
    package var address: String
    /// The errno value when a system call failed.
    package var errorNumber: Int32?
    /// What went wrong, in words (the errno text, or the parse problem).
    package var detail: String

    init(kind: Kind, address: String, errorNumber: Int32? = nil, detail: String) {
        self.kind = kind
        self.address = address
        self.errorNumber = errorNumber
        self.detail = detail
    }

    static func system(_ kind: Kind, address: String, errorNumber: Int32) -> HTTPServerError {
        HTTPServerError(kind: kind, address: address, errorNumber: errorNumber, detail: SystemErrorText.describe(errorNumber))
    }

    package var description: String {
        let action = switch kind {
        case .invalidAddress: "invalid listen address"
        case .addressResolution: "cannot resolve listen address"
        case .socket: "cannot create socket for"
        case .bind: "cannot bind"
        case .listen: "cannot listen on"
        case .invalidListeningSocket: "not a listening stream socket:"
        case .resources: "cannot create server resources for"
        }
        let number = errorNumber.map { " (errno \($0))" } ?? ""
        return "\(action) \(address): \(detail)\(number)"
    }
}

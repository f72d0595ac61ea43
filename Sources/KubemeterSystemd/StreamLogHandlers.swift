import Logging

/// A swift-log handler writing logfmt or JSON lines to stderr (the DaemonSet default: the
/// container runtime adds nothing but its own timestamp and stream name).
public struct TextLogHandler: LogHandler {
    public enum Style: Sendable {
        case logfmt
        case json
    }

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public let label: String
    public let style: Style
    private let writer: LineWriter

    public init(label: String, style: Style, writer: LineWriter = .standardError) {
        self.label = label
        self.style = style
        self.writer = writer
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let record = LogRecord(event: event, handlerMetadata: metadata, label: label)
        switch style {
        case .logfmt: writer.write(line: LogfmtFormatter.format(record))
        case .json: writer.write(line: JSONFormatter.format(record))
        }
    }
}

package import Logging

/// A swift-log handler writing logfmt or JSON lines to stderr (the DaemonSet default: the
/// container runtime adds nothing but its own timestamp and stream name).
package struct TextLogHandler: LogHandler {
    package enum Style: Sendable {
        case logfmt
        case json
    }

    package var logLevel: Logger.Level = .info
    package var metadata: Logger.Metadata = [:]
    package let label: String
    package let style: Style
    private let writer: LineWriter

    package init(label: String, style: Style, writer: LineWriter = .standardError) {
        self.label = label
        self.style = style
        self.writer = writer
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        let record = LogRecord(event: event, handlerMetadata: metadata, label: label)
        switch style {
        case .logfmt: writer.write(line: LogfmtFormatter.format(record))
        case .json: writer.write(line: JSONFormatter.format(record))
        }
    }
}

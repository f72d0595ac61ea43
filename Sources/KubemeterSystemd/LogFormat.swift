package import Logging

/// Where and how kubemeter logs (`--log-format`).
package enum LogFormat: String, CaseIterable, Sendable {
    /// `key=value` lines on stderr: the default outside systemd.
    case logfmt
    /// One JSON object per line on stderr.
    case json
    /// journald's native protocol, with structured fields.
    case journald

    /// journald when stderr is the journal (`JOURNAL_STREAM` matches stderr), else logfmt.
    package static func automatic() -> LogFormat {
        JournalStream.isJournal(fd: 2) ? .journald : .logfmt
    }

    /// A handler for `label` at `level` in this format.
    package func makeHandler(label: String, level: Logger.Level) -> any LogHandler {
        switch self {
        case .logfmt:
            var handler = TextLogHandler(label: label, style: .logfmt)
            handler.logLevel = level
            return handler
        case .json:
            var handler = TextLogHandler(label: label, style: .json)
            handler.logLevel = level
            return handler
        case .journald:
            var handler = JournaldLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// One column of a plain-text table: a title and one cell per row.
package struct TextColumn: Sendable {
    package var title: String
    package var cells: [String]
    /// A name: left-aligned, and narrowed (cut with "~") before any column is dropped.
    package var isName: Bool
    /// Kept however narrow the table must be; the others are dropped, rightmost first, once the
    /// names cannot be narrowed further.
    package var isKept: Bool
    /// Left-aligned though not a name (a status word); names always are.
    package var isLeft: Bool
    /// How narrow a name may become.
    package var minimumWidth: Int

    package init(title: String, cells: [String], isName: Bool = false, isKept: Bool = false, isLeft: Bool = false, minimumWidth: Int = 8) {
        self.title = title
        self.cells = cells
        self.isName = isName
        self.isKept = isKept || isName
        self.isLeft = isLeft || isName
        self.minimumWidth = minimumWidth
    }
}

/// Lays out `TextColumn`s as lines of fixed-width cells two spaces apart: a header line, then one
/// line per row, fitted to a width. The layout the top tables share (`TopTable`, the cluster's
/// nodes table).
package enum TextColumns {
    package static func lines(_ columns: [TextColumn], width: Int?) -> [String] {
        var columns = columns
        var widths = columns.map { column in column.cells.reduce(column.title.count) { max($0, $1.count) } }
        let separator = 2
        if let width {
            var total = widths.reduce(0, +) + separator * max(0, columns.count - 1)
            // Narrow the widest name column one character at a time: every name keeps a readable start.
            while total > width {
                guard let widest = columns.indices.filter({ columns[$0].isName && widths[$0] > columns[$0].minimumWidth })
                    .max(by: { widths[$0] < widths[$1] })
                else { break }
                widths[widest] -= 1
                total -= 1
            }
            // Then drop the rightmost column that is not kept (network first in the pods table).
            while total > width, let dropped = columns.lastIndex(where: { !$0.isKept }) {
                total -= widths[dropped] + separator
                columns.remove(at: dropped)
                widths.remove(at: dropped)
            }
        }
        let rows = columns.first?.cells.count ?? 0
        var lines: [String] = []
        lines.reserveCapacity(rows + 1)
        for line in -1..<rows {
            var text = ""
            for (index, column) in columns.enumerated() {
                let cell = line < 0 ? column.title : column.cells[line]
                let fitted = fit(cell, widths[index], left: column.isLeft)
                text += index == columns.count - 1 && column.isLeft ? trimmed(fitted) : fitted
                if index < columns.count - 1 { text += "  " }
            }
            lines.append(clip(text, to: width))
        }
        return lines
    }

    /// `line` cut to `width` characters.
    package static func clip(_ line: String, to width: Int?) -> String {
        guard let width, line.count > width else { return line }
        return String(line.prefix(width))
    }

    /// Pads (left- or right-aligned) or cuts `text` to exactly `width` characters.
    private static func fit(_ text: String, _ width: Int, left: Bool) -> String {
        let count = text.count
        if count > width { return width <= 1 ? String(text.prefix(width)) : String(text.prefix(width - 1)) + "~" }
        let padding = String(repeating: " ", count: width - count)
        return left ? text + padding : padding + text
    }

    private static func trimmed(_ text: String) -> String {
        var text = Substring(text)
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}

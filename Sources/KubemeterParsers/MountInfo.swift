/// One line of `/proc/<pid>/mountinfo` (proc(5), fs/proc_namespace.c `show_mountinfo`):
///
///     36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
///     (1)(2)(3)   (4)   (5)         (6)       (7)     (8)(9)   (10)      (11)
///
/// Paths and options are unescaped: the kernel writes a space, tab, newline and backslash in
/// them as `\040`, `\011`, `\012`, `\134` (`seq_escape`).
package struct Mount: Equatable, Sendable {
    package var mountID: UInt64
    package var parentID: UInt64
    /// `major:minor` of the file system's device (`st_dev` of files on it).
    package var device: String
    /// The directory of the file system mounted here (`/` unless a bind mount of a subtree).
    package var root: String
    /// Where it is mounted, in the reading process's mount namespace.
    package var mountPoint: String
    package var fileSystemType: String
    package var source: String
    /// The per-superblock options, split at commas, each unescaped (`upperdir=/var/...`).
    package var superOptions: [String]

    package init(
        mountID: UInt64, parentID: UInt64, device: String, root: String, mountPoint: String,
        fileSystemType: String, source: String, superOptions: [String]
    ) {
        self.mountID = mountID
        self.parentID = parentID
        self.device = device
        self.root = root
        self.mountPoint = mountPoint
        self.fileSystemType = fileSystemType
        self.source = source
        self.superOptions = superOptions
    }

    /// The value of the super option `name=value` (the first), e.g. overlayfs' `upperdir`.
    package func superOption(_ name: String) -> String? {
        let prefix = name + "="
        for option in superOptions where option.hasPrefix(prefix) {
            return String(option.dropFirst(prefix.count))
        }
        return nil
    }
}

/// `/proc/<pid>/mountinfo`: every mount of that process's mount namespace, in mount order.
/// The optional fields (field 7: `shared:N`, `master:N`, ...) end at a lone `-`; a line without
/// it, or with fewer fields than the format has, is skipped and counted.
package struct MountInfo: KernelFile, Equatable, Sendable {
    package static let fileName = "mountinfo"

    package var mounts: [Mount]
    package var malformedLines: Int

    package init(mounts: [Mount], malformedLines: Int = 0) {
        self.mounts = mounts
        self.malformedLines = malformedLines
    }

    package static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> MountInfo {
        if bytes.isBlankFile { throw ParseError(file: fileName, reason: .empty) }
        var mounts: [Mount] = []
        var malformed = 0
        var lines = LineReader(bytes)
        while let line = lines.next() {
            if bytes.trimmingBlanks(line).isEmpty { continue }
            if let mount = parseLine(bytes, line) {
                mounts.append(mount)
            } else {
                malformed += 1
            }
        }
        return MountInfo(mounts: mounts, malformedLines: malformed)
    }

    private static func parseLine(_ bytes: UnsafeRawBufferPointer, _ line: ByteSpan) -> Mount? {
        var fields = FieldReader(bytes, line)
        guard let id = fields.next().flatMap({ DecimalText.uint64(bytes, $0) }),
              let parent = fields.next().flatMap({ DecimalText.uint64(bytes, $0) }),
              let device = fields.next(), bytes.contains(ASCII.colon, in: device),
              let root = fields.next(), let mountPoint = fields.next(),
              fields.next() != nil  // per-mount options
        else { return nil }
        // Optional fields, any number of them, up to the separator.
        var separated = false
        while let field = fields.next() {
            if bytes.matches(field, "-") {
                separated = true
                break
            }
        }
        guard separated, let type = fields.next(), let source = fields.next() else { return nil }
        // Split before unescaping: `seq_show_option` writes a comma inside a value as `\054`, so
        // a literal comma always separates two options.
        let superOptions = fields.next().map { bytes.string($0).split(separator: ",").map { unescape(String($0)) } } ?? []
        return Mount(
            mountID: id, parentID: parent, device: bytes.string(device), root: unescape(bytes.string(root)),
            mountPoint: unescape(bytes.string(mountPoint)), fileSystemType: unescape(bytes.string(type)),
            source: unescape(bytes.string(source)), superOptions: superOptions)
    }

    /// Undoes `seq_escape`'s `\ooo` (three octal digits); any other backslash stays as it is.
    static func unescape(_ text: String) -> String {
        guard text.utf8.contains(0x5C) else { return text }
        let input = Array(text.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var i = 0
        while i < input.count {
            if input[i] == 0x5C, i + 3 < input.count, let value = octal(input[(i + 1)...(i + 3)]) {
                output.append(value)
                i += 4
                continue
            }
            output.append(input[i])
            i += 1
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func octal(_ digits: ArraySlice<UInt8>) -> UInt8? {
        guard digits.count == 3 else { return nil }
        var value = 0
        for digit in digits {
            guard digit >= 0x30 && digit <= 0x37 else { return nil }
            value = value * 8 + Int(digit - 0x30)
        }
        return value <= 0xFF ? UInt8(value) : nil
    }
}

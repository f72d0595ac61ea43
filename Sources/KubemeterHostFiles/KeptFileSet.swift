package import KubemeterParsers

/// The files a collector reads from one kind of directory (a cgroup, `/proc`, a process's `net`),
/// one case each, raw values 0, 1, 2, ... in case order, named as the kernel names them. A read
/// names its file by case, so adding a file is one case (the compiler asks for its name) and a
/// read, and a wrong position cannot be written.
package protocol KeptFileSet: CaseIterable, RawRepresentable, Sendable where RawValue == Int {
    /// The file's name in its directory (may include a subdirectory: `1/net/dev`).
    var fileName: String { get }
    /// `allCases.map(\.fileName)`, made once: a `static let` in each set (`KeptOpenFiles`
    /// compares a directory's list with the one it was opened with at every collection, which
    /// is one pointer comparison when it is the same array).
    static var fileNames: [String] { get }
}

/// A kept directory whose files are those of `Files`: reads name a case of that set only.
package struct KeptDirectory<Files: KeptFileSet> {
    let storage: KeptOpenFiles.Directory

    package var path: String { storage.path }
}

extension KeptOpenFiles {
    /// The kept files of `path`, read as `Files` names them; nil when the directory is gone
    /// (identity-checked trees only).
    package func directory<Files: KeptFileSet>(
        _ path: String, of _: Files.Type, checksIdentity: Bool
    ) -> KeptDirectory<Files>? {
        directory(path, files: Files.fileNames, checksIdentity: checksIdentity).map { KeptDirectory(storage: $0) }
    }

    /// Reads `file` of `directory` and parses it; the bytes live only during `parse`.
    package func read<Files: KeptFileSet, Value>(
        _ file: Files, of directory: KeptDirectory<Files>,
        _ parse: (UnsafeRawBufferPointer) throws(ParseError) -> Value
    ) -> Result<Value, HostFileError> {
        read(file.rawValue, of: directory.storage, parse)
    }
}

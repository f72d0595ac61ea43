/// Path joining without Foundation: discovery and the collector build every path from a root
/// and base names.
package enum Path {
    /// `base` + "/" + `component`, without doubling a slash. A `component` with leading slashes
    /// is taken relative to `base` (a configured `kubepodsPath` of "/kubepods.slice" still means
    /// below the cgroup root).
    package static func join(_ base: String, _ component: Substring) -> String {
        var component = component
        while component.hasPrefix("/") { component = component.dropFirst() }
        while component.hasSuffix("/") { component = component.dropLast() }
        if component.isEmpty { return base }
        if base.hasSuffix("/") { return base + component }
        return base + "/" + component
    }

    package static func join(_ base: String, _ component: String) -> String {
        join(base, Substring(component))
    }

    /// The last component of `path` ("" for "/").
    package static func baseName(_ path: String) -> Substring {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return trimmed }
        return trimmed[trimmed.index(after: slash)...]
    }
}

/// kubemeter's version, printed by `kubemeter version`.
package enum KubemeterVersion {
    package static let current = "0.1.0"
}

/// kubemeter's version, printed by `kubemeter version`.
public enum KubemeterVersion {
    public static let current = "0.1.0"
}

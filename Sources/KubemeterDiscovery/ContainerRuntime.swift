/// The container runtime a container cgroup name reveals.
///
/// With the systemd driver every runtime names its scope with its own prefix. With the cgroupfs
/// driver containerd and Docker both use the bare 64-hex container ID, so such a cgroup is
/// `unknown`: the name alone cannot tell them apart, and discovery never guesses.
package enum ContainerRuntime: String, Sendable {
    /// `cri-containerd-<id>.scope` (containerd internal/cri/server/helpers.go `getCgroupsPath`).
    case containerd
    /// `crio-<id>.scope` or `crio-<id>` (cri-o internal/config/cgmgr/systemd_linux.go, cgroupfs_linux.go).
    case crio
    /// `docker-<id>.scope` (moby daemon/oci_linux.go; cri-dockerd passes the pod slice as parent).
    case docker
    /// A bare `<64 hex>` directory: containerd or Docker with the cgroupfs driver.
    case unknown
}

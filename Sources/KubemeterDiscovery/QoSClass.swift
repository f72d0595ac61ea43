/// A pod's Kubernetes QoS class, as the kubelet encodes it in the pod's cgroup path.
///
/// Only Burstable and BestEffort pods get a QoS level below `kubepods`; Guaranteed pods sit
/// directly under it (kubelet pkg/kubelet/cm/qos_container_manager_linux.go,
/// pkg/kubelet/cm/pod_container_manager_linux.go `GetPodContainerName`).
package enum QoSClass: String, Sendable {
    case guaranteed, burstable, besteffort
}

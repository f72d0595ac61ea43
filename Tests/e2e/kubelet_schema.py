"""Go-faithful JSON shape checks for the kubelet's Summary API and /pods (v1.PodList).

Where the table came from (field names, JSON tags, Go types transcribed; no code copied):
  * Summary API:  github.com/kubernetes/kubelet  pkg/apis/stats/v1alpha1/types.go
        commit 5b7699f1de17c769166f4b401f617d316044b8e1 (2026-07-17, master after v0.37.0-beta.0;
        staging copy of kubernetes/kubernetes 07a2644c16c3). At this commit:
          - VolumeStats.volumeHealthStats was REMOVED ("Remove older volume metrics from stats API");
            older kubelets (<= 1.36) may still emit it, this table rejects it.
          - the embedded structs carry `json:""` (",inline" was dropped as meaningless in
            e2998958, 2026-04); encoding/json flattens them either way.
  * PodList & co: github.com/kubernetes/api  core/v1/types.go
        commit 1f44054dbd0d93db0112667280fe428a08f81716 (repo HEAD 10b39a39bcee, 2026-07-24, 1.37 dev)
  * TypeMeta/ListMeta/ObjectMeta: github.com/kubernetes/apimachinery  pkg/apis/meta/v1/types.go
        repo HEAD eed236ceee2c19c2753a3d93ac0631dc20750454 (2026-07-23).
        ObjectMeta.creationTimestamp is `omitempty,omitzero` since apimachinery 503b9897
        (2025-03, "Omit null metadata.creationTimestamp"): newer Go writes nothing for the zero
        value, older releases wrote `"creationTimestamp": null`. Both are accepted.

Each table entry: JSON name -> F(kind, go_type, omitempty, pointer[, omitzero]).
  kind: "string" | "integer" | "number" | "boolean" | "time" | "quantity"
        | "object:<Type>" | "array:<kind>" | "map:<kind>"
  "time"     = metav1.Time: `"2006-01-02T15:04:05Z"` (t.UTC().Format(time.RFC3339), whole seconds),
               or null for the zero value.
  "quantity" = resource.Quantity: always a JSON string ("100m", "128Mi").
Go encoding/json rules applied by violations():
  * a struct-valued field (object:<T> non-pointer, or time) is ALWAYS written: omitempty never
    omits a struct (only omitzero does).  So Pod.spec, Pod.status, Container.resources,
    ContainerStatus.state/lastState, PodList.metadata must be present ({} when empty).
  * a non-omitempty, non-pointer field is always written; a nil slice/map/pointer then writes null.
  * an omitempty field whose value is empty ("" / 0 / false / [] / {}) is never written, unless it
    is a pointer (a non-nil *uint64 holding 0 is written as 0).
  * `<inline T>` marks an embedded struct whose fields are promoted into the parent object.
Types named in OPAQUE_TYPES are in the PodSpec/PodStatus tree but not transcribed here; they are
only checked to be JSON objects.
"""
import json
import re
import sys
from typing import NamedTuple


class F(NamedTuple):
    kind: str
    go_type: str
    omitempty: bool
    pointer: bool
    omitzero: bool = False


INLINE = object()

# Go integer widths, by the Go type's base name.
INT_RANGES = {
    "int32": (-(2 ** 31), 2 ** 31 - 1),
    "int64": (-(2 ** 63), 2 ** 63 - 1),
    "uint32": (0, 2 ** 32 - 1),
    "uint64": (0, 2 ** 64 - 1),
}

_RAW_TYPES = {
    # ---- k8s.io/kubelet pkg/apis/stats/v1alpha1/types.go ----
    "Summary": {
        "node": F("object:NodeStats", "NodeStats", omitempty=False, pointer=False),
        "pods": F("array:object:PodStats", "[]PodStats", omitempty=False, pointer=False),
    },
    "NodeStats": {
        "nodeName": F("string", "string", omitempty=False, pointer=False),
        "systemContainers": F("array:object:ContainerStats", "[]ContainerStats", omitempty=True, pointer=False),
        "startTime": F("time", "metav1.Time", omitempty=False, pointer=False),
        "cpu": F("object:CPUStats", "*CPUStats", omitempty=True, pointer=True),
        "memory": F("object:MemoryStats", "*MemoryStats", omitempty=True, pointer=True),
        "io": F("object:IOStats", "*IOStats", omitempty=True, pointer=True),
        "network": F("object:NetworkStats", "*NetworkStats", omitempty=True, pointer=True),
        "fs": F("object:FsStats", "*FsStats", omitempty=True, pointer=True),
        "runtime": F("object:RuntimeStats", "*RuntimeStats", omitempty=True, pointer=True),
        "rlimit": F("object:RlimitStats", "*RlimitStats", omitempty=True, pointer=True),
        "swap": F("object:SwapStats", "*SwapStats", omitempty=True, pointer=True),
    },
    "RlimitStats": {
        "time": F("time", "metav1.Time", omitempty=False, pointer=False),
        "maxpid": F("integer", "*int64", omitempty=True, pointer=True),
        "curproc": F("integer", "*int64", omitempty=True, pointer=True),
    },
    "RuntimeStats": {
        "imageFs": F("object:FsStats", "*FsStats", omitempty=True, pointer=True),
        "containerFs": F("object:FsStats", "*FsStats", omitempty=True, pointer=True),
    },
    "ProcessStats": {
        "process_count": F("integer", "*uint64", omitempty=True, pointer=True),
    },
    "PodStats": {
        "podRef": F("object:PodReference", "PodReference", omitempty=False, pointer=False),
        "startTime": F("time", "metav1.Time", omitempty=False, pointer=False),
        "containers": F("array:object:ContainerStats", "[]ContainerStats", omitempty=False, pointer=False),
        "cpu": F("object:CPUStats", "*CPUStats", omitempty=True, pointer=True),
        "memory": F("object:MemoryStats", "*MemoryStats", omitempty=True, pointer=True),
        "io": F("object:IOStats", "*IOStats", omitempty=True, pointer=True),
        "network": F("object:NetworkStats", "*NetworkStats", omitempty=True, pointer=True),
        "volume": F("array:object:VolumeStats", "[]VolumeStats", omitempty=True, pointer=False),
        "ephemeral-storage": F("object:FsStats", "*FsStats", omitempty=True, pointer=True),
        "process_stats": F("object:ProcessStats", "*ProcessStats", omitempty=True, pointer=True),
        "swap": F("object:SwapStats", "*SwapStats", omitempty=True, pointer=True),
    },
    "ContainerStats": {
        "name": F("string", "string", omitempty=False, pointer=False),
        "startTime": F("time", "metav1.Time", omitempty=False, pointer=False),
        "cpu": F("object:CPUStats", "*CPUStats", omitempty=True, pointer=True),
        "memory": F("object:MemoryStats", "*MemoryStats", omitempty=True, pointer=True),
        "io": F("object:IOStats", "*IOStats", omitempty=True, pointer=True),
        "accelerators": F("array:object:AcceleratorStats", "[]AcceleratorStats", omitempty=True, pointer=False),
        "rootfs": F("object:FsStats", "*FsStats", omitempty=True, pointer=True),
        "logs": F("object:FsStats", "*FsStats", omitempty=True, pointer=True),
        "userDefinedMetrics": F("array:object:UserDefinedMetric", "[]UserDefinedMetric", omitempty=True, pointer=False),
        "swap": F("object:SwapStats", "*SwapStats", omitempty=True, pointer=True),
    },
    "PodReference": {
        "name": F("string", "string", omitempty=False, pointer=False),
        "namespace": F("string", "string", omitempty=False, pointer=False),
        "uid": F("string", "string", omitempty=False, pointer=False),
    },
    "InterfaceStats": {
        "name": F("string", "string", omitempty=False, pointer=False),
        "rxBytes": F("integer", "*uint64", omitempty=True, pointer=True),
        "rxErrors": F("integer", "*uint64", omitempty=True, pointer=True),
        "txBytes": F("integer", "*uint64", omitempty=True, pointer=True),
        "txErrors": F("integer", "*uint64", omitempty=True, pointer=True),
    },
    "NetworkStats": {
        "time": F("time", "metav1.Time", omitempty=False, pointer=False),
        "<inline InterfaceStats>": INLINE,
        "interfaces": F("array:object:InterfaceStats", "[]InterfaceStats", omitempty=True, pointer=False),
    },
    "CPUStats": {
        "time": F("time", "metav1.Time", omitempty=False, pointer=False),
        "usageNanoCores": F("integer", "*uint64", omitempty=True, pointer=True),
        "usageCoreNanoSeconds": F("integer", "*uint64", omitempty=True, pointer=True),
        "psi": F("object:PSIStats", "*PSIStats", omitempty=True, pointer=True),
    },
    "MemoryStats": {
        "time": F("time", "metav1.Time", omitempty=False, pointer=False),
        "availableBytes": F("integer", "*uint64", omitempty=True, pointer=True),
        "usageBytes": F("integer", "*uint64", omitempty=True, pointer=True),
        "workingSetBytes": F("integer", "*uint64", omitempty=True, pointer=True),
        "rssBytes": F("integer", "*uint64", omitempty=True, pointer=True),
        "pageFaults": F("integer", "*uint64", omitempty=True, pointer=True),
        "majorPageFaults": F("integer", "*uint64", omitempty=True, pointer=True),
        "psi": F("object:PSIStats", "*PSIStats", omitempty=True, pointer=True),
    },
    "IOStats": {
        "time": F("time", "metav1.Time", omitempty=False, pointer=False),
        "psi": F("object:PSIStats", "*PSIStats", omitempty=True, pointer=True),
    },
    "PSIStats": {
        "full": F("object:PSIData", "PSIData", omitempty=False, pointer=False),
        "some": F("object:PSIData", "PSIData", omitempty=False, pointer=False),
    },
    "PSIData": {
        "total": F("integer", "uint64", omitempty=False, pointer=False),
        "avg10": F("number", "float64", omitempty=False, pointer=False),
        "avg60": F("number", "float64", omitempty=False, pointer=False),
        "avg300": F("number", "float64", omitempty=False, pointer=False),
    },
    "SwapStats": {
        "time": F("time", "metav1.Time", omitempty=False, pointer=False),
        "swapAvailableBytes": F("integer", "*uint64", omitempty=True, pointer=True),
        "swapUsageBytes": F("integer", "*uint64", omitempty=True, pointer=True),
    },
    "AcceleratorStats": {
        "make": F("string", "string", omitempty=False, pointer=False),
        "model": F("string", "string", omitempty=False, pointer=False),
        "id": F("string", "string", omitempty=False, pointer=False),
        "memoryTotal": F("integer", "uint64", omitempty=False, pointer=False),
        "memoryUsed": F("integer", "uint64", omitempty=False, pointer=False),
        "dutyCycle": F("integer", "uint64", omitempty=False, pointer=False),
    },
    "VolumeStats": {
        "<inline FsStats>": INLINE,
        "name": F("string", "string", omitempty=True, pointer=False),
        "pvcRef": F("object:PVCReference", "*PVCReference", omitempty=True, pointer=True),
    },
    "PVCReference": {
        "name": F("string", "string", omitempty=False, pointer=False),
        "namespace": F("string", "string", omitempty=False, pointer=False),
    },
    "FsStats": {
        "time": F("time", "metav1.Time", omitempty=False, pointer=False),
        "availableBytes": F("integer", "*uint64", omitempty=True, pointer=True),
        "capacityBytes": F("integer", "*uint64", omitempty=True, pointer=True),
        "usedBytes": F("integer", "*uint64", omitempty=True, pointer=True),
        "inodesFree": F("integer", "*uint64", omitempty=True, pointer=True),
        "inodes": F("integer", "*uint64", omitempty=True, pointer=True),
        "inodesUsed": F("integer", "*uint64", omitempty=True, pointer=True),
    },
    "UserDefinedMetricDescriptor": {
        "name": F("string", "string", omitempty=False, pointer=False),
        "type": F("string", "UserDefinedMetricType", omitempty=False, pointer=False),
        "units": F("string", "string", omitempty=False, pointer=False),
        "labels": F("map:string", "map[string]string", omitempty=True, pointer=False),
    },
    "UserDefinedMetric": {
        "<inline UserDefinedMetricDescriptor>": INLINE,
        "time": F("time", "metav1.Time", omitempty=False, pointer=False),
        "value": F("number", "float64", omitempty=False, pointer=False),
    },
    # ---- k8s.io/apimachinery pkg/apis/meta/v1/types.go ----
    "TypeMeta": {
        "kind": F("string", "string", omitempty=True, pointer=False),
        "apiVersion": F("string", "string", omitempty=True, pointer=False),
    },
    "ListMeta": {
        "selfLink": F("string", "string", omitempty=True, pointer=False),
        "resourceVersion": F("string", "string", omitempty=True, pointer=False),
        "continue": F("string", "string", omitempty=True, pointer=False),
        "remainingItemCount": F("integer", "*int64", omitempty=True, pointer=True),
        "shardInfo": F("object:ShardInfo", "*ShardInfo", omitempty=True, pointer=True),
    },
    "ObjectMeta": {
        "name": F("string", "string", omitempty=True, pointer=False),
        "generateName": F("string", "string", omitempty=True, pointer=False),
        "namespace": F("string", "string", omitempty=True, pointer=False),
        "selfLink": F("string", "string", omitempty=True, pointer=False),
        "uid": F("string", "types.UID", omitempty=True, pointer=False),
        "resourceVersion": F("string", "string", omitempty=True, pointer=False),
        "generation": F("integer", "int64", omitempty=True, pointer=False),
        "creationTimestamp": F("time", "Time", omitempty=True, pointer=False, omitzero=True),
        "deletionTimestamp": F("time", "*Time", omitempty=True, pointer=True),
        "deletionGracePeriodSeconds": F("integer", "*int64", omitempty=True, pointer=True),
        "labels": F("map:string", "map[string]string", omitempty=True, pointer=False),
        "annotations": F("map:string", "map[string]string", omitempty=True, pointer=False),
        "ownerReferences": F("array:object:OwnerReference", "[]OwnerReference", omitempty=True, pointer=False),
        "finalizers": F("array:string", "[]string", omitempty=True, pointer=False),
        "managedFields": F("array:object:ManagedFieldsEntry", "[]ManagedFieldsEntry", omitempty=True, pointer=False),
    },
    "OwnerReference": {
        "apiVersion": F("string", "string", omitempty=False, pointer=False),
        "kind": F("string", "string", omitempty=False, pointer=False),
        "name": F("string", "string", omitempty=False, pointer=False),
        "uid": F("string", "types.UID", omitempty=False, pointer=False),
        "controller": F("boolean", "*bool", omitempty=True, pointer=True),
        "blockOwnerDeletion": F("boolean", "*bool", omitempty=True, pointer=True),
    },
    "ManagedFieldsEntry": {
        "manager": F("string", "string", omitempty=True, pointer=False),
        "operation": F("string", "ManagedFieldsOperationType", omitempty=True, pointer=False),
        "apiVersion": F("string", "string", omitempty=True, pointer=False),
        "time": F("time", "*Time", omitempty=True, pointer=True),
        "fieldsType": F("string", "string", omitempty=True, pointer=False),
        "fieldsV1": F("object:FieldsV1", "*FieldsV1", omitempty=True, pointer=True),
        "subresource": F("string", "string", omitempty=True, pointer=False),
    },
    # ---- k8s.io/api core/v1/types.go ----
    "PodList": {
        "<inline TypeMeta>": INLINE,
        "metadata": F("object:ListMeta", "metav1.ListMeta", omitempty=True, pointer=False),
        "items": F("array:object:Pod", "[]Pod", omitempty=False, pointer=False),
    },
    "Pod": {
        "<inline TypeMeta>": INLINE,
        "metadata": F("object:ObjectMeta", "metav1.ObjectMeta", omitempty=True, pointer=False),
        "spec": F("object:PodSpec", "PodSpec", omitempty=True, pointer=False),
        "status": F("object:PodStatus", "PodStatus", omitempty=True, pointer=False),
    },
    "PodSpec": {
        "volumes": F("array:object:Volume", "[]Volume", omitempty=True, pointer=False),
        "initContainers": F("array:object:Container", "[]Container", omitempty=True, pointer=False),
        "containers": F("array:object:Container", "[]Container", omitempty=False, pointer=False),
        "ephemeralContainers": F("array:object:EphemeralContainer", "[]EphemeralContainer", omitempty=True, pointer=False),
        "restartPolicy": F("string", "RestartPolicy", omitempty=True, pointer=False),
        "terminationGracePeriodSeconds": F("integer", "*int64", omitempty=True, pointer=True),
        "activeDeadlineSeconds": F("integer", "*int64", omitempty=True, pointer=True),
        "dnsPolicy": F("string", "DNSPolicy", omitempty=True, pointer=False),
        "nodeSelector": F("map:string", "map[string]string", omitempty=True, pointer=False),
        "serviceAccountName": F("string", "string", omitempty=True, pointer=False),
        "serviceAccount": F("string", "string", omitempty=True, pointer=False),
        "automountServiceAccountToken": F("boolean", "*bool", omitempty=True, pointer=True),
        "nodeName": F("string", "string", omitempty=True, pointer=False),
        "hostNetwork": F("boolean", "bool", omitempty=True, pointer=False),
        "hostPID": F("boolean", "bool", omitempty=True, pointer=False),
        "hostIPC": F("boolean", "bool", omitempty=True, pointer=False),
        "shareProcessNamespace": F("boolean", "*bool", omitempty=True, pointer=True),
        "securityContext": F("object:PodSecurityContext", "*PodSecurityContext", omitempty=True, pointer=True),
        "imagePullSecrets": F("array:object:LocalObjectReference", "[]LocalObjectReference", omitempty=True, pointer=False),
        "hostname": F("string", "string", omitempty=True, pointer=False),
        "subdomain": F("string", "string", omitempty=True, pointer=False),
        "affinity": F("object:Affinity", "*Affinity", omitempty=True, pointer=True),
        "schedulerName": F("string", "string", omitempty=True, pointer=False),
        "tolerations": F("array:object:Toleration", "[]Toleration", omitempty=True, pointer=False),
        "hostAliases": F("array:object:HostAlias", "[]HostAlias", omitempty=True, pointer=False),
        "priorityClassName": F("string", "string", omitempty=True, pointer=False),
        "priority": F("integer", "*int32", omitempty=True, pointer=True),
        "dnsConfig": F("object:PodDNSConfig", "*PodDNSConfig", omitempty=True, pointer=True),
        "readinessGates": F("array:object:PodReadinessGate", "[]PodReadinessGate", omitempty=True, pointer=False),
        "runtimeClassName": F("string", "*string", omitempty=True, pointer=True),
        "enableServiceLinks": F("boolean", "*bool", omitempty=True, pointer=True),
        "preemptionPolicy": F("string", "*PreemptionPolicy", omitempty=True, pointer=True),
        "overhead": F("map:quantity", "ResourceList", omitempty=True, pointer=False),
        "topologySpreadConstraints": F("array:object:TopologySpreadConstraint", "[]TopologySpreadConstraint", omitempty=True, pointer=False),
        "setHostnameAsFQDN": F("boolean", "*bool", omitempty=True, pointer=True),
        "os": F("object:PodOS", "*PodOS", omitempty=True, pointer=True),
        "hostUsers": F("boolean", "*bool", omitempty=True, pointer=True),
        "schedulingGates": F("array:object:PodSchedulingGate", "[]PodSchedulingGate", omitempty=True, pointer=False),
        "resourceClaims": F("array:object:PodResourceClaim", "[]PodResourceClaim", omitempty=True, pointer=False),
        "resources": F("object:ResourceRequirements", "*ResourceRequirements", omitempty=True, pointer=True),
        "hostnameOverride": F("string", "*string", omitempty=True, pointer=True),
        "schedulingGroup": F("object:PodSchedulingGroup", "*PodSchedulingGroup", omitempty=True, pointer=True),
        "evictionResponders": F("array:object:EvictionResponder", "[]EvictionResponder", omitempty=True, pointer=False),
    },
    "Container": {
        "name": F("string", "string", omitempty=False, pointer=False),
        "image": F("string", "string", omitempty=True, pointer=False),
        "command": F("array:string", "[]string", omitempty=True, pointer=False),
        "args": F("array:string", "[]string", omitempty=True, pointer=False),
        "workingDir": F("string", "string", omitempty=True, pointer=False),
        "ports": F("array:object:ContainerPort", "[]ContainerPort", omitempty=True, pointer=False),
        "envFrom": F("array:object:EnvFromSource", "[]EnvFromSource", omitempty=True, pointer=False),
        "env": F("array:object:EnvVar", "[]EnvVar", omitempty=True, pointer=False),
        "resources": F("object:ResourceRequirements", "ResourceRequirements", omitempty=True, pointer=False),
        "resizePolicy": F("array:object:ContainerResizePolicy", "[]ContainerResizePolicy", omitempty=True, pointer=False),
        "restartPolicy": F("string", "*ContainerRestartPolicy", omitempty=True, pointer=True),
        "restartPolicyRules": F("array:object:ContainerRestartRule", "[]ContainerRestartRule", omitempty=True, pointer=False),
        "volumeMounts": F("array:object:VolumeMount", "[]VolumeMount", omitempty=True, pointer=False),
        "volumeDevices": F("array:object:VolumeDevice", "[]VolumeDevice", omitempty=True, pointer=False),
        "livenessProbe": F("object:Probe", "*Probe", omitempty=True, pointer=True),
        "readinessProbe": F("object:Probe", "*Probe", omitempty=True, pointer=True),
        "startupProbe": F("object:Probe", "*Probe", omitempty=True, pointer=True),
        "lifecycle": F("object:Lifecycle", "*Lifecycle", omitempty=True, pointer=True),
        "terminationMessagePath": F("string", "string", omitempty=True, pointer=False),
        "terminationMessagePolicy": F("string", "TerminationMessagePolicy", omitempty=True, pointer=False),
        "imagePullPolicy": F("string", "PullPolicy", omitempty=True, pointer=False),
        "securityContext": F("object:SecurityContext", "*SecurityContext", omitempty=True, pointer=True),
        "stdin": F("boolean", "bool", omitempty=True, pointer=False),
        "stdinOnce": F("boolean", "bool", omitempty=True, pointer=False),
        "tty": F("boolean", "bool", omitempty=True, pointer=False),
    },
    "ResourceRequirements": {
        "limits": F("map:quantity", "ResourceList", omitempty=True, pointer=False),
        "requests": F("map:quantity", "ResourceList", omitempty=True, pointer=False),
        "claims": F("array:object:ResourceClaim", "[]ResourceClaim", omitempty=True, pointer=False),
    },
    "ResourceClaim": {
        "name": F("string", "string", omitempty=False, pointer=False),
        "request": F("string", "string", omitempty=True, pointer=False),
    },
    "PodStatus": {
        "observedGeneration": F("integer", "int64", omitempty=True, pointer=False),
        "phase": F("string", "PodPhase", omitempty=True, pointer=False),
        "conditions": F("array:object:PodCondition", "[]PodCondition", omitempty=True, pointer=False),
        "message": F("string", "string", omitempty=True, pointer=False),
        "reason": F("string", "string", omitempty=True, pointer=False),
        "nominatedNodeName": F("string", "string", omitempty=True, pointer=False),
        "hostIP": F("string", "string", omitempty=True, pointer=False),
        "hostIPs": F("array:object:HostIP", "[]HostIP", omitempty=True, pointer=False),
        "podIP": F("string", "string", omitempty=True, pointer=False),
        "podIPs": F("array:object:PodIP", "[]PodIP", omitempty=True, pointer=False),
        "startTime": F("time", "*metav1.Time", omitempty=True, pointer=True),
        "initContainerStatuses": F("array:object:ContainerStatus", "[]ContainerStatus", omitempty=True, pointer=False),
        "containerStatuses": F("array:object:ContainerStatus", "[]ContainerStatus", omitempty=True, pointer=False),
        "qosClass": F("string", "PodQOSClass", omitempty=True, pointer=False),
        "ephemeralContainerStatuses": F("array:object:ContainerStatus", "[]ContainerStatus", omitempty=True, pointer=False),
        "resize": F("string", "PodResizeStatus", omitempty=True, pointer=False),
        "resourceClaimStatuses": F("array:object:PodResourceClaimStatus", "[]PodResourceClaimStatus", omitempty=True, pointer=False),
        "extendedResourceClaimStatus": F("object:PodExtendedResourceClaimStatus", "*PodExtendedResourceClaimStatus", omitempty=True, pointer=True),
        "allocatedResources": F("map:quantity", "ResourceList", omitempty=True, pointer=False),
        "resources": F("object:ResourceRequirements", "*ResourceRequirements", omitempty=True, pointer=True),
        "nodeAllocatableResourceClaimStatuses": F("array:object:NodeAllocatableResourceClaimStatus", "[]NodeAllocatableResourceClaimStatus", omitempty=True, pointer=False),
        "volumeHealth": F("array:object:PodVolumeHealth", "[]PodVolumeHealth", omitempty=True, pointer=False),
    },
    "ContainerStatus": {
        "name": F("string", "string", omitempty=False, pointer=False),
        "state": F("object:ContainerState", "ContainerState", omitempty=True, pointer=False),
        "lastState": F("object:ContainerState", "ContainerState", omitempty=True, pointer=False),
        "ready": F("boolean", "bool", omitempty=False, pointer=False),
        "restartCount": F("integer", "int32", omitempty=False, pointer=False),
        "image": F("string", "string", omitempty=False, pointer=False),
        "imageID": F("string", "string", omitempty=False, pointer=False),
        "containerID": F("string", "string", omitempty=True, pointer=False),
        "started": F("boolean", "*bool", omitempty=True, pointer=True),
        "allocatedResources": F("map:quantity", "ResourceList", omitempty=True, pointer=False),
        "resources": F("object:ResourceRequirements", "*ResourceRequirements", omitempty=True, pointer=True),
        "volumeMounts": F("array:object:VolumeMountStatus", "[]VolumeMountStatus", omitempty=True, pointer=False),
        "user": F("object:ContainerUser", "*ContainerUser", omitempty=True, pointer=True),
        "allocatedResourcesStatus": F("array:object:ResourceStatus", "[]ResourceStatus", omitempty=True, pointer=False),
        "stopSignal": F("string", "*Signal", omitempty=True, pointer=True),
    },
    "ContainerState": {
        "waiting": F("object:ContainerStateWaiting", "*ContainerStateWaiting", omitempty=True, pointer=True),
        "running": F("object:ContainerStateRunning", "*ContainerStateRunning", omitempty=True, pointer=True),
        "terminated": F("object:ContainerStateTerminated", "*ContainerStateTerminated", omitempty=True, pointer=True),
    },
    "ContainerStateRunning": {
        "startedAt": F("time", "metav1.Time", omitempty=True, pointer=False),
    },
    "ContainerStateWaiting": {
        "reason": F("string", "string", omitempty=True, pointer=False),
        "message": F("string", "string", omitempty=True, pointer=False),
    },
    "ContainerStateTerminated": {
        "exitCode": F("integer", "int32", omitempty=False, pointer=False),
        "signal": F("integer", "int32", omitempty=True, pointer=False),
        "reason": F("string", "string", omitempty=True, pointer=False),
        "message": F("string", "string", omitempty=True, pointer=False),
        "startedAt": F("time", "metav1.Time", omitempty=True, pointer=False),
        "finishedAt": F("time", "metav1.Time", omitempty=True, pointer=False),
        "containerID": F("string", "string", omitempty=True, pointer=False),
    },
    "ContainerPort": {
        "name": F("string", "string", omitempty=True, pointer=False),
        "hostPort": F("integer", "int32", omitempty=True, pointer=False),
        "containerPort": F("integer", "int32", omitempty=False, pointer=False),
        "protocol": F("string", "Protocol", omitempty=True, pointer=False),
        "hostIP": F("string", "string", omitempty=True, pointer=False),
    },
    "EnvVar": {
        "name": F("string", "string", omitempty=False, pointer=False),
        "value": F("string", "string", omitempty=True, pointer=False),
        "valueFrom": F("object:EnvVarSource", "*EnvVarSource", omitempty=True, pointer=True),
    },
    "VolumeMount": {
        "name": F("string", "string", omitempty=False, pointer=False),
        "readOnly": F("boolean", "bool", omitempty=True, pointer=False),
        "recursiveReadOnly": F("string", "*RecursiveReadOnlyMode", omitempty=True, pointer=True),
        "mountPath": F("string", "string", omitempty=False, pointer=False),
        "subPath": F("string", "string", omitempty=True, pointer=False),
        "mountPropagation": F("string", "*MountPropagationMode", omitempty=True, pointer=True),
        "subPathExpr": F("string", "string", omitempty=True, pointer=False),
        "bindMountOptions": F("array:string", "[]string", omitempty=True, pointer=False),
    },
    "Toleration": {
        "key": F("string", "string", omitempty=True, pointer=False),
        "operator": F("string", "TolerationOperator", omitempty=True, pointer=False),
        "value": F("string", "string", omitempty=True, pointer=False),
        "effect": F("string", "TaintEffect", omitempty=True, pointer=False),
        "tolerationSeconds": F("integer", "*int64", omitempty=True, pointer=True),
    },
    "PodCondition": {
        "type": F("string", "PodConditionType", omitempty=False, pointer=False),
        "observedGeneration": F("integer", "int64", omitempty=True, pointer=False),
        "status": F("string", "ConditionStatus", omitempty=False, pointer=False),
        "lastProbeTime": F("time", "metav1.Time", omitempty=True, pointer=False),
        "lastTransitionTime": F("time", "metav1.Time", omitempty=True, pointer=False),
        "reason": F("string", "string", omitempty=True, pointer=False),
        "message": F("string", "string", omitempty=True, pointer=False),
    },
    "HostIP": {
        "ip": F("string", "string", omitempty=False, pointer=False),
    },
    "PodIP": {
        "ip": F("string", "string", omitempty=False, pointer=False),
    },
    "LocalObjectReference": {
        "name": F("string", "string", omitempty=True, pointer=False),
    },
    "ContainerResizePolicy": {
        "resourceName": F("string", "ResourceName", omitempty=False, pointer=False),
        "restartPolicy": F("string", "ResourceResizeRestartPolicy", omitempty=False, pointer=False),
    },
    "VolumeMountStatus": {
        "name": F("string", "string", omitempty=False, pointer=False),
        "mountPath": F("string", "string", omitempty=False, pointer=False),
        "readOnly": F("boolean", "bool", omitempty=True, pointer=False),
        "recursiveReadOnly": F("string", "*RecursiveReadOnlyMode", omitempty=True, pointer=True),
        "volumeStatus": F("object:VolumeStatus", "*VolumeStatus", omitempty=True, pointer=True),
    },
    "ContainerUser": {
        "linux": F("object:LinuxContainerUser", "*LinuxContainerUser", omitempty=True, pointer=True),
    },
    "LinuxContainerUser": {
        "uid": F("integer", "int64", omitempty=False, pointer=False),
        "gid": F("integer", "int64", omitempty=False, pointer=False),
        "supplementalGroups": F("array:integer", "[]int64", omitempty=True, pointer=False),
    },
    "ResourceStatus": {
        "name": F("string", "ResourceName", omitempty=False, pointer=False),
        "resources": F("array:object:ResourceHealth", "[]ResourceHealth", omitempty=True, pointer=False),
    },
    "ResourceHealth": {
        "resourceID": F("string", "ResourceID", omitempty=False, pointer=False),
        "health": F("string", "ResourceHealthStatus", omitempty=True, pointer=False),
        "message": F("string", "*string", omitempty=True, pointer=True),
    },
    "PodResourceClaimStatus": {
        "name": F("string", "string", omitempty=False, pointer=False),
        "resourceClaimName": F("string", "*string", omitempty=True, pointer=True),
    },
}

OPAQUE_TYPES = {
    "Affinity", "ContainerRestartRule", "EnvFromSource", "EnvVarSource", "EphemeralContainer",
    "EvictionResponder", "FieldsV1", "HostAlias", "Lifecycle", "NodeAllocatableResourceClaimStatus",
    "PodDNSConfig", "PodExtendedResourceClaimStatus", "PodOS", "PodReadinessGate",
    "PodResourceClaim", "PodSchedulingGate", "PodSchedulingGroup", "PodSecurityContext",
    "PodVolumeHealth", "Probe", "SecurityContext", "ShardInfo", "TopologySpreadConstraint",
    "Volume", "VolumeDevice", "VolumeStatus",
}


def _flatten(name, seen=()):
    out = {}
    for key, field in _RAW_TYPES[name].items():
        if field is INLINE:
            inner = key[len("<inline "):-1]
            if inner in seen:
                raise ValueError(f"inline cycle at {inner}")
            out.update(_flatten(inner, seen + (name,)))
        else:
            out[key] = field
    return out


TYPES = {name: _flatten(name) for name in _RAW_TYPES}

# metav1.Time as Go marshals it: RFC 3339, UTC "Z", whole seconds, 4-digit year.
_TIME_RE = re.compile(r"\A\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ\Z")
# resource.Quantity canonical-ish: optional sign, decimal, optional suffix (binary SI, decimal SI, exponent).
_QUANTITY_RE = re.compile(r"\A[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?\Z")


def _go_int_type(go_type):
    base = go_type.lstrip("*").lstrip("[]").lstrip("*")
    return base if base in INT_RANGES else "int64"


def _is_empty(value):
    """Go's omitempty notion of empty, for a decoded JSON value of a non-pointer field."""
    if isinstance(value, bool):
        return value is False
    if isinstance(value, (int, float)):
        return value == 0
    return value in ("", [], {})


def _always_written(field):
    if field.pointer or field.omitzero:
        return False
    if not field.omitempty:
        return True
    return field.kind == "time" or field.kind.startswith("object:")


def _check_value(value, kind, go_type, path, out, strict=True):
    """Checks one JSON value against a kind; null handling is done by the caller."""
    if kind == "string":
        if not isinstance(value, str):
            out.append(f"{path}: expected string, got {type(value).__name__}")
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            out.append(f"{path}: expected integer ({go_type}), got {type(value).__name__} {value!r}")
        else:
            lo, hi = INT_RANGES[_go_int_type(go_type)]
            if not lo <= value <= hi:
                out.append(f"{path}: {value} out of range for {_go_int_type(go_type)}")
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(f"{path}: expected number ({go_type}), got {type(value).__name__}")
        elif isinstance(value, float) and value != value or value in (float("inf"), float("-inf")):
            out.append(f"{path}: NaN/Inf cannot be marshalled by Go")
    elif kind == "boolean":
        if not isinstance(value, bool):
            out.append(f"{path}: expected boolean, got {type(value).__name__}")
    elif kind == "time":
        if value is None:
            return
        if not isinstance(value, str) or not _TIME_RE.match(value):
            out.append(f"{path}: {value!r} is not metav1.Time (2006-01-02T15:04:05Z, UTC, seconds)")
    elif kind == "quantity":
        if not isinstance(value, str) or not _QUANTITY_RE.match(value):
            out.append(f"{path}: {value!r} is not a resource.Quantity string")
    elif kind.startswith("array:"):
        if not isinstance(value, list):
            out.append(f"{path}: expected array, got {type(value).__name__}")
            return
        inner = kind[len("array:"):]
        for i, item in enumerate(value):
            if item is None and inner != "time" and not go_type.startswith("[]*"):
                out.append(f"{path}[{i}]: null element in {go_type}")
                continue
            _check_value(item, inner, go_type[2:], f"{path}[{i}]", out, strict)
    elif kind.startswith("map:"):
        if not isinstance(value, dict):
            out.append(f"{path}: expected object (map), got {type(value).__name__}")
            return
        inner = kind[len("map:"):]
        for k, item in value.items():
            _check_value(item, inner, go_type, f"{path}[{k!r}]", out, strict)
    elif kind.startswith("object:"):
        type_name = kind[len("object:"):]
        if not isinstance(value, dict):
            out.append(f"{path}: expected object {type_name}, got {type(value).__name__}")
        elif type_name in TYPES:
            _check_struct(value, type_name, path, out, strict)
        elif type_name not in OPAQUE_TYPES:
            out.append(f"{path}: schema has no type {type_name}")
    else:
        out.append(f"{path}: schema bug, unknown kind {kind}")


def _check_struct(obj, type_name, path, out, strict=True):
    fields = TYPES[type_name]
    for key in obj:
        if key not in fields:
            out.append(f"{path}.{key}: unknown field for {type_name}")
    for key, field in fields.items():
        sub = f"{path}.{key}"
        if key not in obj:
            if _always_written(field):
                out.append(f"{sub}: missing; Go always writes it ({field.go_type})")
            continue
        value = obj[key]
        if value is None:
            nullable = (field.kind == "time" or field.pointer
                        or (not field.omitempty and field.kind.split(":")[0] in ("array", "map")))
            if not nullable:
                out.append(f"{sub}: null is not a valid {field.go_type}")
            elif strict and field.omitempty and field.kind != "time":
                out.append(f"{sub}: null written for omitempty {field.go_type}; Go omits it")
            continue
        if (strict and field.omitempty and not field.pointer and not field.omitzero
                and field.kind != "time" and not field.kind.startswith("object:")
                and _is_empty(value)):
            out.append(f"{sub}: empty value {value!r} written for omitempty {field.go_type}; Go omits it")
        _check_value(value, field.kind, field.go_type, sub, out, strict)


def violations(document, type_name, strict_omitempty=True):
    """Every way `document` (a decoded JSON value) differs from what Go would marshal for type_name.

    strict_omitempty=False stops reporting empty values ("" / 0 / false / [] / {}) written for
    non-pointer omitempty fields, which a Go encoder never emits but every decoder accepts.
    """
    if type_name not in TYPES:
        raise KeyError(f"unknown type {type_name}")
    out = []
    _check_value(document, f"object:{type_name}", type_name, "$", out, strict_omitempty)
    return out


# ----------------------------------------------------------------------------------------------
def _self_test():
    for name, fields in TYPES.items():
        for key, f in fields.items():
            kinds = f.kind.split(":")
            if kinds[-2:-1] == ["object"] or kinds[0] == "object":
                assert kinds[-1] in TYPES or kinds[-1] in OPAQUE_TYPES, (name, key, f.kind)
    assert "name" in TYPES["NetworkStats"] and "rxBytes" in TYPES["NetworkStats"]
    assert "time" in TYPES["VolumeStats"] and "kind" in TYPES["PodList"]

    T = "2026-12-03T13:48:08Z"
    fs = {"time": T, "availableBytes": 10, "capacityBytes": 20, "usedBytes": 5,
          "inodesFree": 1, "inodes": 2, "inodesUsed": 1}
    summary = {
        "node": {
            "nodeName": "n1", "startTime": T,
            "systemContainers": [{"name": "kubelet", "startTime": T,
                                  "cpu": {"time": T, "usageNanoCores": 0, "usageCoreNanoSeconds": 7},
                                  "memory": {"time": T, "usageBytes": 1, "workingSetBytes": 1,
                                             "rssBytes": 1, "pageFaults": 0, "majorPageFaults": 0}}],
            "cpu": {"time": T, "usageCoreNanoSeconds": 123,
                    "psi": {"full": {"total": 0, "avg10": 0, "avg60": 0.5, "avg300": 0},
                            "some": {"total": 3, "avg10": 1.25, "avg60": 0, "avg300": 0}}},
            "memory": {"time": T, "availableBytes": 1, "usageBytes": 2, "workingSetBytes": 2},
            "network": {"time": T, "name": "eth0", "rxBytes": 1, "rxErrors": 0, "txBytes": 1,
                        "txErrors": 0, "interfaces": [{"name": "eth0", "rxBytes": 1}]},
            "fs": fs, "runtime": {"imageFs": fs, "containerFs": fs},
            "rlimit": {"time": T, "maxpid": 4194304, "curproc": 300},
            "swap": {"time": T, "swapAvailableBytes": 0, "swapUsageBytes": 0},
        },
        "pods": [{
            "podRef": {"name": "p", "namespace": "default", "uid": "u-1"},
            "startTime": T,
            "containers": [{"name": "c", "startTime": T, "rootfs": fs, "logs": fs,
                            "cpu": {"time": T, "usageNanoCores": 5, "usageCoreNanoSeconds": 6}}],
            "volume": [dict(fs, name="kube-api-access-x")],
            "ephemeral-storage": fs, "process_stats": {"process_count": 1},
        }],
    }
    assert violations(summary, "Summary") == [], violations(summary, "Summary")
    assert violations({"node": {"nodeName": "n", "startTime": None}, "pods": None}, "Summary") == []

    def bad(mutate, *needles, type_name="Summary", doc=summary):
        d = json.loads(json.dumps(doc))
        mutate(d)
        v = violations(d, type_name)
        assert v, f"expected violations for {needles}"
        for n in needles:
            assert any(n in s for s in v), (n, v)
        return v

    bad(lambda d: d["node"].update(bogus=1), "$.node.bogus: unknown field")
    bad(lambda d: d["node"]["cpu"].update(usageNanoCores=True), "usageNanoCores: expected integer")
    bad(lambda d: d["node"]["cpu"].update(usageNanoCores=1.0), "usageNanoCores: expected integer")
    bad(lambda d: d["node"]["cpu"].update(usageNanoCores=-1), "out of range for uint64")
    bad(lambda d: d["node"]["rlimit"].update(maxpid=2 ** 63), "out of range for int64")
    bad(lambda d: d["node"].update(startTime="2026-12-03T13:48:08.123Z"), "node.startTime")
    bad(lambda d: d["node"].update(startTime="2026-12-03T14:48:08+01:00"), "node.startTime")
    bad(lambda d: d["node"].update(startTime=0), "node.startTime")
    bad(lambda d: d["pods"][0].pop("startTime"), "pods[0].startTime: missing")
    bad(lambda d: d["pods"][0]["containers"][0].pop("name"), "containers[0].name: missing")
    bad(lambda d: d["pods"][0].pop("containers"), "pods[0].containers: missing")
    bad(lambda d: d["node"]["network"].pop("name"), "network.name: missing")
    bad(lambda d: d["node"]["cpu"]["psi"].pop("full"), "psi.full: missing")
    bad(lambda d: d["node"]["cpu"]["psi"]["some"].update(avg10="1"), "avg10: expected number")
    bad(lambda d: d["node"].update(memory=None), "node.memory: null written for omitempty")
    bad(lambda d: d["node"].update(systemContainers=[]), "systemContainers: empty value")
    lax = json.loads(json.dumps(summary))
    lax["node"].update(systemContainers=[], memory=None)
    assert violations(lax, "Summary", strict_omitempty=False) == []
    bad(lambda d: d["pods"][0]["volume"][0].update(volumeHealthStats={"abnormal": False}),
        "volumeHealthStats: unknown field")
    bad(lambda d: d["pods"][0]["podRef"].update(uid=5), "podRef.uid: expected string")

    pods = {
        "kind": "PodList", "apiVersion": "v1", "metadata": {},
        "items": [{
            "metadata": {"name": "p", "namespace": "default", "uid": "u-1",
                         "creationTimestamp": T, "labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "busybox",
                                     "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                                                   "limits": {"cpu": "1"}}}],
                     "nodeName": "n1", "volumes": [{"name": "v", "emptyDir": {}}]},
            "status": {"phase": "Running", "startTime": T, "qosClass": "Burstable",
                       "podIPs": [{"ip": "10.0.0.1"}],
                       "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0,
                                              "image": "busybox", "imageID": "", "started": True,
                                              "state": {"running": {"startedAt": T}},
                                              "lastState": {}}]},
        }],
    }
    assert violations(pods, "PodList") == [], violations(pods, "PodList")
    legacy = json.loads(json.dumps(pods))
    legacy["items"][0]["metadata"]["creationTimestamp"] = None   # pre-omitzero apimachinery
    legacy["items"][0]["status"]["containerStatuses"][0]["state"] = {
        "terminated": {"exitCode": 0, "startedAt": None, "finishedAt": T}}
    assert violations(legacy, "PodList") == [], violations(legacy, "PodList")
    bad(lambda d: d.pop("metadata"), "$.metadata: missing", type_name="PodList", doc=pods)
    bad(lambda d: d["items"][0]["spec"]["containers"][0].pop("resources"), "resources: missing",
        type_name="PodList", doc=pods)
    bad(lambda d: d["items"][0]["status"]["containerStatuses"][0].pop("lastState"),
        "lastState: missing", type_name="PodList", doc=pods)
    bad(lambda d: d["items"][0]["status"]["containerStatuses"][0].pop("imageID"),
        "imageID: missing", type_name="PodList", doc=pods)
    bad(lambda d: d["items"][0]["status"]["containerStatuses"][0].update(restartCount=2 ** 31),
        "out of range for int32", type_name="PodList", doc=pods)
    bad(lambda d: d["items"][0]["spec"]["containers"][0]["resources"]["requests"].update(cpu=0.1),
        "not a resource.Quantity", type_name="PodList", doc=pods)
    bad(lambda d: d["items"][0]["metadata"].update(creationTimestamp="2026-12-03 13:48:08"),
        "creationTimestamp", type_name="PodList", doc=pods)
    bad(lambda d: d["items"][0]["metadata"].update(podIP="x"), "metadata.podIP: unknown field",
        type_name="PodList", doc=pods)
    bad(lambda d: d["items"][0]["spec"].update(hostNetwork=False), "hostNetwork: empty value",
        type_name="PodList", doc=pods)
    bad(lambda d: d["items"][0]["spec"]["containers"][0].update(stdin="yes"),
        "stdin: expected boolean", type_name="PodList", doc=pods)
    bad(lambda d: d["items"][0]["spec"]["volumes"].append(3), "volumes[1]: expected object",
        type_name="PodList", doc=pods)
    print(f"kubelet_schema self-test ok: {len(TYPES)} types")


if __name__ == "__main__":
    if len(sys.argv) == 3:   # kubelet_schema.py FILE.json TypeName
        with open(sys.argv[1]) as fh:
            problems = violations(json.load(fh), sys.argv[2])
        print("\n".join(problems) or "ok")
        sys.exit(1 if problems else 0)
    _self_test()

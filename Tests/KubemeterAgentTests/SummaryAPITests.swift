@testable import KubemeterCollector
import KubemeterExposition
import KubemeterJSON
import KubemeterParsers
import KubemeterSnapshot
import Testing

private func cgroup(usec: UInt64, current: UInt64 = 100 << 20, memoryMax: CgroupLimit? = nil) -> CgroupSample {
    var sample = CgroupSample(
        cpu: try! CPUStat.parse("usage_usec \(usec)\nuser_usec 0\nsystem_usec 0\n"), memoryCurrent: current,
        memoryStat: try! MemoryStat.parse("anon 7\nfile 2\ninactive_file \(1 << 20)\npgfault 11\npgmajfault 3\n"))
    sample.memoryMax = memoryMax
    return sample
}

private func snapshot(at milliseconds: Int64, usec: UInt64) -> NodeSnapshot {
    let container = ContainerUsage(name: "app", id: "c1", runtime: "containerd", cgroupPath: "/cg/pod/c1",
                                   sample: cgroup(usec: usec), startTimeSeconds: 1_700_000_000)
    let pod = PodUsage(namespace: "ns", name: "web", uid: "u1", qosClass: "burstable", cgroupPath: "/cg/pod",
                       sample: cgroup(usec: usec * 2), containers: [container])
    return NodeSnapshot(timestampMilliseconds: milliseconds, node: NodeUsage(cpuUsageSeconds: Double(usec) * 4 / 1e6), pods: [pod])
}

@Suite struct CPURateTrackerTests {
    private func rates(_ tracker: CPURateTracker, at milliseconds: Int64, usec: UInt64) -> (node: UInt64?, pod: UInt64?, container: UInt64?) {
        var s = snapshot(at: milliseconds, usec: usec)
        tracker.annotate(&s)
        return (s.node.cpuUsageNanoCores, s.pods[0].sample.cpuUsageNanoCores, s.pods[0].containers[0].sample.cpuUsageNanoCores)
    }

    @Test func aFirstReadingHasNoRate() {
        let r = rates(CPURateTracker(), at: 10_000, usec: 5_000_000)
        #expect(r.node == nil && r.pod == nil && r.container == nil)
    }

    @Test func theRateIsOverAtLeastASecondForEveryCaller() {
        let tracker = CPURateTracker()
        _ = rates(tracker, at: 10_000, usec: 1_000_000)
        // 0.5 s later: too close to the only reading; no rate rather than a noisy one.
        #expect(rates(tracker, at: 10_500, usec: 1_250_000).container == nil)
        // 2 s after the first: 1.5 s of CPU over 2 s is 0.75 cores (from the first, not the 0.5 s one).
        let second = rates(tracker, at: 12_000, usec: 2_500_000)
        #expect(second.container == 750_000_000)
        #expect(second.pod == 1_500_000_000)
        #expect(second.node == 3_000_000_000)
        // A caller 10 ms later gets a rate too: from the same first reading, 2.01 s back.
        #expect(rates(tracker, at: 12_010, usec: 2_500_000).container == UInt64(1.5e9 / 2.01))
        // Once a window has passed since the 12 s reading, the window starts there.
        #expect(rates(tracker, at: 13_500, usec: 2_800_000).container == 200_000_000)
    }

    @Test func aCounterThatWentDownHasNoRateAndAGoneCgroupIsForgotten() {
        let tracker = CPURateTracker()
        _ = rates(tracker, at: 10_000, usec: 9_000_000)
        #expect(rates(tracker, at: 12_000, usec: 1_000_000).container == nil)  // recreated under the same path
        var empty = NodeSnapshot(timestampMilliseconds: 14_000, node: NodeUsage(), pods: [])
        tracker.annotate(&empty)
        #expect(rates(tracker, at: 16_000, usec: 2_000_000).container == nil)  // forgotten: a first reading again
    }
}

@Suite struct SummaryJSONTests {
    private func render(_ snapshot: NodeSnapshot, onlyCPUAndMemory: Bool = false) throws -> JSONValue {
        try JSONParser.parse(SummaryJSONRenderer(nodeName: "n1", onlyCPUAndMemory: onlyCPUAndMemory).render(snapshot))
    }

    @Test func valuesAndOmittedPointers() throws {
        var s = snapshot(at: 1_764_770_400_000, usec: 3_000_000)
        s.pods[0].containers[0].sample.memoryMax = .limited(300 << 20)
        s.pods[0].containers[0].sample.cpuUsageNanoCores = 42
        let summary = try render(s)
        #expect(summary["node"]?["nodeName"]?.string == "n1")
        #expect(summary["node"]?["startTime"] == .null)  // no /proc/stat read: Go's zero time
        #expect(summary["node"]?["cpu"]?["usageCoreNanoSeconds"]?.uint64 == 12_000_000_000)
        #expect(summary["node"]?["cpu"]?["usageNanoCores"] == nil)
        let pod = summary["pods"]?[0]
        #expect(pod?["podRef"]?["uid"]?.string == "u1")
        #expect(pod?["startTime"] == .null)
        #expect(pod?["memory"]?["availableBytes"] == nil)  // no limit: left out
        let container = pod?["containers"]?[0]
        #expect(container?["startTime"]?.string == "2023-11-14T22:13:20Z")
        #expect(container?["cpu"]?["time"]?.string == "2025-12-03T14:00:00Z")
        #expect(container?["cpu"]?["usageNanoCores"]?.uint64 == 42)
        #expect(container?["cpu"]?["usageCoreNanoSeconds"]?.uint64 == 3_000_000_000)
        #expect(container?["memory"]?["workingSetBytes"]?.uint64 == 99 << 20)
        #expect(container?["memory"]?["availableBytes"]?.uint64 == 201 << 20)
        #expect(container?["memory"]?["rssBytes"]?.uint64 == 7)
        #expect(container?["memory"]?["pageFaults"]?.uint64 == 11)
        #expect(container?["memory"]?["majorPageFaults"]?.uint64 == 3)
        #expect(container?["rootfs"] == nil && container?["logs"] == nil)
    }

    @Test func networkWithoutEth0HasAnEmptyInlineNameAndNoLoopback() throws {
        var s = snapshot(at: 1_764_770_400_000, usec: 1)
        s.pods[0].network = [NetDevInterface(name: "lo", rxBytes: 1), NetDevInterface(name: "net1", rxBytes: 5, txErrors: 2)]
        let network = try render(s)["pods"]?[0]?["network"]
        #expect(network?["name"]?.string == "")
        #expect(network?["rxBytes"] == nil)
        #expect(network?["interfaces"]?[0]?["name"]?.string == "net1")
        #expect(network?["interfaces"]?[0]?["txErrors"]?.uint64 == 2)
        #expect(network?["interfaces"]?[1] == nil)
    }

    @Test func aCPUPressureWithoutAFullLineIsGosZeroFull() throws {
        var s = snapshot(at: 1_764_770_400_000, usec: 1)
        s.pods[0].sample.cpuPressure = try Pressure.parse("some avg10=1.50 avg60=0.00 avg300=0.00 total=900\n")
        let psi = try render(s)["pods"]?[0]?["cpu"]?["psi"]
        #expect(psi?["some"]?["total"]?.uint64 == 900)
        #expect(psi?["some"]?["avg10"]?.double == 1.5)
        #expect(psi?["full"]?["total"]?.uint64 == 0)
        #expect(try render(s, onlyCPUAndMemory: true)["pods"]?[0]?["cpu"]?["psi"] == nil)
    }
}

@Suite struct PodResourcesFromCgroupsTests {
    /// Every request from 3m to 64 CPUs: the weight of the request read back gives the same weight
    /// (the roundest of the requests with that weight), under both runtime formulas.
    @Test(arguments: Formulas.CPUWeightConversion.allCases)
    func aRequestReadBackHasTheSameWeight(_ conversion: Formulas.CPUWeightConversion) {
        var mismatches: [UInt64] = []
        for milli in stride(from: UInt64(3), through: 64_000, by: 7) {
            let weight = conversion.weight(shares: Formulas.shares(milliCPU: milli))
            guard weight > 1, let back = Formulas.milliCPURequest(weight: weight, conversion: conversion) else { continue }
            if conversion.weight(shares: Formulas.shares(milliCPU: back)) != weight { mismatches.append(milli) }
        }
        #expect(mismatches.isEmpty)
    }

    @Test func roundRequestsComeBackExactly() {
        for conversion in Formulas.CPUWeightConversion.allCases {
            for milli: UInt64 in [100, 250, 500, 1_000, 1_500, 2_000, 4_000, 16_000] {
                let weight = conversion.weight(shares: Formulas.shares(milliCPU: milli))
                #expect(Formulas.milliCPURequest(weight: weight, conversion: conversion) == milli, "\(conversion) \(milli)m")
            }
        }
        // The fixed points each formula is known by: 1 CPU is weight 39 (linear) or 100 (quadratic).
        #expect(Formulas.CPUWeightConversion.linear.weight(shares: 1_024) == 39)
        #expect(Formulas.CPUWeightConversion.quadratic.weight(shares: 1_024) == 100)
        #expect(Formulas.milliCPURequest(weight: 1, conversion: .linear) == nil)
    }

    @Test func theRuntimesFormulaIsToldByThePodCgroups() {
        func pod(_ requests: [UInt64], runtime: Formulas.CPUWeightConversion) -> PodUsage {
            let containers = requests.enumerated().map { index, milli in
                var sample = CgroupSample()
                sample.cpuWeight = runtime.weight(shares: Formulas.shares(milliCPU: milli))
                return ContainerUsage(name: "c\(index)", id: "\(index)", runtime: "containerd", cgroupPath: "/c\(index)",
                                      sample: sample, startTimeSeconds: nil)
            }
            var sample = CgroupSample()
            sample.cpuWeight = Formulas.kubeletWeight(shares: Formulas.shares(milliCPU: requests.reduce(0, +)))
            return PodUsage(namespace: "n", name: "p", uid: "u", qosClass: "burstable", cgroupPath: "/p", sample: sample, containers: containers)
        }
        for runtime in Formulas.CPUWeightConversion.allCases {
            #expect(Formulas.weightConversion(of: [pod([250, 1_000], runtime: runtime), pod([500], runtime: runtime)]) == runtime)
        }
        #expect(Formulas.weightConversion(of: [pod([0], runtime: .quadratic)]) == nil)  // nothing to tell
    }

    @Test func quantities() throws {
        var sample = CgroupSample()
        sample.cpuMax = CPUMax(quotaUsec: 150_000, periodUsec: 100_000)
        sample.memoryMax = .limited(256 << 20)
        sample.cpuWeight = Formulas.CPUWeightConversion.linear.weight(shares: Formulas.shares(milliCPU: 250))
        let container = ContainerUsage(name: "app", id: String(repeating: "a", count: 64), runtime: "unknown",
                                       cgroupPath: "/c", sample: sample, startTimeSeconds: nil)
        let pod = PodUsage(namespace: "n", name: "p", uid: "u", qosClass: "burstable", cgroupPath: "/p", sample: CgroupSample(), containers: [container])
        let list = try JSONParser.parse(PodListJSONRenderer(nodeName: "n1", cgroupfsRuntime: "crio", weightConversion: .linear)
            .render(NodeSnapshot(timestampMilliseconds: 0, node: NodeUsage(), pods: [pod])))
        let item = list["items"]?[0]
        #expect(item?["spec"]?["containers"]?[0]?["resources"]?["limits"]?["cpu"]?.string == "1500m")
        #expect(item?["spec"]?["containers"]?[0]?["resources"]?["limits"]?["memory"]?.string == "256Mi")
        #expect(item?["spec"]?["containers"]?[0]?["resources"]?["requests"]?["cpu"]?.string == "250m")
        #expect(item?["status"]?["qosClass"]?.string == "Burstable")
        #expect(item?["status"]?["containerStatuses"]?[0]?["containerID"]?.string == "cri-o://" + String(repeating: "a", count: 64))
    }
}

extension JSONValue {
    fileprivate subscript(index: Int) -> JSONValue? {
        guard let elements = array, elements.indices.contains(index) else { return nil }
        return elements[index]
    }
}

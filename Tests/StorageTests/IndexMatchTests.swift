import ClusterStore
import KubeModel
import Testing
@testable import Storage

/// Kubernetes' index_test.go: which volume a claim gets. The volumes go into a MemoryStore
/// (Available unless bound), the claim is synced once by the real planner and applier, and
/// the volume it got bound to is compared with the expected one.
struct MatchCase: CustomTestStringConvertible, Sendable {
    var name: String
    var size: String
    var modes: [String] = ["ReadOnlyMany", "ReadWriteOnce"]
    var selector: [String: String]?
    var betaClass: String?
    var expected: String?

    var testDescription: String { name }
}

/// createTestVolumes(): deliberately out of order; `gce-pd-20`/`gce-pd-1` are bound elsewhere.
func indexTestVolumes() -> [PersistentVolume] {
    func v(_ name: String, _ size: String, _ modes: [String], boundTo uid: String? = nil, labels: [String: String]? = nil, beta: String? = nil) -> PersistentVolume {
        var pv = volume(name, size, phase: uid == nil ? "Available" : "Bound", labels: labels, modes: modes)
        if let uid {
            var ref = ObjectReference()
            ref.uid = uid
            pv.spec.claimRef = ref
        }
        if let beta { pv.metadata.annotations = [StorageAnnotations.betaStorageClass: beta] }
        return pv
    }
    let gce = ["ReadWriteOnce", "ReadOnlyMany"], nfs = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany"]
    return [
        v("gce-pd-10", "10G", gce),
        v("gce-pd-20", "20G", gce, boundTo: "def456"),
        v("nfs-5", "5G", nfs),
        v("gce-pd-1", "1G", gce, boundTo: "abc123"),
        v("nfs-10", "10G", nfs),
        v("gce-pd-5", "5G", gce),
        v("nfs-1", "1G", nfs),
        v("gce-pd-2", "20000G", ["ReadWriteOnce"], labels: ["should-exist": "true"]),
        v("gce-pd-silver1", "10000G", ["ReadWriteOnce"], labels: ["should-exist": "true"], beta: "silver"),
        v("gce-pd-silver2", "100G", ["ReadWriteOnce"], beta: "silver"),
        v("gce-pd-gold", "50G", ["ReadWriteOnce"], beta: "gold"),
    ]
}

let matchCases: [MatchCase] = [
    MatchCase(name: "successful-match-gce-10", size: "8G", expected: "gce-pd-10"),
    MatchCase(name: "successful-match-nfs-5", size: "5G", modes: ["ReadOnlyMany", "ReadWriteOnce", "ReadWriteMany"], expected: "nfs-5"),
    MatchCase(name: "successful-skip-1g-bound-volume", size: "1G", expected: "gce-pd-5"),
    MatchCase(name: "successful-no-match", size: "999G", expected: nil),
    MatchCase(name: "successful-no-match-due-to-label", size: "999G", selector: ["should-not-exist": "true"], expected: nil),
    MatchCase(name: "successful-no-match-due-to-size-constraint-with-label-selector", size: "20000G", selector: ["should-exist": "true"], expected: nil),
    MatchCase(name: "successful-match-due-with-constraint-and-label-selector", size: "20000G", modes: ["ReadWriteOnce"], selector: ["should-exist": "true"], expected: "gce-pd-2"),
    MatchCase(name: "successful-match-with-class", size: "1G", modes: ["ReadWriteOnce"], selector: ["should-exist": "true"], betaClass: "silver", expected: "gce-pd-silver1"),
    MatchCase(name: "successful-match-with-class-and-labels", size: "1G", modes: ["ReadWriteOnce"], betaClass: "silver", expected: "gce-pd-silver2"),
    // kplane additions: exact quantities, and modes searched fewest first.
    MatchCase(name: "exact-quantity-1Gi-does-not-fit-in-1G", size: "1Gi", modes: ["ReadWriteMany"], expected: "nfs-5"),
    MatchCase(name: "rwx-only-in-nfs-group", size: "1G", modes: ["ReadWriteMany"], expected: "nfs-1"),
]

@Suite struct IndexMatchTests {
    @Test(arguments: matchCases)
    func matchVolume(_ test: MatchCase) async throws {
        var pvc = claim("claim01", uid: "claim01", test.size, selector: test.selector, modes: test.modes, namespace: "myns")
        if let beta = test.betaClass { pvc.metadata.annotations = [StorageAnnotations.betaStorageClass: beta] }
        let seeded = try await SeededStore(volumes: indexTestVolumes(), claims: [pvc], namespaces: ["myns"])
        let snapshot = try await seeded.snapshot()
        var planner = StoragePlanner(StorageInputs(snapshot: snapshot, node: testNode, provisioner: nil, now: "2025-01-01T00:00:00Z"))
        planner.syncClaim("myns/claim01")
        var applier = StorageApplier(store: seeded.store, host: nil, snapshot: snapshot, logger: quietLogger, now: "2025-01-01T00:00:00Z")
        _ = await applier.apply(planner.plan)
        let got = try await seeded.claims()["claim01"]
        #expect((got?.volumeName).flatMap { $0.isEmpty ? nil : $0 } == test.expected)
        if let expected = test.expected {
            #expect(try await seeded.volumes()[expected]?.spec.claimRef?.uid == got?.uid)
        }
    }

    /// TestFindingVolumeWithDifferentAccessModes: the group with the fewest modes that holds
    /// all requested ones wins; a bound volume sends the search to the next group.
    @Test func differentAccessModes() {
        var gce = volume("gce", "10G", phase: "Available", modes: ["ReadWriteOnce", "ReadOnlyMany"])
        var ebs = volume("ebs", "10G", phase: "Available", modes: ["ReadWriteOnce"])
        let nfs = volume("nfs", "10G", phase: "Available", modes: ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany"])
        func best(_ modes: [String]) -> String? {
            let volumes = [gce.name: gce, ebs.name: ebs, nfs.name: nfs]
            return VolumeMatcher(volumes: volumes).findBest(for: claim("claim01", uid: "u", "1G", modes: modes, namespace: "myns"),
                                                            in: volumes, delayBinding: false, node: nil)?.name
        }
        #expect(best(["ReadWriteOnce"]) == "ebs")
        #expect(best(["ReadWriteOnce", "ReadOnlyMany"]) == "gce")
        #expect(best(["ReadWriteMany", "ReadWriteOnce", "ReadOnlyMany"]) == "nfs")
        #expect(best(["ReadWriteMany"]) == "nfs")
        ebs.spec.claimRef = ObjectReference()
        #expect(best(["ReadWriteOnce"]) == "gce")
        gce.spec.claimRef = ObjectReference()
        #expect(best(["ReadWriteOnce"]) == "nfs")
        gce.spec.claimRef = nil
        #expect(best(["ReadOnlyMany"]) == "gce")
    }

    /// TestFindingPreboundVolumes: a volume pre-bound to the claim wins unless it is too
    /// small or lacks the access mode.
    @Test func preboundVolumes() {
        let c = claim("claim01", uid: "uid01", "1Gi", namespace: "myns")
        var pv1 = volume("pv1", "1Gi", phase: "Available"), pv5 = volume("pv5", "5Gi", phase: "Available")
        var pv8 = volume("pv8", "8Gi", phase: "Available"), bad = volume("pvbadsize", "1Mi", phase: "Available")
        var badMode = volume("pvbadmode", "1Gi", phase: "Available", modes: ["ReadOnlyMany"])
        var ref = ObjectReference()
        ref.namespace = "myns"
        ref.name = "claim01"
        ref.uid = "uid01"
        func best() -> String? {
            let all = [pv1, pv5, pv8, bad, badMode]
            let map = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
            return VolumeMatcher(volumes: map).findBest(for: c, in: map, delayBinding: false, node: nil)?.name
        }
        #expect(best() == "pv1")
        var other = ObjectReference()
        other.name = "foo"
        other.namespace = "bar"
        pv1.spec.claimRef = other
        #expect(best() == "pv5")
        pv1.spec.claimRef = nil
        pv8.spec.claimRef = ref
        #expect(best() == "pv8")
        pv8.spec.claimRef = nil
        bad.spec.claimRef = ref
        #expect(best() == "pv1")
        bad.spec.claimRef = nil
        badMode.spec.claimRef = ref
        #expect(best() == "pv1")
    }

    @Test func nodeAffinity() {
        let pinned = NodeAffinity.pinned(to: "node-a")
        #expect(NodeAffinity.matches(pinned, node: NodeInfo(name: "node-a")))
        #expect(!NodeAffinity.matches(pinned, node: NodeInfo(name: "node-b")))
        #expect(NodeAffinity.matches(nil, node: NodeInfo(name: "node-b")))
        #expect(!NodeAffinity.matches(.object(["required": .object(["nodeSelectorTerms": .array([.object([:])])])]), node: testNode))
        let byField: JSONValue = .object(["required": .object(["nodeSelectorTerms": .array([
            .object(["matchFields": .array([.object(["key": .string("metadata.name"), "operator": .string("NotIn"), "values": .array([.string("node-b")])])])]),
        ])])])
        #expect(NodeAffinity.matches(byField, node: testNode))
        #expect(!NodeAffinity.matches(.string("garbage"), node: testNode))
    }
}

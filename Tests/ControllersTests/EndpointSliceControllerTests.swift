import ClusterStore
import Controllers
import KubeModel
import Testing

@Suite("EndpointSlice controller (ported from kube-controller-manager's reconciler cases)")
struct EndpointSliceControllerTests {
    func plan(_ services: [Service], _ pods: [Pod], _ slices: [EndpointSlice] = [], max: Int = 100) -> SliceReconciler.Plan {
        EndpointSliceSync.planSelector(Fixture.snapshot(services: services, pods: pods, slices: slices), now: "2026-01-01T00:00:00Z",
                                       reconciler: SliceReconciler(maxEndpointsPerSlice: max))
    }

    @Test func onePodOneSlice() throws {
        let p = plan([Fixture.service("web")], [Fixture.pod("a", ip: "10.244.0.5")])
        #expect(p.update.isEmpty && p.delete.isEmpty)
        let slice = try #require(p.create.first)
        #expect(p.create.count == 1)
        #expect(slice.addressType == "IPv4")
        #expect(slice.labels[EndpointSlice.serviceNameLabel] == "web")
        #expect(slice.labels[EndpointSlice.managedByLabel] == "endpointslice-controller.k8s.io")
        #expect(slice.metadata.ownerReferences?.first?.kind == "Service")
        #expect(slice.metadata.ownerReferences?.first?.uid == "uid-default-web")
        #expect(slice.metadata.ownerReferences?.first?.controller == true)
        #expect(slice.ports == [EndpointSlice.Port(name: "http", port: 8080, protocol: "TCP")])
        let ep = try #require(slice.endpoints?.first)
        #expect(ep.addresses == ["10.244.0.5"])
        #expect(ep.conditions == .init(ready: true, serving: true, terminating: false))
        #expect(ep.nodeName == "node-a")
        #expect(ep.targetRef?.kind == "Pod" && ep.targetRef?.name == "a")
        #expect(slice.annotations[SliceReconciler.triggerTimeAnnotation] == "2026-01-01T00:00:00Z")
        #expect(slice.name.hasPrefix("web-"))
    }

    struct ConditionCase: Sendable, CustomTestStringConvertible {
        var name: String
        var ready: Bool
        var terminating: Bool
        var publishNotReady: Bool
        var want: EndpointSlice.Conditions
        var testDescription: String { name }
    }

    @Test(arguments: [
        ConditionCase(name: "ready", ready: true, terminating: false, publishNotReady: false, want: .init(ready: true, serving: true, terminating: false)),
        ConditionCase(name: "not ready", ready: false, terminating: false, publishNotReady: false, want: .init(ready: false, serving: false, terminating: false)),
        ConditionCase(name: "ready and terminating", ready: true, terminating: true, publishNotReady: false, want: .init(ready: false, serving: true, terminating: true)),
        ConditionCase(name: "not ready and terminating", ready: false, terminating: true, publishNotReady: false, want: .init(ready: false, serving: false, terminating: true)),
        ConditionCase(name: "publishNotReadyAddresses, not ready", ready: false, terminating: false, publishNotReady: true, want: .init(ready: true, serving: false, terminating: false)),
        ConditionCase(name: "publishNotReadyAddresses, terminating", ready: true, terminating: true, publishNotReady: true, want: .init(ready: true, serving: true, terminating: true)),
    ])
    func conditions(_ c: ConditionCase) throws {
        let svc = Fixture.service("web") { $0.spec.publishNotReadyAddresses = c.publishNotReady }
        let pod = Fixture.pod("a", ip: "10.244.0.5", ready: c.ready) { if c.terminating { $0.metadata.deletionTimestamp = "2026-01-01T00:00:00Z" } }
        let slice = try #require(plan([svc], [pod]).create.first)
        #expect(slice.endpoints?.first?.conditions == c.want)
    }

    @Test func podsWithoutAddressOrFinishedAreLeftOut() {
        let pods = [
            Fixture.pod("pending", ip: nil),
            Fixture.pod("done", ip: "10.244.0.7") { $0.status.phase = "Succeeded" },
            Fixture.pod("failed", ip: "10.244.0.8") { $0.status.phase = "Failed" },
            Fixture.pod("other", ip: "10.244.0.9", labels: ["app": "db"]),
            Fixture.pod("elsewhere", ns: "other", ip: "10.244.0.10"),
            Fixture.pod("ok", ip: "10.244.0.6"),
        ]
        let p = plan([Fixture.service("web")], pods)
        #expect(p.create.flatMap { $0.endpoints ?? [] }.map(\.addresses) == [["10.244.0.6"]])
    }

    @Test func namedTargetPortResolvedPerPod() {
        let svc = Fixture.service("web", ports: [Service.Port(name: "http", port: 80, targetPort: .string("web"))])
        func named(_ port: Int) -> (inout Pod) -> Void {
            { $0.spec.containers[0].ports = [Pod.ContainerPort(name: "web", containerPort: port)] }
        }
        let pods = [
            Fixture.pod("a", ip: "10.244.0.5", named(8080)),
            Fixture.pod("b", ip: "10.244.0.6", named(8080)),
            Fixture.pod("c", ip: "10.244.0.7", named(9090)),
            Fixture.pod("d", ip: "10.244.0.8"),   // no such port: listed without ports
        ]
        let p = plan([svc], pods)
        let byPort = Dictionary(uniqueKeysWithValues: p.create.map { (($0.ports ?? []).first?.port ?? 0, ($0.endpoints ?? []).map { $0.addresses[0] }) })
        #expect(byPort == [8080: ["10.244.0.5", "10.244.0.6"], 9090: ["10.244.0.7"], 0: ["10.244.0.8"]])
    }

    @Test func namedPortMustMatchProtocol() {
        let svc = Fixture.service("dns", ports: [Service.Port(name: "dns", protocol: "UDP", port: 53, targetPort: .string("dns"))])
        let pod = Fixture.pod("a", ip: "10.244.0.5") {
            $0.spec.containers[0].ports = [Pod.ContainerPort(name: "dns", containerPort: 5353, protocol: "TCP"),
                                           Pod.ContainerPort(name: "dns", containerPort: 5354, protocol: "UDP")]
        }
        #expect(plan([svc], [pod]).create.first?.ports == [EndpointSlice.Port(name: "dns", port: 5354, protocol: "UDP")])
    }

    @Test func hostnameOnlyForMatchingSubdomain() {
        let pods = [
            Fixture.pod("a", ip: "10.244.0.5") { $0.spec.hostname = "alpha"; $0.spec.subdomain = "web" },
            Fixture.pod("b", ip: "10.244.0.6") { $0.spec.hostname = "beta"; $0.spec.subdomain = "other" },
            Fixture.pod("c", ip: "10.244.0.7") { $0.spec.subdomain = "web" },
        ]
        let eps = plan([Fixture.service("web")], pods).create.flatMap { $0.endpoints ?? [] }
        #expect(eps.map(\.hostname) == ["alpha", nil, nil])
    }

    @Test func atMost100EndpointsPerSlice() {
        let pods = (0..<250).map { Fixture.pod("p\($0)", ip: "10.244.\($0 / 200).\($0 % 200 + 1)") }
        let p = plan([Fixture.service("web")], pods)
        #expect(p.create.map { $0.endpoints?.count ?? 0 }.sorted() == [50, 100, 100])
        #expect(Set(p.create.map(\.name)).count == 3)
    }

    @Test func steadyStateWritesNothing() {
        let svc = Fixture.service("web")
        let pods = (0..<150).map { Fixture.pod("p\($0)", ip: "10.244.0.\($0 + 1)") }
        let slices = Fixture.applying(plan([svc], pods), to: [])
        #expect(plan([svc], pods, slices).isEmpty)
    }

    @Test func oneNewPodTouchesOneSlice() {
        let svc = Fixture.service("web")
        var pods = (0..<150).map { Fixture.pod("p\($0)", ip: "10.244.0.\($0 + 1)") }
        let slices = Fixture.applying(plan([svc], pods), to: [])
        pods.append(Fixture.pod("new", ip: "10.244.1.1"))
        let p = plan([svc], pods, slices)
        #expect(p.create.isEmpty && p.delete.isEmpty)
        #expect(p.update.count == 1)
        #expect(p.update[0].endpoints?.count == 51)
    }

    @Test func readinessChangeUpdatesOnlyItsSlice() {
        let svc = Fixture.service("web")
        var pods = (0..<150).map { Fixture.pod("p\($0)", ip: "10.244.0.\($0 + 1)") }
        let slices = Fixture.applying(plan([svc], pods), to: [])
        pods[3] = Fixture.pod("p3", ip: "10.244.0.4", ready: false)
        let p = plan([svc], pods, slices)
        #expect(p.update.count == 1 && p.create.isEmpty && p.delete.isEmpty)
        let changed = p.update[0].endpoints?.first { $0.addresses == ["10.244.0.4"] }
        #expect(changed?.conditions?.ready == false)
        // Endpoints keep their place inside the slice.
        let before = slices.first { $0.name == p.update[0].name }?.endpoints?.map(\.addresses)
        #expect(before == p.update[0].endpoints?.map(\.addresses))
    }

    @Test func emptiedSliceIsDeletedOthersUntouched() {
        let svc = Fixture.service("web")
        let pods = (0..<150).map { Fixture.pod("p\($0)", ip: "10.244.0.\($0 + 1)") }
        let slices = Fixture.applying(plan([svc], pods), to: [])
        let small = slices.first { $0.endpoints?.count == 50 }!
        let gone = Set(small.endpoints!.map { $0.addresses[0] })
        let p = plan([svc], pods.filter { !gone.contains($0.status.podIP!) }, slices)
        #expect(p.delete.map(\.name) == [small.name])
        #expect(p.update.isEmpty && p.create.isEmpty)
    }

    @Test func noEndpointsKeepsOnePlaceholder() {
        let p = plan([Fixture.service("web")], [])
        #expect(p.create.count == 1)
        #expect(p.create[0].endpoints == [] && p.create[0].ports == [])
        let slices = Fixture.applying(p, to: [])
        #expect(plan([Fixture.service("web")], [], slices).isEmpty)
        // The first pod replaces the placeholder.
        let q = plan([Fixture.service("web")], [Fixture.pod("a", ip: "10.244.0.5")], slices)
        #expect(q.create.count == 1 && q.delete.map(\.name) == [slices[0].name])
    }

    @Test func serviceDeletedOrSelectorRemovedDeletesSlices() {
        let svc = Fixture.service("web")
        let pods = [Fixture.pod("a", ip: "10.244.0.5")]
        let slices = Fixture.applying(plan([svc], pods), to: [])
        #expect(plan([], pods, slices).delete.count == 1)
        #expect(plan([Fixture.service("web", selector: nil)], pods, slices).delete.count == 1)
        // A re-created Service (new uid) gets fresh slices.
        let recreated = Fixture.service("web", uid: "uid-2")
        let p = plan([recreated], pods, slices)
        #expect(p.delete.count == 1 && p.create.count == 1)
        #expect(p.create[0].metadata.ownerReferences?.first?.uid == "uid-2")
    }

    @Test func slicesOfOthersAreLeftAlone() {
        var handWritten = EndpointSlice()
        handWritten.metadata = ObjectMeta(name: "web-manual", namespace: "default", labels: [EndpointSlice.serviceNameLabel: "web"])
        handWritten.endpoints = [EndpointSlice.Endpoint(addresses: ["10.1.1.1"])]
        let p = plan([Fixture.service("web", selector: nil)], [], [handWritten])
        #expect(p.isEmpty)
    }

    @Test func namesAreStableAcrossRestarts() {
        let svc = Fixture.service("web")
        let pods = (0..<120).map { Fixture.pod("p\($0)", ip: "10.244.0.\($0 + 1)") }
        let first = plan([svc], pods).create.map(\.name).sorted()
        let second = plan([svc], pods).create.map(\.name).sorted()
        #expect(first == second)
        // A name taken by somebody else is skipped.
        var squatter = EndpointSlice()
        squatter.metadata = ObjectMeta(name: first[0], namespace: "default")
        let third = plan([svc], pods, [squatter]).create.map(\.name)
        #expect(!third.contains(first[0]))
    }

    @Test func dualStackServiceGetsOneSlicePerFamily() {
        let svc = Fixture.service("web") { $0.spec.ipFamilies = ["IPv4", "IPv6"] }
        let pod = Fixture.pod("a", ip: "10.244.0.5") { $0.status.podIPs = [.init(ip: "10.244.0.5"), .init(ip: "fd00:10::5")] }
        let p = plan([svc], [pod])
        #expect(Set(p.create.map(\.addressType)) == ["IPv4", "IPv6"])
        let single = plan([Fixture.service("web")], [pod])
        #expect(single.create.map(\.addressType) == ["IPv4"])
    }

    @Test func headlessAndExternalName() {
        let headless = Fixture.service("db", selector: ["app": "web"], ports: []) { $0.spec.clusterIP = "None"; $0.spec.clusterIPs = ["None"] }
        let p = plan([headless], [Fixture.pod("a", ip: "10.244.0.5")])
        #expect(p.create.first?.labels["service.kubernetes.io/headless"] == "")
        let ext = Fixture.service("ext") { $0.spec.type = "ExternalName"; $0.spec.externalName = "example.com" }
        #expect(plan([ext], [Fixture.pod("a", ip: "10.244.0.5")]).isEmpty)
    }
}

@Suite("EndpointSliceMirroring")
struct EndpointSliceMirroringTests {
    func endpoints(_ name: String, ready: [String], notReady: [String] = []) -> Endpoints {
        Fixture.endpoints(name, labels: ["team": "a"], ready: ready, notReady: notReady)
    }

    func plan(_ services: [Service], _ eps: [Endpoints], _ slices: [EndpointSlice] = []) -> SliceReconciler.Plan {
        EndpointSliceSync.planMirroring(Fixture.snapshot(services: services, slices: slices, endpoints: eps), now: "t")
    }

    @Test func mirrorsSelectorlessService() throws {
        let p = plan([Fixture.service("ext", selector: nil)], [endpoints("ext", ready: ["192.0.2.1"], notReady: ["192.0.2.2"])])
        let slice = try #require(p.create.first)
        #expect(slice.labels[EndpointSlice.managedByLabel] == "endpointslicemirroring-controller.k8s.io")
        #expect(slice.labels[EndpointSlice.serviceNameLabel] == "ext")
        #expect(slice.labels["team"] == "a")
        #expect(slice.metadata.ownerReferences?.first?.kind == "Endpoints")
        #expect(slice.endpoints?.map { $0.conditions?.ready } == [true, false])
        #expect(slice.ports == [EndpointSlice.Port(name: "http", port: 8080, protocol: "TCP")])
        let applied = Fixture.applying(p, to: [])
        #expect(plan([Fixture.service("ext", selector: nil)], [endpoints("ext", ready: ["192.0.2.1"], notReady: ["192.0.2.2"])], applied).isEmpty)
    }

    @Test func notMirrored() {
        #expect(plan([Fixture.service("web")], [endpoints("web", ready: ["192.0.2.1"])]).isEmpty)   // has a selector
        #expect(plan([], [endpoints("web", ready: ["192.0.2.1"])]).isEmpty)                          // no Service
        let skip = Fixture.endpoints("ext", labels: [EndpointSliceMirroring.skipMirrorLabel: "true"], ready: ["192.0.2.1"])
        #expect(plan([Fixture.service("ext", selector: nil)], [skip]).isEmpty)
    }

    @Test func endpointsRemovedDeletesMirror() {
        let svc = Fixture.service("ext", selector: nil)
        let slices = Fixture.applying(plan([svc], [endpoints("ext", ready: ["192.0.2.1"])]), to: [])
        #expect(plan([svc], [], slices).delete.count == 1)
    }

    @Test func mixedFamiliesSplit() {
        let p = plan([Fixture.service("ext", selector: nil)], [endpoints("ext", ready: ["192.0.2.1", "2001:db8::1"])])
        #expect(Set(p.create.map(\.addressType)) == ["IPv4", "IPv6"])
    }
}

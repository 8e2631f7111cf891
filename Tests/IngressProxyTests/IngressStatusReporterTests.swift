import ClusterStore
import KubeModel
import Logging
import Testing
@testable import IngressProxy

/// Status written by the reporter: our address on handled Ingresses, taken off the others,
/// nothing at all without an address.
struct IngressStatusReporterTests {
    @Test func setsAndRemovesOurAddress() async throws {
        let store = MemoryStore()
        let ours = LoadBalancerStatus.Ingress(ip: "192.0.2.7")
        let yaml = Fixtures.kplaneClass + Fixtures.service("web") + RouteTableBuildTests.ingress("mine")
            + RouteTableBuildTests.ingress("theirs", className: "nginx", host: "other.example")
        _ = try await store.apply(Fixtures.objects(yaml))
        // "theirs" still carries our address from when it was ours.
        var theirs = try #require(try await store.get(Ingress.self, namespace: "default", name: "theirs"))
        theirs.status.loadBalancer.ingress = [ours, LoadBalancerStatus.Ingress(hostname: "lb.example")]
        _ = try await store.updateStatus(Object(theirs))

        let inputs = RouteInputs(objects: try await RouteInputs.resourceTypes.asyncFlatMap { try await store.list($0, namespace: nil).items })
        let table = RouteTable.build(inputs)
        let reporter = try #require(IngressStatusReporter(store: store, address: "192.0.2.7", logger: Logger(label: "test")))
        let running = Task { await reporter.run() }
        reporter.submit(table, inputs, checking: nil)

        var mine: [LoadBalancerStatus.Ingress]?
        var other: [LoadBalancerStatus.Ingress]?
        for _ in 0..<200 {
            mine = try await store.get(Ingress.self, namespace: "default", name: "mine")?.status.loadBalancer.ingress
            other = try await store.get(Ingress.self, namespace: "default", name: "theirs")?.status.loadBalancer.ingress
            if mine != nil, other?.count == 1 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        running.cancel()
        #expect(mine == [ours])
        #expect(other == [LoadBalancerStatus.Ingress(hostname: "lb.example")])
    }

    @Test func noAddressNoReporter() {
        #expect(IngressStatusReporter(store: MemoryStore(), address: nil, logger: Logger(label: "test")) == nil)
        #expect(IngressStatusReporter(store: MemoryStore(), address: "", logger: Logger(label: "test")) == nil)
    }
}

extension Sequence {
    fileprivate func asyncFlatMap<T>(_ transform: (Element) async throws -> [T]) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out += try await transform(element) }
        return out
    }
}

import ClusterStore
import Controllers
import KubeModel
import Testing

@Suite("LoadBalancer addresses")
struct LoadBalancerAllocatorTests {
    func lb(_ name: String, created: String = "2026-01-01T00:00:00Z", _ edit: (inout Service) -> Void = { _ in }) -> Service {
        Fixture.service(name) {
            $0.spec.type = "LoadBalancer"
            $0.metadata.creationTimestamp = created
            edit(&$0)
        }
    }

    @Test(arguments: [
        ("10.250.0.0/30", ["10.250.0.1", "10.250.0.2"]),
        ("10.250.0.5-10.250.0.7", ["10.250.0.5", "10.250.0.6", "10.250.0.7"]),
        ("10.250.0.8/31, 10.250.0.20-10.250.0.20", ["10.250.0.8", "10.250.0.9", "10.250.0.20"]),
    ])
    func poolParsing(_ text: String, _ want: [String]) throws {
        let pool = try #require(AddressPool(text))
        #expect(pool.addresses(v4: true).map(\.description) == want)
    }

    @Test(arguments: ["", "10.0.0.0/33", "10.0.0.9-10.0.0.1", "10.0.0.1-fd00::1", "nonsense", "10.0.0.1/8"])
    func badPools(_ text: String) {
        #expect(AddressPool(text) == nil)
    }

    @Test func assignsLowestFreeAndKeepsExisting() {
        let allocator = LoadBalancerAllocator(pool: AddressPool("10.250.0.1-10.250.0.3")!)
        let a = lb("a") { $0.status.loadBalancer.ingress = [.init(ip: "10.250.0.2")] }
        let b = lb("b", created: "2026-01-02T00:00:00Z")
        let c = lb("c", created: "2026-01-03T00:00:00Z")
        let d = lb("d", created: "2026-01-04T00:00:00Z")
        let got = allocator.assign([a, b, c, d])
        #expect(got[ServiceKey(namespace: "default", name: "a")] == ["10.250.0.2"])
        #expect(got[ServiceKey(namespace: "default", name: "b")] == ["10.250.0.1"])
        #expect(got[ServiceKey(namespace: "default", name: "c")] == ["10.250.0.3"])
        #expect(got[ServiceKey(namespace: "default", name: "d")] == [])   // pool exhausted: pending
    }

    @Test func stableAcrossRestartAndFreedOnDelete() {
        let allocator = LoadBalancerAllocator(pool: AddressPool("10.250.0.1-10.250.0.3")!)
        var services = [lb("a"), lb("b", created: "2026-01-02T00:00:00Z")]
        // Write the statuses back, as the controller would.
        for u in allocator.statusUpdates(services) { services[services.firstIndex { $0.name == u.name }!] = u }
        #expect(allocator.statusUpdates(services).isEmpty)
        // "a" goes away; a new Service gets the freed address, "b" keeps its own.
        services.removeFirst()
        services.append(lb("c", created: "2026-01-03T00:00:00Z"))
        let got = allocator.assign(services)
        #expect(got[ServiceKey(namespace: "default", name: "b")] == ["10.250.0.2"])
        #expect(got[ServiceKey(namespace: "default", name: "c")] == ["10.250.0.1"])
    }

    @Test func requestedAddressHonoured() {
        let allocator = LoadBalancerAllocator(pool: AddressPool("10.250.0.1-10.250.0.9")!)
        let a = lb("a") { $0.spec.loadBalancerIP = "10.250.0.7" }
        let outside = lb("b") { $0.spec.loadBalancerIP = "192.0.2.1" }
        let clash = lb("c", created: "2026-01-05T00:00:00Z") { $0.spec.loadBalancerIP = "10.250.0.7" }
        let got = allocator.assign([a, outside, clash])
        #expect(got[ServiceKey(namespace: "default", name: "a")] == ["10.250.0.7"])
        #expect(got[ServiceKey(namespace: "default", name: "b")] == [])
        #expect(got[ServiceKey(namespace: "default", name: "c")] == [])
        // A changed request moves the Service.
        let moved = lb("a") { $0.spec.loadBalancerIP = "10.250.0.8"; $0.status.loadBalancer.ingress = [.init(ip: "10.250.0.7")] }
        #expect(allocator.assign([moved])[ServiceKey(namespace: "default", name: "a")] == ["10.250.0.8"])
    }

    @Test func classesAndTypes() {
        let allocator = LoadBalancerAllocator(pool: AddressPool("10.250.0.1-10.250.0.9")!)
        let other = lb("other") { $0.spec.loadBalancerClass = "example.com/lb" }
        let ours = lb("ours") { $0.spec.loadBalancerClass = LoadBalancerAllocator.defaultClass }
        var wasLB = Fixture.service("was")
        wasLB.status.loadBalancer.ingress = [.init(ip: "10.250.0.5")]
        let got = allocator.assign([other, ours, wasLB, Fixture.service("plain")])
        #expect(got[ServiceKey(namespace: "default", name: "other")] == nil)
        #expect(got[ServiceKey(namespace: "default", name: "ours")] == ["10.250.0.1"])
        #expect(got[ServiceKey(namespace: "default", name: "was")] == [])
        #expect(got[ServiceKey(namespace: "default", name: "plain")] == nil)
    }

    @Test func familyFollowsService() {
        let allocator = LoadBalancerAllocator(pool: AddressPool("10.250.0.1-10.250.0.2,fd00:1b::/126")!)
        let v6 = lb("v6") { $0.spec.ipFamilies = ["IPv6"]; $0.spec.clusterIP = "fd00::10" }
        #expect(allocator.assign([v6])[ServiceKey(namespace: "default", name: "v6")] == ["fd00:1b::"])
    }
}

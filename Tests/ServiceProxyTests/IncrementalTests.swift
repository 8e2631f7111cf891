import KubeModel
import ServiceProxy
import Testing

/// The incremental model and ruleset against the full render, for random change sequences
/// over a small universe where Services collide on addresses, ports and health-check ports.
@Suite("Incremental render equals full render")
struct IncrementalTests {
    struct RNG: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// A random cluster state and random edits of it.
    struct World {
        var rng: RNG
        var services: [String: Service] = [:]
        var slices: [String: EndpointSlice] = [:]
        var version = 0
        /// Objects sometimes carry no resourceVersion (then they are compared by value).
        var versioned: Bool

        mutating func pick<T>(_ options: [T]) -> T { options[Int.random(in: 0..<options.count, using: &rng)] }
        mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }
        mutating func stamp(_ meta: inout ObjectMeta) {
            version += 1
            meta.resourceVersion = versioned ? String(version) : nil
        }

        mutating func randomService(_ key: String) -> Service {
            let parts = key.split(separator: "/").map(String.init)
            let ip = pick(["172.30.0.1", "172.30.0.2", "172.30.0.3", "fd00:10:96::1"])
            var ports: [Service.Port] = []
            for i in 0..<Int.random(in: 1...2, using: &rng) {
                ports.append(Service.Port(name: i == 0 ? pick(["", "http"]) : "dns", protocol: pick(["TCP", "UDP", "TCP"]),
                                          port: pick([80, 53, 443]), nodePort: pick([nil, 30001, 30002])))
            }
            let affinity = chance(0.3)
            var s = T.service(parts[0], parts[1], ip: ip, ports: ports) { if affinity { $0.spec.sessionAffinity = "ClientIP" } }
            s.spec.type = pick(["ClusterIP", "NodePort", "LoadBalancer", "LoadBalancer", "ExternalName"])
            if s.type == .externalName { s.spec.externalName = "example.com" }
            if affinity { s.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds = pick([10, 60]) }
            if chance(0.3) { s.spec.externalTrafficPolicy = "Local"; s.spec.healthCheckNodePort = pick([32000, 32001]) }
            if chance(0.2) { s.spec.internalTrafficPolicy = "Local" }
            if chance(0.2) { s.spec.externalIPs = [pick(["192.168.99.1", "192.168.99.2"])] }
            if s.type == .loadBalancer {
                s.status.loadBalancer.ingress = [.init(ip: pick(["1.2.3.4", "5.6.7.8"]))]
                if chance(0.3) { s.spec.loadBalancerSourceRanges = ["203.0.113.0/25"] }
                if chance(0.2) { s.spec.loadBalancerClass = "other.example/lb" }
            }
            stamp(&s.metadata)
            return s
        }

        mutating func randomSlice(_ key: String) -> EndpointSlice {
            let parts = key.split(separator: "/").map(String.init)
            let service = String(parts[1].split(separator: "-")[0])
            let v6 = chance(0.15)
            let eps = (0..<Int.random(in: 0...4, using: &rng)).map { _ in
                T.EP(ip: v6 ? pick(["fd00:10::1", "fd00:10::2"]) : "10.180.0.\(Int.random(in: 1...6, using: &rng))",
                     node: pick([nil, T.nodeName, "node2"]), ready: pick([nil, true, false]), serving: pick([nil, true, false]), terminating: pick([nil, false, true]))
            }
            var s = T.slice(parts[0], service, ports: [(pick(["", "http"]), pick([80, 8080]), "TCP"), ("dns", 53, pick(["UDP", "TCP"]))], eps)
            s.metadata.name = parts[1]
            if chance(0.1) { s.metadata.labels = [:] }
            stamp(&s.metadata)
            return s
        }

        static let serviceKeys = ["a/web", "a/api", "b/web", "b/db", "a-b/web"]
        static let sliceKeys = ["a/web-1", "a/web-2", "a/api-1", "b/web-1", "b/db-1", "a-b/web-1", "a/gone-1"]

        mutating func step() {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<3:
                let key = pick(Self.serviceKeys)
                services[key] = chance(0.2) ? nil : randomService(key)
            case 3:
                // Status-only change (a LoadBalancer address moves).
                if let key = services.keys.sorted().first, var s = services[key], s.type == .loadBalancer {
                    s.status.loadBalancer.ingress = [.init(ip: pick(["1.2.3.4", "5.6.7.8", "9.9.9.9"]))]
                    stamp(&s.metadata)
                    services[key] = s
                }
            default:
                let key = pick(Self.sliceKeys)
                slices[key] = chance(0.15) ? nil : randomSlice(key)
            }
        }

        var serviceList: [Service] { services.keys.sorted().map { services[$0]! } }
        var sliceList: [EndpointSlice] { slices.keys.sorted().map { slices[$0]! } }
    }

    static func flushes(_ old: ProxyModel, _ new: ProxyModel) -> [ConntrackFlush] {
        var changes: [Frontend: IncrementalModel.Change] = [:]
        for fe in Set(old.frontends.keys).union(new.frontends.keys) where old.frontends[fe] != new.frontends[fe] {
            changes[fe] = .init(old: old.frontends[fe], new: new.frontends[fe])
        }
        return ConntrackFlush.stale(changes)
    }

    @Test(arguments: 0..<40)
    func randomChanges(_ seed: Int) {
        var world = World(rng: RNG(state: UInt64(seed)), versioned: seed % 4 != 3)
        var model = IncrementalModel(node: T.node)
        var rules = IncrementalRuleset(node: T.node)
        var full = ProxyModel(node: T.node)
        var fullRules = RulesetBuilder.build(full)
        var first = true
        for step in 0..<60 {
            world.step()
            let services = world.serviceList, slices = world.sliceList
            let delta = model.update(services: services, slices: slices)
            let expected = ProxyModel.build(services: services, slices: slices, node: T.node, previous: full)
            #expect(model.model == expected, "seed \(seed) step \(step): model")
            rules.apply(delta)
            let expectedRules = RulesetBuilder.build(expected)
            #expect(rules.ruleset == expectedRules, "seed \(seed) step \(step): ruleset")
            let tx = rules.transaction(replacing: false)
            if first {
                #expect(tx == expectedRules.fullTransaction(replacing: false))
            } else {
                #expect(tx == RulesetDiff.transaction(from: fullRules, to: expectedRules), "seed \(seed) step \(step): transaction")
                #expect(ConntrackFlush.stale(delta.frontends) == Self.flushes(full, expected), "seed \(seed) step \(step): conntrack")
            }
            #expect(delta.loadBalancerIPsChanged == (model.model.loadBalancerIPs != full.loadBalancerIPs) || first)
            rules.commit()
            first = false
            full = expected
            fullRules = expectedRules
            // Nothing changed: nothing to do.
            let again = model.update(services: services, slices: slices)
            #expect(again.isEmpty && again.servicesRendered == 0)
            rules.apply(again)
            #expect(rules.transaction(replacing: false) == nil)
        }
    }

    /// Two Services on one ClusterIP: when the first goes, the second takes the frontend over
    /// with slots that follow the first's latest ones (as a full render would), even though
    /// the second Service itself did not change.
    @Test func frontendPassingToAnotherServiceKeepsSlots() {
        let a = T.service("a", "x", ip: "172.30.0.1"), b = T.service("b", "y", ip: "172.30.0.1")
        let eps = { (svc: String, ns: String, ips: [Int], rv: String) -> EndpointSlice in
            var s = T.slice(ns, svc, ips.map { T.EP(ip: "10.180.0.\($0)") })
            s.metadata.resourceVersion = rv
            return s
        }
        var model = IncrementalModel(node: T.node)
        var full = ProxyModel(node: T.node)
        let steps: [([Service], [EndpointSlice])] = [
            ([a, b], [eps("x", "a", [1, 2, 3], "1"), eps("y", "b", [2, 3, 5], "2")]),
            ([a, b], [eps("x", "a", [2, 3], "3"), eps("y", "b", [2, 3, 5], "2")]),
            ([b], [eps("y", "b", [2, 3, 5], "2")]),
        ]
        for (services, slices) in steps {
            _ = model.update(services: services, slices: slices)
            full = ProxyModel.build(services: services, slices: slices, node: T.node, previous: full)
            #expect(model.model == full)
        }
        let backends = full.frontends[Frontend(ip: IPAddress("172.30.0.1")!, proto: .tcp, port: 80)]?.backends.map(\.ip.description)
        #expect(backends == ["10.180.0.3", "10.180.0.2", "10.180.0.5"])
    }

    @Test func oneChangedSliceRendersOneService() {
        let (services, slices) = RulesetDiffTests.services(200)
        let stamped = { (list: [EndpointSlice]) in list.enumerated().map { i, s in var s = s; s.metadata.resourceVersion = "v\(i)"; return s } }
        var model = IncrementalModel(node: T.node)
        var rules = IncrementalRuleset(node: T.node)
        var slices2 = stamped(slices)
        rules.apply(model.update(services: services, slices: slices2))
        rules.commit()
        slices2[7] = T.slice("ns", "s7", [T.EP(ip: "10.1.0.8"), T.EP(ip: "10.9.9.9")])
        slices2[7].metadata.resourceVersion = "changed"
        slices2[7].metadata.annotations = ["endpoints.kubernetes.io/last-change-trigger-time": "2026-11-27T16:00:00.5Z"]
        let delta = model.update(services: services, slices: slices2)
        #expect(delta.servicesRendered == 1)
        #expect(delta.frontends.count == 1)
        #expect(delta.triggerTimes == ["2026-11-27T16:00:00.5Z"])
        rules.apply(delta)
        let tx = rules.transaction(replacing: false) ?? ""
        #expect(tx.contains("add element inet kplane backends4 { 172.30.0.8 . tcp . 80 . 1 : 10.9.9.9 . 80 }"), "\(tx)")
    }

    @Test func loadBalancerAddressesOfThisNodesClassOnly() {
        let lb = { (name: String, ip: String, cls: String?) in
            T.service("ns", name, ip: "172.30.0.\(name.count)") {
                $0.spec.type = "LoadBalancer"
                $0.spec.loadBalancerClass = cls
                $0.status.loadBalancer.ingress = [.init(ip: ip)]
            }
        }
        let model = ProxyModel.build(services: [lb("a", "10.250.0.1", nil), lb("bb", "10.250.0.2", NodeConfig.defaultLoadBalancerClass),
                                                lb("ccc", "10.250.0.3", "other.example/lb")], slices: [], node: T.node)
        #expect(model.loadBalancerIPs == [IPAddress("10.250.0.1")!, IPAddress("10.250.0.2")!])
        // The foreign class's address is still DNATed (as kube-proxy does), only not held here.
        #expect(model.frontends[Frontend(ip: IPAddress("10.250.0.3")!, proto: .tcp, port: 80)] != nil)
    }
}

import KubeModel
import ServiceProxy
import Testing

@Suite("Incremental transactions")
struct RulesetDiffTests {
    static func services(_ n: Int, endpoints: Int = 2) -> ([Service], [EndpointSlice]) {
        var services: [Service] = [], slices: [EndpointSlice] = []
        for i in 0..<n {
            services.append(T.service("ns", "s\(i)", ip: "172.30.\(i / 250).\(i % 250 + 1)"))
            slices.append(T.slice("ns", "s\(i)", (0..<endpoints).map { T.EP(ip: "10.1.\(i / 250 * 10 + $0).\(i % 250 + 1)") }))
        }
        return (services, slices)
    }

    func lines(_ text: String?) -> [String] { (text ?? "").split(separator: "\n").map(String.init) }

    @Test func noChangeNoTransaction() {
        let (svcs, slices) = Self.services(5)
        let a = RulesetBuilder.build(ProxyModel.build(services: svcs, slices: slices, node: T.node))
        #expect(RulesetDiff.transaction(from: a, to: a) == nil)
    }

    @Test func addingAServiceTouchesOnlyElements() {
        let (svcs, slices) = Self.services(20)
        let old = ProxyModel.build(services: Array(svcs.dropLast()), slices: Array(slices.dropLast()), node: T.node)
        let new = ProxyModel.build(services: svcs, slices: slices, node: T.node, previous: old)
        let tx = lines(RulesetDiff.transaction(from: RulesetBuilder.build(old), to: RulesetBuilder.build(new)))
        #expect(!tx.isEmpty)
        #expect(tx.allSatisfy { $0.hasPrefix("add element inet kplane ") }, "\(tx)")
        #expect(tx.contains { $0.contains("backends4") && $0.contains("172.30.0.20 . tcp . 80 . 0 : ") })
    }

    @Test func changingAnEndpointReplacesOneMapElement() {
        let (svcs, slices) = Self.services(10)
        let old = ProxyModel.build(services: svcs, slices: slices, node: T.node)
        var changed = slices
        changed[3] = T.slice("ns", "s3", [T.EP(ip: "10.1.0.4"), T.EP(ip: "10.9.9.9")])
        let new = ProxyModel.build(services: svcs, slices: changed, node: T.node, previous: old)
        let tx = lines(RulesetDiff.transaction(from: RulesetBuilder.build(old), to: RulesetBuilder.build(new)))
        #expect(tx.contains("delete element inet kplane backends4 { 172.30.0.4 . tcp . 80 . 1 }"), "\(tx)")
        #expect(tx.contains("add element inet kplane backends4 { 172.30.0.4 . tcp . 80 . 1 : 10.9.9.9 . 80 }"))
        #expect(tx.contains("delete element inet kplane hairpin4 { 10.1.1.4 . 10.1.1.4 }"))
        #expect(!tx.contains { $0.hasPrefix("flush") || $0.contains("chain") })
    }

    @Test func newEndpointCountAddsASetAndRefillsOneChain() {
        let (svcs, slices) = Self.services(3)
        let old = ProxyModel.build(services: svcs, slices: slices, node: T.node)
        var changed = slices
        changed[0] = T.slice("ns", "s0", (1...5).map { T.EP(ip: "10.2.0.\($0)") })
        let new = ProxyModel.build(services: svcs, slices: changed, node: T.node, previous: old)
        let tx = lines(RulesetDiff.transaction(from: RulesetBuilder.build(old), to: RulesetBuilder.build(new)))
        #expect(tx.contains("flush chain inet kplane services4"))
        #expect(tx.contains { $0.hasPrefix("add set inet kplane slots4-5 ") })
        #expect(!tx.contains { $0.contains("nat-prerouting") })
        // The last service with 2 endpoints leaving removes the set.
        let back = ProxyModel.build(services: [svcs[0]], slices: [changed[0]], node: T.node, previous: new)
        let tx2 = lines(RulesetDiff.transaction(from: RulesetBuilder.build(new), to: RulesetBuilder.build(back)))
        #expect(tx2.contains("delete set inet kplane slots4-2"))
        #expect(tx2.firstIndex(of: "flush chain inet kplane services4")! < tx2.firstIndex(of: "delete set inet kplane slots4-2")!)
    }

    @Test func fullTransactionReplacesLeftovers() {
        let (svcs, slices) = Self.services(2)
        let text = RulesetBuilder.build(ProxyModel.build(services: svcs, slices: slices, node: T.node)).fullTransaction(replacing: true)
        let l = lines(text)
        #expect(l[0] == "add table inet kplane" && l[1] == "delete table inet kplane")
        #expect(l.contains("add chain inet kplane nat-prerouting { type nat hook prerouting priority -100 ; }"))
        #expect(l.contains("add rule inet kplane services4 meta l4proto tcp dnat ip to ip daddr . meta l4proto . th dport . meta mark map @backends4"))
    }

    @Test(arguments: [
        ([1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]),
        ([1, 2, 3, 4], [1, 2, 4], [1, 2, 4]),        // last moves into the hole
        ([1, 2, 3, 4], [2, 3, 4], [4, 2, 3]),
        ([1, 2, 3], [1, 3, 5], [1, 5, 3]),           // newcomer fills the hole
        ([1, 2], [1, 2, 9, 7], [1, 2, 7, 9]),
        ([], [3, 1, 2], [1, 2, 3]),
        ([1, 2, 3, 4, 5], [1], [1]),
    ])
    func stableSlots(_ previous: [Int], _ current: [Int], _ want: [Int]) {
        func b(_ i: Int) -> Backend { Backend(ip: IPAddress("10.0.0.\(i)")!, port: 80) }
        let svc = T.service("ns", "s", ip: "172.30.0.1")
        let old = ProxyModel.build(services: [svc], slices: [T.slice("ns", "s", previous.map { T.EP(ip: "10.0.0.\($0)") })], node: T.node)
        // Force the previous order (the builder sorts a fresh list).
        var seeded = old
        if let fe = old.frontends.keys.first { seeded.frontends[fe]!.backends = previous.map(b) }
        let new = ProxyModel.build(services: [svc], slices: [T.slice("ns", "s", current.map { T.EP(ip: "10.0.0.\($0)") })], node: T.node, previous: seeded)
        #expect(new.frontends.values.first?.backends == want.map(b))
    }
}

import KubeModel
@testable import NetworkPolicy
import Testing

/// The nftables rendering: a fixed skeleton, disjoint interval elements, stable class
/// numbers, and incremental transactions that touch elements only.
@Suite struct PolicyRulesetTests {
    static func rules(_ text: String) -> [String] { text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("add rule") || $0.hasPrefix("add chain") } }

    @Test func skeletonDoesNotDependOnInputs() {
        var numbers = PolicyRulesetBuilder.ClassNumbers()
        let empty = PolicyRulesetBuilder.build(NetpolCluster(pods: []).model, numbers: &numbers)
        var c = NetpolCluster(pods: ["x/a", "x/b", "y/a"])
        c.apply(policy("deny", ingress: [], egress: []))
        c.apply(policy("allow", select: sel(["pod": "a"]), ingress: [from(nsPeer(sel()), ports: [port(80)])]))
        let full = PolicyRulesetBuilder.build(c.model, numbers: &numbers)
        #expect(Self.rules(empty.fullTransaction(replacing: false)) == Self.rules(full.fullTransaction(replacing: false)))
        let text = full.fullTransaction(replacing: true)
        #expect(text.hasPrefix("add table inet kplane-policy\ndelete table inet kplane-policy\n"))
        #expect(text.contains("add rule inet kplane-policy filter-forward ct state established,related accept\nadd rule inet kplane-policy filter-forward ip saddr . ip daddr @self4 accept"))
        #expect(text.contains("add counter inet kplane-policy in/x/deny"))
        #expect(text.contains("add counter inet kplane-policy eg/x/deny"))
        #expect(!text.contains("in/x/allow-nothing"))
    }

    @Test func elementsOfOneClass() {
        var c = NetpolCluster(pods: ["x/a", "x/b", "y/a"])
        c.apply(policy("allow", select: sel(["pod": "a"]), ingress: [from(nsPeer(sel()), ports: [port(80), port(81, "UDP")]), from(ipPeer("192.0.2.0/24", except: ["192.0.2.128/25"]))]))
        var numbers = PolicyRulesetBuilder.ClassNumbers()
        let rs = PolicyRulesetBuilder.build(c.model, numbers: &numbers)
        #expect(rs.classes[.ingress] == [IPAddress("10.244.1.1")!: 1])
        #expect(rs.counterOf[.ingress] == [1: "in/x/allow"])
        #expect(Set(rs.allow[.ingress]!.map(\.text)) == [
            "1 . 10.244.1.1-10.244.1.2 . 6 . 80", "1 . 10.244.1.1-10.244.1.2 . 17 . 81",
            "1 . 10.244.2.1 . 6 . 80", "1 . 10.244.2.1 . 17 . 81",
            "1 . 192.0.2.0-192.0.2.127 . 0-255 . 0-65535",
        ])
        #expect(rs.classes[.egress]!.isEmpty)
    }

    @Test func disjointSplitsOverlapsAndMergesNeighbours() {
        let a = AddressRange(CIDR("10.0.0.0/24")!), b = AddressRange(CIDR("10.0.0.128/25")!), one = AddressRange(IPAddress("10.0.1.0")!)
        let out = PolicyRulesetBuilder.disjoint([(a, PortSet(.tcp, 80...80)), (b, PortSet(.tcp, 81...81)), (one, PortSet(.tcp, 80...81)), (.all(v4: false), .all)])
        #expect(out.map { "\($0.0) \($0.1)" } == [
            "10.0.0.0-10.0.0.127 80/TCP",
            "10.0.0.128-10.0.1.0 80-81/TCP",
            ":: -ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff all ports".replacingOccurrences(of: " -", with: "-"),
        ])
    }

    @Test func labelChangeTouchesElementsOnlyAndKeepsClassNumbers() throws {
        var c = NetpolCluster(pods: ["x/a", "x/b", "x/c", "y/a"])
        c.apply(policy("deny", ingress: []))
        c.apply(policy("web", select: sel(["app": "web"]), ingress: [from(podPeer(sel(["pod": "b"])), ports: [port(80)])]))
        var numbers = PolicyRulesetBuilder.ClassNumbers()
        let before = PolicyRulesetBuilder.build(c.model, numbers: &numbers)
        c.labelPod("x/c", ["app": "web"])
        let after = PolicyRulesetBuilder.build(c.model, numbers: &numbers)
        let diff = try #require(after.transaction(from: before))
        #expect(diff.split(separator: "\n").allSatisfy { $0.hasPrefix("add element") || $0.hasPrefix("delete element") }, "\(diff)")
        #expect(diff.contains("delete element inet kplane-policy ingress-class4 { 10.244.1.3 : 1 }"), "\(diff)")
        #expect(diff.contains("add element inet kplane-policy ingress-class4 { 10.244.1.3 : 2 }"), "\(diff)")
        #expect(before.classes[.ingress]![IPAddress("10.244.1.1")!] == after.classes[.ingress]![IPAddress("10.244.1.1")!])
        #expect(after.transaction(from: after) == nil)
        // A new policy adds its counter with its elements; deleting it removes both.
        c.apply(policy("eg", "y", egress: [to(ports: [port(53, "UDP")])]))
        let third = PolicyRulesetBuilder.build(c.model, numbers: &numbers)
        let add = try #require(third.transaction(from: after))
        #expect(add.contains("add counter inet kplane-policy eg/y/eg\n"))
        #expect(add.contains("add element inet kplane-policy egress-counters { 1 : \"eg/y/eg\" }"))
        let back = try #require(after.transaction(from: third))
        let lines = back.split(separator: "\n").map(String.init)
        let mapLine = try #require(lines.firstIndex { $0.contains("delete element inet kplane-policy egress-counters") })
        let counterLine = try #require(lines.firstIndex { $0 == "delete counter inet kplane-policy eg/y/eg" })
        #expect(mapLine < counterLine)
    }

    @Test func namedPortsGiveDifferentClassesWhenTheyResolveDifferently() {
        var c = NetpolCluster(pods: ["x/a", "x/b"], ports: [80], protocols: [.tcp])
        c.pods[1].spec.containers[0].ports = [.init(name: "serve-80-tcp", containerPort: 8080, protocol: "TCP")]
        c.apply(policy("named", ingress: [from(ports: [port("serve-80-tcp")])]))
        var numbers = PolicyRulesetBuilder.ClassNumbers()
        let rs = PolicyRulesetBuilder.build(c.model, numbers: &numbers)
        let a = rs.classes[.ingress]![IPAddress("10.244.1.1")!]!, b = rs.classes[.ingress]![IPAddress("10.244.1.2")!]!
        #expect(a != b)
        #expect(rs.admits(source: IPAddress("192.0.2.1")!, destination: IPAddress("10.244.1.2")!, proto: 6, port: 8080))
        #expect(!rs.admits(source: IPAddress("192.0.2.1")!, destination: IPAddress("10.244.1.2")!, proto: 6, port: 80))
        #expect(rs.admits(source: IPAddress("192.0.2.1")!, destination: IPAddress("10.244.1.1")!, proto: 6, port: 80))
    }
}

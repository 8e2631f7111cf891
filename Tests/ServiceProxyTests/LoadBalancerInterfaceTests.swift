import KubeModel
import ServiceProxy
import Testing

/// `LoadBalancerInterface` against a recording `ip`: what it runs, without a kernel.
@Suite("LoadBalancer interface commands")
struct LoadBalancerInterfaceTests {
    actor FakeIP {
        var calls: [String] = []
        var links: [String: [String]] = [:]   // name -> "inet A/32" lines
        let dummySupported: Bool
        init(dummySupported: Bool, existing: [String: [String]] = [:]) {
            self.dummySupported = dummySupported
            links = existing
        }

        func run(_ args: [String], _ input: String?) -> LoadBalancerInterface.CommandOutput {
            calls.append(args.joined(separator: " ") + (input.map { " <<" + $0.replacingOccurrences(of: "\n", with: ";") } ?? ""))
            switch Array(args.prefix(3)) {
            case ["-o", "address", "show"]:
                guard let lines = links[args[4]] else { return .init(status: 1, output: "", error: "Device \"\(args[4])\" does not exist.") }
                return .init(status: 0, output: lines.map { "5: \(args[4])    \($0) scope global \(args[4])\\       valid_lft forever" }.joined(separator: "\n"), error: "")
            case ["link", "add", args.count > 2 ? args[2] : ""]:
                if args.last == "dummy" && !dummySupported { return .init(status: 2, output: "", error: "Error: Unknown device type.") }
                links[args[2]] = []
                return .init(status: 0, output: "", error: "")
            case ["link", "del", args.count > 2 ? args[2] : ""]:
                return links.removeValue(forKey: args[2]) == nil ? .init(status: 1, output: "", error: "Cannot find device \"\(args[2])\"") : .init(status: 0, output: "", error: "")
            default:
                return .init(status: 0, output: "", error: "")
            }
        }
    }

    static func ips(_ list: [String]) -> Set<IPAddress> { Set(list.map { IPAddress($0)! }) }

    @Test func interfaceCommands() {
        let ips = { (list: [String]) in Set(list.map { IPAddress($0)! }) }
        #expect(LoadBalancerInterface.commands(name: "kplane-lb", current: ips(["10.250.0.1", "10.250.0.2"]), desired: ips(["10.250.0.2", "10.250.0.3", "fd00::1"])) == [
            "address del 10.250.0.1/32 dev kplane-lb",
            "address replace 10.250.0.3/32 dev kplane-lb",
            "address replace fd00::1/128 dev kplane-lb",
        ])
        #expect(LoadBalancerInterface.commands(name: "kplane-lb", current: ips(["10.250.0.1"]), desired: ips(["10.250.0.1"])).isEmpty)
    }

    @Test func createsFallsBackToABridgeAndFollowsTheSet() async throws {
        let ip = FakeIP(dummySupported: false)
        let lb = LoadBalancerInterface(ip: { args, input in await ip.run(args, input) })
        try await lb.sync(Self.ips(["10.250.0.2", "10.250.0.1"]))
        try await lb.sync(Self.ips(["10.250.0.1", "10.250.0.3"]))
        try await lb.sync(Self.ips(["10.250.0.1", "10.250.0.3"]))
        try await lb.remove()
        try await lb.remove()   // already gone: fine
        #expect(await ip.calls == [
            "-o address show dev kplane-lb",
            "link add kplane-lb type dummy",
            "link add kplane-lb type bridge",
            "link set kplane-lb up",
            "-force -batch - <<address replace 10.250.0.1/32 dev kplane-lb;address replace 10.250.0.2/32 dev kplane-lb;",
            "-force -batch - <<address del 10.250.0.2/32 dev kplane-lb;address replace 10.250.0.3/32 dev kplane-lb;",
            "link del kplane-lb",
            "link del kplane-lb",
        ])
    }

    @Test func takesOverAddressesLeftByACrash() async throws {
        let ip = FakeIP(dummySupported: true, existing: ["kplane-lb": ["inet 10.250.0.7/32", "inet 10.250.0.1/32", "inet6 fe80::1/64 scope link"]])
        let lb = LoadBalancerInterface(ip: { args, input in await ip.run(args, input) })
        try await lb.sync(Self.ips(["10.250.0.1"]))
        #expect(await ip.calls == [
            "-o address show dev kplane-lb",
            "link set kplane-lb up",
            "-force -batch - <<address del 10.250.0.7/32 dev kplane-lb;",
        ])
    }
}

import Foundation
import KubeModel
import ServiceProxy
import Testing

/// Real packets through real nftables, entirely inside network namespaces this test makes
/// (a "node" namespace with a bridge and three "pod" namespaces, and a client namespace
/// outside the bridge). Nothing touches the host's network. Root only.
@Suite("End to end (root, network namespaces)", .serialized)
struct EndToEndTests {
    static let skipReason: String? = {
        if geteuid() != 0 { return "not root" }
        for tool in ["ip", "nft", "python3"] where Sandbox.which(tool) == nil { return "\(tool) missing" }
        return nil
    }()

    @Test(.enabled(if: skipReason == nil, "needs root, ip, nft and python3"))
    func servicesOnTheWire() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        try sandbox.build()

        let node = NodeConfig(nodeName: "node-a", nodeIPs: [IPAddress(Sandbox.nodeIP)!], podCIDRs: [CIDR("10.244.0.0/24")!], serviceCIDRs: [CIDR("10.96.0.0/16")!])
        let lbInterface = { LoadBalancerInterface(ip: { args, input in
            let r = try await sandbox.run(["ip", "netns", "exec", sandbox.nodeNS, "ip"] + args, input: input)
            return .init(status: r.status, output: r.output, error: r.error)
        }) }
        let syncer = ProxySyncer(node: node, execute: { script in
            let r = try await sandbox.run(["ip", "netns", "exec", sandbox.nodeNS, "nft", "-f", "-"], input: script)
            guard r.status == 0 else { throw ProxyError(.nftFailed, r.error) }
        }, conntrack: { args in
            _ = try? await sandbox.run(["ip", "netns", "exec", sandbox.nodeNS, "conntrack"] + args)
        }, addresses: lbInterface())

        func svc(_ name: String, _ ip: String, port: Int = 80, target: Int = 8080, proto: String = "TCP", nodePort: Int? = nil, _ edit: (inout Service) -> Void = { _ in }) -> Service {
            var s = Service()
            s.metadata = ObjectMeta(name: name, namespace: "default")
            s.spec.clusterIP = ip
            s.spec.clusterIPs = [ip]
            s.spec.ports = [Service.Port(name: "p", protocol: proto, port: port, targetPort: .int(target), nodePort: nodePort)]
            edit(&s)
            s.setDefaults()
            return s
        }
        func slice(_ svc: String, _ pods: [Int], port: Int = 8080, proto: String = "TCP", ready: (Int) -> Bool = { _ in true }) -> EndpointSlice {
            var s = EndpointSlice()
            s.metadata = ObjectMeta(name: svc, namespace: "default", labels: [EndpointSlice.serviceNameLabel: svc])
            s.metadata.resourceVersion = UUID().uuidString
            s.ports = [EndpointSlice.Port(name: "p", port: port, protocol: proto)]
            s.endpoints = pods.map { EndpointSlice.Endpoint(addresses: [Sandbox.podIP($0)], conditions: .init(ready: ready($0), serving: ready($0), terminating: false), nodeName: "node-a") }
            return s
        }
        let services = [
            svc("web", "10.96.0.10", nodePort: 30080) { $0.spec.type = "NodePort" },
            svc("sticky", "10.96.0.11") { $0.spec.sessionAffinity = "ClientIP" },
            svc("empty", "10.96.0.12"),
            svc("lb-local", "10.96.0.13", nodePort: 30081) {
                $0.spec.type = "LoadBalancer"; $0.spec.externalTrafficPolicy = "Local"; $0.status.loadBalancer.ingress = [.init(ip: "10.250.0.1")]
            },
            svc("lb-cluster", "10.96.0.14", nodePort: 30082) { $0.spec.type = "LoadBalancer"; $0.status.loadBalancer.ingress = [.init(ip: "10.250.0.2")] },
            svc("dns", "10.96.0.15", port: 53, target: 5353, proto: "UDP"),
            svc("self", "10.96.0.16"),
        ]
        var slices = [slice("web", [1, 2, 3]), slice("sticky", [1, 2, 3]), slice("lb-local", [1]), slice("lb-cluster", [2]),
                      slice("dns", [1], port: 5353, proto: "UDP"), slice("self", [1])]
        let first = try await syncer.sync(services: services, slices: slices)
        #expect(first.full && first.changed)

        // ClusterIP from a pod: 300 connections spread over 3 endpoints.
        let spread = try await sandbox.client(pod: 1, "tcp", "10.96.0.10", 80, count: 300)
        let counts = Dictionary(grouping: spread.map { $0.split(separator: " ").first.map(String.init) ?? $0 }, by: { $0 }).mapValues(\.count)
        #expect(Set(counts.keys) == ["p1", "p2", "p3"], "\(counts)")
        for (_, n) in counts { #expect(n >= 60 && n <= 135, "share \(n)/300 outside 20-45 %: \(counts)") }
        // Pod clients keep their address.
        #expect(spread.allSatisfy { $0.hasSuffix(" " + Sandbox.podIP(1)) || $0.hasPrefix("p1 ") })

        // Affinity pins one client.
        let pinned = Set(try await sandbox.client(pod: 2, "tcp", "10.96.0.11", 80, count: 30).map { String($0.split(separator: " ")[0]) })
        #expect(pinned.count == 1, "\(pinned)")

        // No endpoints: refused at once.
        let clock = ContinuousClock()
        let t0 = clock.now
        let refused = try await sandbox.client(pod: 1, "tcp", "10.96.0.12", 80, count: 1)
        // REFUSED (not TIMEOUT) is the proof of an immediate reject; the wall-clock bound only
        // guards against a client that waited out its timeout, with room for a busy machine.
        #expect(refused == ["REFUSED"])
        #expect(clock.now - t0 < .seconds(5))
        let unknownPort = try await sandbox.client(pod: 1, "tcp", "10.96.0.10", 81, count: 1)
        #expect(unknownPort == ["REFUSED"])

        // NodePort on the node address, from a client outside the bridge.
        let np = try await sandbox.client(outside: "tcp", Sandbox.nodeIP, 30080, count: 3)
        #expect(np.count == 3 && np.allSatisfy { $0.hasPrefix("p") && $0.hasSuffix(" 10.244.0.1") }, "\(np)")
        // LoadBalancer address, externalTrafficPolicy Local: the server sees the client itself.
        #expect(try await sandbox.client(outside: "tcp", "10.250.0.1", 80, count: 2) == ["p1 \(Sandbox.clientIP)", "p1 \(Sandbox.clientIP)"])
        // LoadBalancer address, Cluster policy: masqueraded to the node.
        #expect(try await sandbox.client(outside: "tcp", "10.250.0.2", 80, count: 1) == ["p2 10.244.0.1"])

        // The node itself reaches LoadBalancer addresses: they are on kplane-lb, and the nat
        // output hook sends them on (masqueraded, so the endpoint answers through the bridge).
        let lbAddresses = try await sandbox.run(["ip", "netns", "exec", sandbox.nodeNS, "ip", "-o", "address", "show", "dev", "kplane-lb"]).output
        #expect(lbAddresses.contains("10.250.0.1/32") && lbAddresses.contains("10.250.0.2/32"), "\(lbAddresses)")
        #expect(try await sandbox.client(node: "tcp", "10.250.0.2", 80, count: 2) == ["p2 10.244.0.1", "p2 10.244.0.1"])
        #expect(try await sandbox.client(node: "tcp", "10.250.0.1", 80, count: 1) == ["p1 10.244.0.1"])
        // Routed clients still reach them (now as local addresses of the node).
        #expect(try await sandbox.client(outside: "tcp", "10.250.0.2", 80, count: 1) == ["p2 10.244.0.1"])

        // Hairpin: a pod reaches itself through its Service (masqueraded).
        #expect(try await sandbox.client(pod: 1, "tcp", "10.96.0.16", 80, count: 1) == ["p1 10.244.0.1"])

        // An endpoint that turns unready stops getting new connections within 1 s.
        slices[0] = slice("web", [1, 2, 3], ready: { $0 != 3 })
        let t1 = clock.now
        let report = try await syncer.sync(services: services, slices: slices)
        #expect(!report.full && report.changed)
        let after = try await sandbox.client(pod: 2, "tcp", "10.96.0.10", 80, count: 60)
        #expect(clock.now - t1 < .seconds(10))
        #expect(!after.contains { $0.hasPrefix("p3") } && after.count == 60, "\(after)")

        // UDP keeps answering after its endpoint is replaced (same client socket, like a resolver).
        #expect(try await sandbox.client(pod: 2, "udp", "10.96.0.15", 53, count: 2, sourcePort: 40000).map { String($0.split(separator: " ")[0]) } == ["p1", "p1"])
        slices[4] = slice("dns", [3], port: 5353, proto: "UDP")
        let udpReport = try await syncer.sync(services: services, slices: slices)
        #expect(udpReport.conntrackFlushes >= 1)
        #expect(try await sandbox.client(pod: 2, "udp", "10.96.0.15", 53, count: 2, sourcePort: 40000).map { String($0.split(separator: " ")[0]) } == ["p3", "p3"])

        // A LoadBalancer Service going away takes its address off the interface.
        let remaining = services.filter { $0.name != "lb-cluster" }
        _ = try await syncer.sync(services: remaining, slices: slices)
        let afterDelete = try await sandbox.run(["ip", "netns", "exec", sandbox.nodeNS, "ip", "-o", "address", "show", "dev", "kplane-lb"]).output
        #expect(afterDelete.contains("10.250.0.1/32") && !afterDelete.contains("10.250.0.2/32"), "\(afterDelete)")

        // A crash leaves the table and the interface: a fresh syncer replaces the table in one
        // transaction and takes the interface's addresses over.
        let restarted = ProxySyncer(node: node, execute: { script in
            let r = try await sandbox.run(["ip", "netns", "exec", sandbox.nodeNS, "nft", "-f", "-"], input: script)
            guard r.status == 0 else { throw ProxyError(.nftFailed, r.error) }
        }, conntrack: { _ in }, addresses: lbInterface())
        #expect(try await restarted.sync(services: services, slices: slices).full)
        #expect(try await sandbox.client(pod: 1, "tcp", "10.96.0.16", 80, count: 1) == ["p1 10.244.0.1"])
        #expect(try await sandbox.client(node: "tcp", "10.250.0.2", 80, count: 1) == ["p2 10.244.0.1"])

        // Stopping removes the table and the interface.
        try await restarted.removeTable()
        let tables = try await sandbox.run(["ip", "netns", "exec", sandbox.nodeNS, "nft", "list", "tables"])
        #expect(!tables.output.contains("kplane"))
        let link = try await sandbox.run(["ip", "netns", "exec", sandbox.nodeNS, "ip", "link", "show", "kplane-lb"])
        #expect(link.status != 0, "kplane-lb is still there: \(link.output)")
    }
}

/// The namespaces, links and servers of one end-to-end run; `tearDown` removes all of it.
final class Sandbox: @unchecked Sendable {
    // @unchecked: `pids` is only touched from the test's own sequential code.
    static let nodeIP = "192.168.50.1"
    static let clientIP = "192.168.50.2"
    static func podIP(_ i: Int) -> String { "10.244.0.\(10 + i)" }

    let id = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    var nodeNS: String { "kpn-\(id)" }
    var clientNS: String { "kpc-\(id)" }
    func podNS(_ i: Int) -> String { "kpp\(i)-\(id)" }
    let dir: URL
    var pids: [Int32] = []

    static func which(_ tool: String) -> String? {
        ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin"].map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
            ?? (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kplane-e2e-\(id)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Sandbox.server.write(to: dir.appendingPathComponent("server.py"), atomically: true, encoding: .utf8)
        try Sandbox.client.write(to: dir.appendingPathComponent("client.py"), atomically: true, encoding: .utf8)
    }

    struct Result { var status: Int32; var output: String; var error: String }

    @discardableResult
    func run(_ args: [String], input: String? = nil) async throws -> Result {
        try await Task.detached { try self.runSync(args, input: input) }.value
    }

    @discardableResult
    func runSync(_ args: [String], input: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Sandbox.which(args[0]) ?? args[0])
        p.arguments = Array(args.dropFirst())
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        let data = Data((input ?? "").utf8)
        Thread.detachNewThread { inp.fileHandleForWriting.write(data); try? inp.fileHandleForWriting.close() }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, output: String(decoding: o, as: UTF8.self), error: String(decoding: e, as: UTF8.self))
    }

    func must(_ args: [String]) throws {
        let r = try runSync(args)
        guard r.status == 0 else { throw ProxyError(.nftFailed, "\(args.joined(separator: " ")): \(r.error)") }
    }

    func inNS(_ ns: String, _ args: [String]) -> [String] { ["ip", "netns", "exec", ns] + args }

    func build() throws {
        try must(["ip", "netns", "add", nodeNS])
        try must(["ip", "netns", "add", clientNS])
        let n = { (args: [String]) in try self.must(self.inNS(self.nodeNS, args)) }
        try n(["ip", "link", "set", "lo", "up"])
        try n(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        try n(["ip", "link", "add", "kplane0", "type", "bridge"])
        try n(["ip", "addr", "add", "10.244.0.1/24", "dev", "kplane0"])
        try n(["ip", "link", "set", "kplane0", "up"])
        // Bridged replies between pods must pass conntrack to be un-NATed.
        _ = try? runSync(inNS(nodeNS, ["sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1"]))
        for i in 1...3 {
            let ns = podNS(i)
            try must(["ip", "netns", "add", ns])
            try must(["ip", "link", "add", "vp\(i)-\(id)", "netns", nodeNS, "type", "veth", "peer", "name", "eth0", "netns", ns])
            try n(["ip", "link", "set", "vp\(i)-\(id)", "master", "kplane0", "up"])
            try n(["ip", "link", "set", "vp\(i)-\(id)", "type", "bridge_slave", "hairpin", "on"])
            let p = { (args: [String]) in try self.must(self.inNS(ns, args)) }
            try p(["ip", "link", "set", "lo", "up"])
            try p(["ip", "addr", "add", "\(Sandbox.podIP(i))/24", "dev", "eth0"])
            try p(["ip", "link", "set", "eth0", "up"])
            try p(["ip", "route", "add", "default", "via", "10.244.0.1"])
            try startServer(ns: ns, name: "p\(i)")
        }
        try must(["ip", "link", "add", "vc-\(id)", "netns", nodeNS, "type", "veth", "peer", "name", "eth0", "netns", clientNS])
        try n(["ip", "addr", "add", "\(Sandbox.nodeIP)/24", "dev", "vc-\(id)"])
        try n(["ip", "link", "set", "vc-\(id)", "up"])
        // Like a real node, a default route (to the client namespace, still inside the sandbox).
        try n(["ip", "route", "add", "default", "via", Sandbox.clientIP])
        let c = { (args: [String]) in try self.must(self.inNS(self.clientNS, args)) }
        try c(["ip", "link", "set", "lo", "up"])
        try c(["ip", "addr", "add", "\(Sandbox.clientIP)/24", "dev", "eth0"])
        try c(["ip", "link", "set", "eth0", "up"])
        try c(["ip", "route", "add", "default", "via", Sandbox.nodeIP])
        // Wait for the servers to listen.
        for i in 1...3 {
            var up = false
            for _ in 0..<50 where !up {
                up = (try? runSync(inNS(podNS(i), ["python3", dir.appendingPathComponent("client.py").path, "tcp", Sandbox.podIP(i), "8080", "1", "0.2"])).output.hasPrefix("p")) ?? false
                if !up { Thread.sleep(forTimeInterval: 0.1) }
            }
        }
    }

    func startServer(ns: String, name: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Sandbox.which("ip")!)
        p.arguments = ["netns", "exec", ns, "python3", dir.appendingPathComponent("server.py").path, name]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        pids.append(p.processIdentifier)
    }

    func client(pod: Int, _ proto: String, _ host: String, _ port: Int, count: Int, sourcePort: Int = 0) async throws -> [String] {
        try await run(inNS(podNS(pod), ["python3", dir.appendingPathComponent("client.py").path, proto, host, String(port), String(count), "2", String(sourcePort)]))
            .output.split(separator: "\n").map(String.init)
    }

    func client(node proto: String, _ host: String, _ port: Int, count: Int) async throws -> [String] {
        try await run(inNS(nodeNS, ["python3", dir.appendingPathComponent("client.py").path, proto, host, String(port), String(count), "2", "0"]))
            .output.split(separator: "\n").map(String.init)
    }

    func client(outside proto: String, _ host: String, _ port: Int, count: Int) async throws -> [String] {
        try await run(inNS(clientNS, ["python3", dir.appendingPathComponent("client.py").path, proto, host, String(port), String(count), "2", "0"]))
            .output.split(separator: "\n").map(String.init)
    }

    func tearDown() {
        for pid in pids { kill(pid, SIGKILL) }
        for pid in pids { var status: Int32 = 0; waitpid(pid, &status, 0) }
        for ns in [podNS(1), podNS(2), podNS(3), clientNS, nodeNS] { _ = try? runSync(["ip", "netns", "delete", ns]) }
        try? FileManager.default.removeItem(at: dir)
    }

    static let server = """
    import socket, sys, threading
    name = sys.argv[1]
    def tcp():
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", 8080)); s.listen(1024)
        while True:
            c, a = s.accept()
            try: c.sendall(("%s %s\\n" % (name, a[0])).encode())
            except OSError: pass
            finally: c.close()
    def udp():
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 5353))
        while True:
            d, a = u.recvfrom(2048); u.sendto(("%s %s\\n" % (name, a[0])).encode(), a)
    threading.Thread(target=udp, daemon=True).start()
    tcp()
    """

    static let client = """
    import socket, sys
    proto, host, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 2.0
    sport = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    for i in range(count):
        try:
            if proto == "tcp":
                s = socket.create_connection((host, port), timeout=timeout); data = s.recv(256); s.close()
            else:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.settimeout(timeout); s.bind(("0.0.0.0", sport)); s.connect((host, port)); s.send(b"q"); data = s.recv(256); s.close()
            print(data.decode().strip(), flush=True)
        except ConnectionRefusedError: print("REFUSED", flush=True)
        except socket.timeout: print("TIMEOUT", flush=True)
        except OSError as e: print("ERROR %d" % e.errno, flush=True)
    """
}

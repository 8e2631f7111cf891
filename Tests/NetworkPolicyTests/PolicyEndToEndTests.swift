import ClusterStore
import Foundation
import KubeModel
@testable import NetworkPolicy
import Testing

/// The upstream model end to end, as root: a real `kplane up --components
/// pods,proxy,policy,controllers,dns` (the built binary) inside a network, mount and PID
/// namespace this test makes (`unshare --net --mount --pid --fork --kill-child`), nine real
/// pods x/a … z/c serving 80 and 81 over TCP and UDP, real probes between every pair from
/// inside the pods' namespaces, and the kernel's matrix compared with the evaluator's on
/// every cell. Nothing touches the host's network; everything dies with the namespace.
@Suite(.serialized) struct PolicyEndToEndTests {
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["KPLANE_BIN"] { return path }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let path = dir.appendingPathComponent("kplane").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
            dir = dir.deletingLastPathComponent()
        }
        return "kplane"
    }

    static let skipReason: String? = {
        if geteuid() != 0 { return "not root" }
        for tool in ["/usr/sbin/nft", "/usr/sbin/ip", "/usr/sbin/conntrack", "/usr/bin/unshare", "/usr/bin/nsenter", "/usr/bin/python3", "/usr/bin/dig"] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) missing"
        }
        if !FileManager.default.isExecutableFile(atPath: binary) { return "kplane binary not built next to the tests" }
        return nil
    }()

    @Test(.enabled(if: skipReason == nil, "needs root, nft, ip, conntrack, unshare, nsenter, /usr/bin/python3, dig and the kplane binary"), .timeLimit(.minutes(2)))
    func kernelAgreesWithEvaluator() async throws {
        if let reason = Self.skipReason { print("PolicyEndToEndTests skipped: \(reason)"); return }
        let node = try Node()
        defer { node.stop() }
        try await node.waitReady()

        let store = try SQLiteStore(directory: node.stateDir)
        var objects: [Object] = []
        for ns in ["x", "y", "z"] {
            var n = Namespace()
            n.metadata = ObjectMeta(name: ns, labels: ["ns": ns])
            objects.append(Object(n))
        }
        for ns in ["x", "y", "z"] { for pod in ["a", "b", "c"] { objects.append(Object(Self.serverPod(ns, pod))) } }
        _ = try await store.apply(objects)
        let pods = try await node.waitForPods(store, count: 9)
        let refs = pods.keys.sorted()
        let ports = [PortProtocol(80, .tcp), PortProtocol(81, .tcp), PortProtocol(80, .udp), PortProtocol(81, .udp)]

        func model() async throws -> PolicyModel {
            PolicyModel(namespaces: try await store.list(Namespace.self), pods: try await store.list(Pod.self), policies: try await store.list(NetworkPolicy.self))
        }
        func check(_ label: String) async throws {
            // Changes must be enforced within 1 s.
            try await Task.sleep(for: .seconds(1))
            // Policies govern new connections: established ones are let through (`ct state`), as
            // in Kubernetes. A UDP probe whose random source port repeats one of an earlier step
            // would match that step's conntrack entry (a flake seen once: one cell allowed after
            // its egress was denied), so every check starts from an empty table.
            _ = try node.inNamespace(["/usr/sbin/conntrack", "-F"])
            let m = try await model()
            let kernel = try await node.probeAll(pods, ports: ports)
            var diffs: [String] = []
            for port in ports {
                let want = m.matrix(port: port, namespaces: ["x", "y", "z"])
                let got = ReachabilityMatrix(pods: refs, port: port, allowed: kernel[port]!)
                diffs += want.differences(from: got)
            }
            #expect(diffs.isEmpty, "\(label): kernel and evaluator disagree on \(diffs.count) cells:\n\(diffs.prefix(20).joined(separator: "\n"))")
        }
        func setPolicies(_ policies: [NetworkPolicy]) async throws {
            let current = try await store.list(NetworkPolicy.self)
            let keep = Set(policies.map { "\($0.namespace)/\($0.name)" })
            _ = try await store.delete(current.filter { !keep.contains("\($0.namespace)/\($0.name)") }.map { ObjectKey(type: NetworkPolicy.resourceType, namespace: $0.namespace, name: $0.name) })
            if !policies.isEmpty { _ = try await store.apply(policies.map { Object($0) }) }
        }

        try await check("no policies")
        try await setPolicies([policy("deny-ingress", ingress: [])])
        try await check("default deny ingress in x")
        try await setPolicies([policy("deny-ingress", ingress: []),
                               policy("allow-y", select: sel(["pod": "a"]), ingress: [from(nsPeer(sel([Namespace.nameLabel: "y"])))])])
        try await check("allow from namespace y to x/a")
        try await setPolicies([policy("named", ingress: [from(ports: [port("serve-81-tcp"), port("serve-80-udp", "UDP")])])])
        try await check("named ports")
        let yb = pods[ObjectRef("y", "b")]!.ip
        try await setPolicies([policy("cidr", select: sel(["pod": "a"]), egress: [to(ipPeer("10.244.0.0/16", except: ["\(yb)/32"]))]),
                               policy("udp-only", "z", select: sel(["pod": "c"]), ingress: [from(ports: [proto("UDP")])])])
        try await check("ipBlock except, protocol only")
        try await setPolicies([policy("deny-egress", "y", egress: []), policy("allow-dns", "y", egress: [to(ports: [port(53, "UDP"), port(53, "TCP")])]),
                               policy("y-to-x-81", "y", select: sel(["pod": "b"]), egress: [to(nsPeer(sel(["ns": "x"])), ports: [port(81, "TCP")])])])
        try await check("egress default deny with DNS and one exception")

        // A pod label change takes effect for new connections within 1 s.
        var xc = try #require(try await store.get(Pod.self, namespace: "x", name: "c"))
        try await setPolicies([policy("deny-ingress", ingress: []), policy("to-web", select: sel(["role": "web"]), ingress: [from()])])
        try await Task.sleep(for: .seconds(1))
        #expect(try await !node.probe(from: pods[ObjectRef("y", "a")]!, to: pods[ObjectRef("x", "c")]!.ip, PortProtocol(80, .tcp)))
        xc.metadata.labels!["role"] = "web"
        _ = try await store.update(Object(xc))
        let changed = ContinuousClock.now
        var enforced = false
        while ContinuousClock.now - changed < .seconds(1) && !enforced {
            enforced = try await node.probe(from: pods[ObjectRef("y", "a")]!, to: pods[ObjectRef("x", "c")]!.ip, PortProtocol(80, .tcp), timeout: 0.2)
        }
        #expect(enforced, "label change not enforced within 1 s")
        // The node reaches pods that deny all ingress (probes).
        #expect(try await node.probeFromNode(to: pods[ObjectRef("x", "a")]!.ip, PortProtocol(80, .tcp)))
        let counters = try node.inNamespace(["nft", "list", "counters", "table", "inet", "kplane-policy"])
        #expect(counters.contains("counter in/x/deny-ingress"), "\(counters)")
    }

    @Test(.enabled(if: skipReason == nil, "needs root, nft, ip, unshare, nsenter, /usr/bin/python3, dig and the kplane binary"), .timeLimit(.minutes(2)))
    func defaultDenyEgressExampleAllowsDNS() async throws {
        if let reason = Self.skipReason { print("PolicyEndToEndTests skipped: \(reason)"); return }
        let node = try Node()
        defer { node.stop() }
        try await node.waitReady()
        let store = try SQLiteStore(directory: node.stateDir)
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/policy-dns.yaml").path
        let docs = try Manifest.load(path: example)
        // First only the deny policy and the client, then the whole example.
        var ns = Namespace(); ns.metadata = ObjectMeta(name: "x", labels: ["ns": "x"])
        _ = try await store.apply(docs.map(\.object).filter { $0.name != "allow-dns" } + [Object(ns), Object(Self.serverPod("x", "a"))])
        let pods = try await node.waitForPods(store, count: 2)
        let client = pods[ObjectRef("locked", "client")]!, server = pods[ObjectRef("x", "a")]!
        try await Task.sleep(for: .seconds(1))
        // dig rather than the pod's resolver: `ip netns exec` does not see the container's resolv.conf.
        // The answer is the line "10.96.0.10" (dig's error messages name the server too).
        func lookup(tcp: Bool) throws -> [String] {
            try node.inPod(client, ["/usr/bin/dig", "+short", "+time=1", "+tries=1"] + (tcp ? ["+tcp"] : []) + ["@10.96.0.10", "kube-dns.kube-system.svc.cluster.local"]).split(separator: "\n").map(String.init)
        }
        #expect(try !lookup(tcp: false).contains("10.96.0.10"), "DNS must fail under default-deny egress")
        _ = try await store.apply(docs.map(\.object))
        try await Task.sleep(for: .seconds(1))
        #expect(try lookup(tcp: false).contains("10.96.0.10"), "DNS over UDP through the kube-dns Service")
        #expect(try lookup(tcp: true).contains("10.96.0.10"), "DNS over TCP through the kube-dns Service")
        #expect(try await !node.probe(from: client, to: server.ip, PortProtocol(80, .tcp)), "other egress stays denied")
        let m = PolicyModel(namespaces: try await store.list(Namespace.self), pods: try await store.list(Pod.self), policies: try await store.list(NetworkPolicy.self))
        #expect(m.allows(Flow(from: .pod(client.ref), to: .address(IPAddress("10.244.0.1")!), port: PortProtocol(53, .udp))))
        #expect(!m.allows(Flow(from: .pod(client.ref), to: .pod(server.ref), port: PortProtocol(80, .tcp))))
    }

    /// Serves 80 and 81 over TCP and UDP, answering with its name; ports named as upstream.
    static func serverPod(_ ns: String, _ name: String) -> Pod {
        var pod = Pod()
        pod.metadata = ObjectMeta(name: name, namespace: ns, labels: ["pod": name])
        var c = Pod.Container(name: "serve", command: ["/usr/bin/python3", "-c", Node.serverScript, "\(ns)/\(name)"])
        c.ports = [80, 81].flatMap { p in ["TCP", "UDP"].map { Pod.ContainerPort(name: "serve-\(p)-\($0.lowercased())", containerPort: p, protocol: $0) } }
        // Binds ports below 1024: run as root inside the pod.
        c.securityContext = try! JSONValue.object(["runAsUser": .int(0)]).decode(Pod.SecurityContext.self)
        pod.spec.containers = [c]
        pod.spec.terminationGracePeriodSeconds = 0
        return pod
    }
}

/// A running `kplane up` in its own network, mount and PID namespaces.
final class Node: @unchecked Sendable {
    // Written in init, read afterwards from the test's task only.
    let stateDir: String
    let process: Process
    let output: Pipe

    struct RunningPod {
        var ref: ObjectRef
        var ip: String
        var netns: String
    }

    init() throws {
        stateDir = NSTemporaryDirectory() + "kplane-policy-e2e-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        let up = [PolicyEndToEndTests.binary, "up", "--state-dir", stateDir, "--components", "pods,proxy,policy,controllers,dns",
                  "--dns-upstream", "127.0.0.1:9", "--metrics-listen", "127.0.0.1:10249", "--restart-backoff", "1", "--log-level", "warning"]
        process.arguments = ["--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private", "--", "sh", "-c", """
            set -e
            ip link set lo up
            mkdir -p /run/netns /var/run/netns
            mount -t tmpfs tmpfs /run/netns
            [ /var/run/netns -ef /run/netns ] || mount --bind /run/netns /var/run/netns
            exec "$@"
            """, "isolated"] + up
        output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// The pid of `kplane up` (unshare's child), for nsenter.
    var upPID: Int32? {
        let text = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/task/\(process.processIdentifier)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").first.flatMap { Int32($0) }
    }

    func stop() {
        if let pid = upPID { kill(pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(15)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        // --kill-child: killing unshare kills kplane, and with it every process of the PID namespace.
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: stateDir)
    }

    func waitReady() async throws {
        for _ in 0..<200 {
            if upPID != nil, (try? inNamespace(["nft", "list", "table", "inet", "kplane-policy"]))?.contains("filter-forward") == true { return }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let out = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        throw PolicyError(.badInput, "kplane up did not start: \(out)")
    }

    func waitForPods(_ store: SQLiteStore, count: Int) async throws -> [ObjectRef: RunningPod] {
        // Up to 60 s: on a loaded CI machine nine pods can take a while to start.
        for _ in 0..<600 {
            let pods = try await store.list(Pod.self).filter { p in
                p.status.podIP != nil && (p.status.containerStatuses ?? []).allSatisfy(\.ready) && !(p.status.containerStatuses ?? []).isEmpty
            }
            if pods.count >= count {
                var out: [ObjectRef: RunningPod] = [:]
                for p in pods {
                    out[ObjectRef(p.namespace, p.name)] = RunningPod(ref: ObjectRef(p.namespace, p.name), ip: p.status.podIP!, netns: "kplane-" + String((p.metadata.uid ?? "").replacingOccurrences(of: "-", with: "").prefix(12)))
                }
                // Servers bind as soon as they run; give them a moment.
                try await Task.sleep(for: .milliseconds(300))
                return out
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw PolicyError(.badInput, "pods did not become ready")
    }

    /// Runs a command in the node's namespaces (not in a pod).
    func inNamespace(_ args: [String]) throws -> String {
        guard let pid = upPID else { throw PolicyError(.badInput, "kplane up is not running") }
        return try Node.run(["/usr/bin/nsenter", "-t", "\(pid)", "-n", "-m", "--"] + args)
    }

    func inPod(_ pod: RunningPod, _ args: [String]) throws -> String {
        try inNamespace(["ip", "netns", "exec", pod.netns] + args)
    }

    /// Like `run`, without holding a thread of the cooperative pool (probers run in parallel).
    static func runAsync(_ args: [String]) async throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: args[0])
        p.arguments = Array(args.dropFirst())
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = FileHandle.nullDevice
        // Output is small (well under a pipe buffer), so reading after exit cannot block the child.
        let _: Int32 = try await withCheckedThrowingContinuation { c in
            p.terminationHandler = { c.resume(returning: $0.terminationStatus) }
            do { try p.run() } catch { p.terminationHandler = nil; c.resume(throwing: error) }
        }
        return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    func inPodAsync(_ pod: RunningPod, _ args: [String]) async throws -> String {
        guard let pid = upPID else { throw PolicyError(.badInput, "kplane up is not running") }
        return try await Node.runAsync(["/usr/bin/nsenter", "-t", "\(pid)", "-n", "-m", "--", "ip", "netns", "exec", pod.netns] + args)
    }

    static func run(_ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: args[0])
        p.arguments = Array(args.dropFirst())
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Every pod probes every pod on every port, in parallel (one prober per source pod).
    func probeAll(_ pods: [ObjectRef: RunningPod], ports: [PortProtocol], timeout: Double = 1.0) async throws -> [PortProtocol: [ObjectRef: [ObjectRef: Bool]]] {
        let refs = pods.keys.sorted()
        let targets = refs.flatMap { to in ports.map { "\(pods[to]!.ip):\($0.port):\($0.proto.rawValue.lowercased())" } }
        let results = try await withThrowingTaskGroup(of: (ObjectRef, String).self) { group in
            for from in refs {
                let pod = pods[from]!
                group.addTask { (from, try await self.inPodAsync(pod, ["/usr/bin/python3", "-c", Node.probeScript, String(timeout)] + targets)) }
            }
            var out: [ObjectRef: String] = [:]
            for try await (from, text) in group { out[from] = text }
            return out
        }
        var matrix: [PortProtocol: [ObjectRef: [ObjectRef: Bool]]] = [:]
        let byIP = Dictionary(uniqueKeysWithValues: pods.values.map { ($0.ip, $0.ref) })
        for (from, text) in results {
            for line in text.split(separator: "\n") {
                let f = line.split(separator: " ")
                guard f.count == 2 else { continue }
                let t = f[0].split(separator: ":")
                guard t.count == 3, let to = byIP[String(t[0])], let port = Int(t[1]), let proto = PolicyProtocol(name: String(t[2])) else { continue }
                matrix[PortProtocol(port, proto), default: [:]][from, default: [:]][to] = f[1] == "ok"
            }
        }
        return matrix
    }

    func probe(from: RunningPod, to ip: String, _ port: PortProtocol, timeout: Double = 1.0) async throws -> Bool {
        let out = try await inPodAsync(from, ["/usr/bin/python3", "-c", Node.probeScript, String(timeout), "\(ip):\(port.port):\(port.proto.rawValue.lowercased())"])
        return out.contains(" ok")
    }

    func probeFromNode(to ip: String, _ port: PortProtocol) async throws -> Bool {
        try inNamespace(["/usr/bin/python3", "-c", Node.probeScript, "1.0", "\(ip):\(port.port):\(port.proto.rawValue.lowercased())"]).contains(" ok")
    }

    static let serverScript = """
        import socket, sys, threading
        name = sys.argv[1].encode()
        def tcp(port):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", port)); s.listen(128)
            while True:
                c, _ = s.accept()
                try: c.sendall(name)
                except OSError: pass
                c.close()
        def udp(port):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("0.0.0.0", port))
            while True:
                _, addr = s.recvfrom(2048)
                s.sendto(name, addr)
        threads = [threading.Thread(target=f, args=(p,), daemon=True) for p in (80, 81) for f in (tcp, udp)]
        for t in threads: t.start()
        for t in threads: t.join()
        """

    /// Prints `IP:PORT:PROTO ok|fail` per target; all targets in parallel, each with a timeout.
    static let probeScript = """
        import socket, sys, threading
        timeout = float(sys.argv[1])
        results = {}
        def probe(target):
            ip, port, proto = target.split(":")
            try:
                if proto == "tcp":
                    s = socket.create_connection((ip, int(port)), timeout=timeout)
                    s.settimeout(timeout); data = s.recv(64)
                else:
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(timeout)
                    s.sendto(b"probe", (ip, int(port))); data, _ = s.recvfrom(64)
                s.close()
                results[target] = "ok" if data else "fail"
            except OSError:
                results[target] = "fail"
        threads = [threading.Thread(target=probe, args=(t,)) for t in sys.argv[2:]]
        for t in threads: t.start()
        for t in threads: t.join()
        for t in sys.argv[2:]: print(t, results[t])
        """
}

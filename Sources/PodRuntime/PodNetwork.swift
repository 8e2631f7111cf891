import Foundation
import HostSystem
import KubeModel

/// A bridge CNI done by kplane: the `kplane0` bridge with the gateway address, and per pod a
/// network namespace joined to it by a veth pair (hairpin on, so a pod reaches itself through
/// a Service). Every step is idempotent; leftovers from a crash are found by name prefix.
public struct PodNetwork: Sendable {
    public static let namespacePrefix = "kplane-"
    public static let vethPrefix = "kpv"

    public let node: NodeConfiguration

    public init(node: NodeConfiguration) { self.node = node }

    /// The network namespace name of a pod (from its uid; stable across restarts).
    public static func namespaceName(uid: String) -> String {
        namespacePrefix + String(uid.replacingOccurrences(of: "-", with: "").prefix(12))
    }

    static func vethName(uid: String) -> String {
        vethPrefix + String(uid.replacingOccurrences(of: "-", with: "").prefix(11))
    }

    /// Creates the bridge and turns on forwarding (and bridged traffic through netfilter, so
    /// the service proxy and policies see pod-to-pod packets).
    public func ensureBridge() async throws {
        let bridge = node.bridgeName
        let prefix = "\(node.gateway)/\(node.podCIDR.prefixLength)"
        let exists = (try? await HostCommand.run(["ip", "-o", "link", "show", "dev", bridge])) != nil
        if !exists {
            try await HostCommand.run(["ip", "link", "add", bridge, "type", "bridge"])
        }
        let addrs = try await HostCommand.run(["ip", "-o", "addr", "show", "dev", bridge]).stdout
        if !addrs.contains(" \(prefix) ") {
            try await HostCommand.run(["ip", "addr", "add", prefix, "dev", bridge])
        }
        try await HostCommand.run(["ip", "link", "set", bridge, "up"])
        for (path, value) in [("/proc/sys/net/ipv4/ip_forward", "1"), ("/proc/sys/net/bridge/bridge-nf-call-iptables", "1"),
                              ("/proc/sys/net/bridge/bridge-nf-call-ip6tables", "1"), ("/proc/sys/net/ipv4/conf/all/route_localnet", "1")] {
            try? value.write(toFile: path, atomically: false, encoding: .utf8)
        }
    }

    /// Puts a pod on the bridge with `ip`; returns once its address answers.
    public func setUp(uid: String, ip: IPAddress) async throws {
        let ns = PodNetwork.namespaceName(uid: uid)
        let veth = PodNetwork.vethName(uid: uid)
        let want = "\(ip)/\(node.podCIDR.prefixLength)"
        if let current = try? await HostCommand.run(["ip", "-n", ns, "-o", "addr", "show", "dev", "eth0"]), current.stdout.contains(" \(want) ") {
            return
        }
        try? await tearDown(uid: uid)
        try await HostCommand.run(["ip", "netns", "add", ns])
        do {
            try await HostCommand.run(["ip", "-batch", "-"], input: """
                link add \(veth) type veth peer name eth0 netns \(ns)
                link set \(veth) master \(node.bridgeName)
                link set \(veth) type bridge_slave hairpin on
                link set \(veth) up

                """)
            try await HostCommand.run(["ip", "-n", ns, "-batch", "-"], input: """
                link set lo up
                addr add \(want) dev eth0
                link set eth0 up
                route add default via \(node.gateway)

                """)
        } catch {
            try? await tearDown(uid: uid)
            throw error
        }
    }

    /// Kills whatever still runs in the pod's namespace and deletes it (the veth goes with it).
    public func tearDown(uid: String) async throws {
        try await PodNetwork.remove(namespace: PodNetwork.namespaceName(uid: uid))
    }

    static func remove(namespace ns: String) async throws {
        let pids = (try? await HostCommand.run(["ip", "netns", "pids", ns]))?.stdout ?? ""
        for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) {
            kill(pid, SIGKILL)
        }
        try await HostCommand.run(["ip", "netns", "del", ns], check: false)
    }

    /// Namespaces and veths of pods that no longer run (after a crash), removed.
    public func cleanLeftovers(keeping: Set<String> = []) async -> [String] {
        var removed: [String] = []
        let list = (try? await HostCommand.run(["ip", "netns", "list"]))?.stdout ?? ""
        for line in list.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            guard name.hasPrefix(PodNetwork.namespacePrefix), !keeping.contains(name) else { continue }
            try? await PodNetwork.remove(namespace: name)
            removed.append(name)
        }
        let links = (try? await HostCommand.run(["ip", "-o", "link", "show", "type", "veth"]))?.stdout ?? ""
        for line in links.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2)
            guard fields.count > 1 else { continue }
            let name = fields[1].trimmingCharacters(in: .whitespaces).split(separator: "@").first.map(String.init) ?? ""
            if name.hasPrefix(PodNetwork.vethPrefix) {
                _ = try? await HostCommand.run(["ip", "link", "del", name], check: false)
                removed.append(name)
            }
        }
        return removed
    }

    /// Removes the bridge (on a clean stop).
    public func removeBridge() async {
        _ = try? await HostCommand.run(["ip", "link", "del", node.bridgeName], check: false)
    }
}

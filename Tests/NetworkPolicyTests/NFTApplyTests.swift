import Foundation
import HostSystem
import KubeModel
@testable import NetworkPolicy
import Testing

/// The rendered transactions through the real `nft`, inside a network namespace this test
/// makes and deletes (nothing touches the host's tables). Root only.
@Suite(.serialized) struct NFTApplyTests {
    static let skipReason: String? = {
        if geteuid() != 0 { return "not root" }
        if HostCommand.find("nft") == nil { return "nft missing" }
        return nil
    }()

    static func sh(_ args: [String], input: String? = nil) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let out = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = inp
        try p.run()
        inp.fileHandleForWriting.write(Data((input ?? "").utf8))
        try inp.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test(.enabled(if: skipReason == nil, "needs root and nft"))
    func fullAndIncrementalTransactionsLoad() async throws {
        let ns = "kpp-\(UInt32.random(in: 0...UInt32.max))"
        guard try Self.sh(["ip", "netns", "add", ns]).0 == 0 else { Issue.record("ip netns add failed"); return }
        defer { _ = try? Self.sh(["ip", "netns", "delete", ns]) }
        let syncer = PolicySyncer { script in
            let (status, out) = try Self.sh(["ip", "netns", "exec", ns, "nft", "-f", "-"], input: script)
            guard status == 0 else { throw PolicyError(.nftFailed, out + "\n" + script.prefix(3000)) }
        }
        var c = NetpolCluster(pods: ["x/a", "x/b", "x/c", "y/a", "y/b", "z/a"], ports: [80, 81], protocols: [.tcp, .udp])
        c.apply(policy("deny", ingress: [], egress: []))
        c.apply(policy("web", select: sel(["pod": "a"]), ingress: [from(nsPeer(sel()), ports: [port(80), port("serve-81-udp", "UDP"), port(1000, end: 2000)])]))
        c.apply(policy("out", egress: [to(ipPeer("0.0.0.0/0", except: ["10.244.2.0/24"])), to(ports: [port(53, "UDP"), port(53, "TCP")])]))
        let first = try await syncer.sync(c.model)
        #expect(first.full && first.changed)
        c.labelPod("x/b", ["pod": "a"])
        c.labelNamespace("y", "team", "blue")
        c.apply(policy("y-in", "y", ingress: [from(nsPeer(sel(["team": "blue"])))]))
        let second = try await syncer.sync(c.model)
        #expect(!second.full && second.changed)
        c.policies.removeAll { $0.name == "web" }
        #expect(try await syncer.sync(c.model).changed)
        #expect(try await !syncer.sync(c.model).changed)
        let (_, listing) = try Self.sh(["ip", "netns", "exec", ns, "nft", "list", "table", "inet", "kplane-policy"])
        #expect(listing.contains("counter eg/x/out"))
        #expect(!listing.contains("in/x/web"))
        // A restarted component replaces the leftover table in its first transaction.
        let restarted = PolicySyncer { script in
            let (status, out) = try Self.sh(["ip", "netns", "exec", ns, "nft", "-f", "-"], input: script)
            guard status == 0 else { throw PolicyError(.nftFailed, out) }
        }
        #expect(try await restarted.sync(c.model).full)
        try await restarted.removeTable()
        let (_, tables) = try Self.sh(["ip", "netns", "exec", ns, "nft", "list", "tables"])
        #expect(!tables.contains("kplane-policy"))
    }
}

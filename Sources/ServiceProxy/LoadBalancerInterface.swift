import HostSystem
import KubeModel

/// The node's LoadBalancer addresses on an interface of their own (`kplane-lb`), as MetalLB
/// holds them on bare metal: with the address local, the node itself reaches it (the nat
/// output hook DNATs it like a ClusterIP) and routed clients are answered. A `dummy` link
/// where the kernel has the type, else an empty bridge (which behaves the same for local
/// addresses). Addresses are /32 (/128). Removing the interface removes them all.
public actor LoadBalancerInterface {
    /// Runs `ip` with arguments (`-batch -` with standard input when `input` is given).
    public typealias Executor = @Sendable (_ arguments: [String], _ input: String?) async throws -> CommandOutput

    /// What a command printed and its exit status.
    public struct CommandOutput: Sendable {
        public var status: Int32
        public var output: String
        public var error: String

        public init(status: Int32, output: String, error: String) {
            self.status = status
            self.output = output
            self.error = error
        }
    }

    public static let defaultName = "kplane-lb"

    public let name: String
    private let ip: Executor
    /// Addresses on the interface, as far as this actor knows; nil: unknown (not created yet).
    private var current: Set<IPAddress>?

    public init(name: String = LoadBalancerInterface.defaultName, ip: @escaping Executor) {
        self.name = name
        self.ip = ip
    }

    /// `ip` through the binary at `path`.
    public static func executor(ip path: String) -> Executor {
        { arguments, input in
            let r = try await HostCommand.run([path] + arguments, input: input, check: false)
            return CommandOutput(status: r.status, output: r.stdout, error: r.stderr)
        }
    }

    /// The `ip -batch` lines that take the interface from `current` to `desired`.
    public static func commands(name: String, current: Set<IPAddress>, desired: Set<IPAddress>) -> [String] {
        func prefix(_ ip: IPAddress) -> String { "\(ip)/\(ip.isV4 ? 32 : 128)" }
        return current.subtracting(desired).sorted().map { "address del \(prefix($0)) dev \(name)" }
            + desired.subtracting(current).sorted().map { "address replace \(prefix($0)) dev \(name)" }
    }

    /// Makes the interface hold exactly `desired` (creating it on first use; addresses left
    /// by a previous run that are no longer wanted are removed).
    public func sync(_ desired: Set<IPAddress>) async throws {
        let have: Set<IPAddress>
        if let current {
            have = current
        } else {
            have = try await ensure()
        }
        let lines = Self.commands(name: name, current: have, desired: desired)
        current = nil
        if !lines.isEmpty {
            let r = try await ip(["-force", "-batch", "-"], lines.joined(separator: "\n") + "\n")
            guard r.status == 0 else { throw ProxyError(.interfaceFailed, "ip -batch on \(name) failed (status \(r.status)): \(r.error.prefix(2000))") }
        }
        current = desired
    }

    /// Deletes the interface (and with it every address on it).
    public func remove() async throws {
        current = nil
        let r = try await ip(["link", "del", name], nil)
        guard r.status == 0 || r.error.contains("Cannot find device") else {
            throw ProxyError(.interfaceFailed, "ip link del \(name) failed (status \(r.status)): \(r.error)")
        }
    }

    /// Creates the interface if it is missing, brings it up and returns its addresses.
    private func ensure() async throws -> Set<IPAddress> {
        var show = try await ip(["-o", "address", "show", "dev", name], nil)
        if show.status != 0 {
            var add = try await ip(["link", "add", name, "type", "dummy"], nil)
            if add.status != 0 {
                // Kernels without the dummy module: an empty bridge holds local addresses as well.
                add = try await ip(["link", "add", name, "type", "bridge"], nil)
            }
            guard add.status == 0 else { throw ProxyError(.interfaceFailed, "ip link add \(name) failed (status \(add.status)): \(add.error)") }
            show = CommandOutput(status: 0, output: "", error: "")
        }
        let up = try await ip(["link", "set", name, "up"], nil)
        guard up.status == 0 else { throw ProxyError(.interfaceFailed, "ip link set \(name) up failed: \(up.error)") }
        return Self.addresses(show.output)
    }

    /// Global addresses in `ip -o address show` output.
    static func addresses(_ text: String) -> Set<IPAddress> {
        var out = Set<IPAddress>()
        for line in text.split(separator: "\n") where !line.contains("scope link") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let i = words.firstIndex(where: { $0 == "inet" || $0 == "inet6" }), i + 1 < words.count,
                  let ip = IPAddress(String(words[i + 1].split(separator: "/")[0])) else { continue }
            out.insert(ip)
        }
        return out
    }
}

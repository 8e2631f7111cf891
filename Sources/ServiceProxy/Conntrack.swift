import KubeModel

/// UDP conntrack entries that would keep sending clients to an endpoint that is gone (or to
/// nowhere, for a frontend that had none): DNS must not black-hole after a pod is replaced.
public enum ConntrackFlush: Sendable, Hashable {
    /// Entries of `frontend` NATed to `backend`.
    case endpoint(Frontend, Backend)
    /// All entries of `frontend` (it had no endpoint before).
    case frontend(Frontend)

    /// Arguments of `conntrack` (from Debian's conntrack package).
    public var arguments: [String] {
        switch self {
        case .endpoint(let fe, let be):
            return ["-D", "-f", fe.ip.isV4 ? "ipv4" : "ipv6", "-p", "udp", "--orig-dst", fe.ip.description, "--orig-port-dst", String(fe.port), "--dst-nat", be.ip.description]
        case .frontend(let fe):
            return ["-D", "-f", fe.ip.isV4 ? "ipv4" : "ipv6", "-p", "udp", "--orig-dst", fe.ip.description, "--orig-port-dst", String(fe.port)]
        }
    }

    /// What to flush for changed frontends.
    public static func stale(_ changes: [Frontend: IncrementalModel.Change]) -> [ConntrackFlush] {
        var out: [ConntrackFlush] = []
        for (fe, change) in changes where fe.proto == .udp {
            let before = change.old.map { Set($0.backends + ($0.podAndNodeBackends ?? [])) } ?? []
            let after = change.new.map { Set($0.backends + ($0.podAndNodeBackends ?? [])) } ?? []
            for backend in before.subtracting(after).sorted() { out.append(.endpoint(fe, backend)) }
            if change.new?.hasAnyBackend ?? false, !(change.old?.hasAnyBackend ?? false) { out.append(.frontend(fe)) }
        }
        return out.sorted { $0.arguments.joined(separator: " ") < $1.arguments.joined(separator: " ") }
    }
}

import ArgumentParser
import ClusterDNS
import ClusterStore
import KubeModel

/// `kplane dns …`: explain commands for the cluster DNS.
public struct DNSCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "dns", abstract: "Explain cluster DNS answers.", subcommands: [DNSQueryCommand.self])

    public init() {}
}

/// `kplane dns query NAME [TYPE]`: the answer the cluster DNS would give, computed from the
/// store without a running server, with the objects that produced it.
public struct DNSQueryCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Answer a DNS question from the store, saying which objects produced the answer.",
        discussion: """
            Short names are expanded like a pod's resolver does (search <ns>.svc.<zone> svc.<zone> <zone>, ndots:5):
              kplane dns query web -n shop        kplane dns query web.shop SRV
              kplane dns query _http._tcp.web.shop.svc.cluster.local SRV
            Names outside the cluster zone are not sent anywhere: the command says they would be forwarded.
            """)

    @OptionGroup var store: StoreOptions
    @Argument(help: "The name to look up.") var name: String
    @Argument(help: "The record type (A, AAAA, SRV, PTR, TXT, CNAME, SOA, NS, ANY).") var type = "A"
    @Option(name: .shortAndLong, help: "Namespace of the asking pod, for the search list.") var namespace = "default"
    @Option(help: "Cluster DNS domain.") var clusterDomain = "cluster.local"
    @Option(help: "Service CIDR (its reverse zone is answered).") var serviceCIDR = "10.96.0.0/12"
    @Option(help: "Pod CIDR, comma-separated for dual stack.") var podCIDR = "10.244.0.0/16"
    @OptionGroup var dns: DNSOptions

    public init() {}

    public func run() async throws {
        guard let rrType = RRType(type) else { throw ValidationError("unknown record type \"\(type)\"") }
        let zone = try dns.configuration(clusterDomain: clusterDomain, serviceCIDR: serviceCIDR, podCIDR: podCIDR).zone
        let db = try store.open()
        print(try await DNSQueryCommand.explain(name: name, type: rrType, namespace: namespace, store: db, zone: zone))
    }

    /// The explanation `kplane dns query` prints, for any store.
    public static func explain(name: String, type: RRType, namespace: String = "default", store: any Store,
                               zone: ZoneConfiguration = ZoneConfiguration()) async throws -> String {
        var objects: [Object] = []
        for kind in ZoneInputs.resourceTypes { objects += try await store.list(kind, namespace: nil).items }
        let clusterZone = ClusterZone(inputs: ZoneInputs(objects: objects), configuration: zone)
        return explain(name: name, type: type, namespace: namespace, zone: clusterZone)
    }

    /// The explanation for a zone already built (pure; what the tests call).
    public static func explain(name: String, type: RRType, namespace: String, zone: ClusterZone) -> String {
        let domain = zone.configuration.domain.description
        var candidates: [String] = []
        let absolute = name.hasSuffix(".")
        let dots = name.filter { $0 == "." }.count
        if !absolute && dots < 5 {
            candidates = ["\(name).\(namespace).svc.\(domain)", "\(name).svc.\(domain)", "\(name).\(domain)"]
        }
        candidates.append(absolute ? name : name + ".")
        var lines: [String] = []
        for (i, candidate) in candidates.enumerated() {
            guard let qname = DNSName(candidate) else {
                lines.append("\(candidate): not a valid domain name")
                continue
            }
            let question = DNSQuestion(name: qname, type: type)
            switch zone.lookup(question) {
            case .outside:
                lines.append(";; \(question): outside the cluster zone and its reverse zones: forwarded to the upstream resolvers")
                return lines.joined(separator: "\n")
            case .answer(let a):
                let last = i == candidates.count - 1
                // A resolver walks the search list past NXDOMAIN (and SERVFAIL); anything else ends it.
                if a.rcode == .nxDomain && !last {
                    lines.append(";; \(question): NXDOMAIN, next in the search list")
                    continue
                }
                lines.append(";; \(question): \(a.rcode)\(a.answers.isEmpty && a.rcode == .noError ? " (no records of this type: NODATA)" : "")")
                if !a.answers.isEmpty { lines.append(";; ANSWER"); lines += a.answers.map(\.description) }
                if !a.authorities.isEmpty { lines.append(";; AUTHORITY"); lines += a.authorities.map(\.description) }
                if !a.additionals.isEmpty { lines.append(";; ADDITIONAL"); lines += a.additionals.map(\.description) }
                if let chase = a.chase { lines.append(";; then \(chase.name) \(chase.type) is resolved by the upstream resolvers") }
                if !a.sources.isEmpty { lines.append(";; FROM"); lines += a.sources }
                return lines.joined(separator: "\n")
            }
        }
        return lines.joined(separator: "\n")
    }
}

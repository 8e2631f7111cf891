import ArgumentParser
import ClusterStore
import Foundation
import KubeModel
import ServiceProxy

/// `kplane proxy …`: explain what the service proxy does, from the store, without root.
struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Show the service proxy's nftables ruleset, or trace a connection through it.",
        subcommands: [ProxyRulesCommand.self, ProxyTraceCommand.self])
}

/// The node settings the explain commands render for.
struct ProxyNodeOptions: ParsableArguments {
    @Option(help: "The node's name (endpoints with this nodeName are local). Default: the host name.")
    var nodeName: String?
    @Option(help: "Node addresses for NodePorts, comma-separated.")
    var nodeIP = "127.0.0.1"
    @Option(help: "Pod CIDR (comma-separated for dual stack).")
    var podCIDR = "10.244.0.0/16"
    @Option(help: "Service CIDR (comma-separated for dual stack).")
    var serviceCIDR = "10.96.0.0/12"

    func node() throws -> NodeConfig {
        var options = ProxyOptions()
        return try options.node(nodeName: nodeName ?? ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init)?.lowercased() ?? "node", nodeIPs: nodeIP.split(separator: ",").map { String($0) }, podCIDRs: podCIDR, serviceCIDRs: serviceCIDR)
    }

    func model(_ store: StoreOptions) async throws -> ProxyModel {
        let db = try store.open()
        let services = try await db.list(Service.self)
        let slices = try await db.list(EndpointSlice.self)
        return ProxyModel.build(services: services, slices: slices, node: try node())
    }
}

/// `kplane proxy rules`: the `nft -f` transaction kplane would apply now.
struct ProxyRulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rules", abstract: "Print the nftables ruleset kplane would apply (as one nft -f transaction).")

    @OptionGroup var store: StoreOptions
    @OptionGroup var node: ProxyNodeOptions
    @Flag(help: "Print only counts of rules and elements.")
    var summary = false

    func run() async throws {
        let ruleset = RulesetBuilder.build(try await node.model(store))
        if summary {
            print("table inet \(ruleset.table): \(ruleset.chains.count) chains, \(ruleset.ruleCount) rules, \(ruleset.sets.count) sets and maps, \(ruleset.elementCount) elements")
        } else {
            print(ruleset.fullTransaction(replacing: false), terminator: "")
        }
    }
}

/// `kplane proxy trace`: where a new connection would go.
struct ProxyTraceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "trace", abstract: "Trace a new connection through the ruleset kplane would apply.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var node: ProxyNodeOptions
    @Option(help: "Client address.") var from: String
    @Option(help: "Destination address.") var to: String
    @Option(help: "Destination port.") var port: Int
    @Option(help: "tcp, udp or sctp.") var proto = "tcp"
    @Flag(help: "The node itself opens the connection.") var fromNode = false

    func run() async throws {
        guard IPAddress(from) != nil, IPAddress(to) != nil else { throw ValidationError("--from and --to must be IP addresses") }
        guard let p = L4Proto(rawValue: proto) else { throw ValidationError("--proto: tcp, udp or sctp") }
        let model = try await node.model(store)
        var local = Set(model.node.nodeIPs)
        for fe in model.frontends.keys where model.node.nodeIPs.contains(fe.ip) { local.insert(fe.ip) }
        let tracer = PacketTracer(ruleset: RulesetBuilder.build(model), localAddresses: local)
        let packet = PacketTracer.Packet(from: from, to: to, port: port, proto: p, fromNode: fromNode)
        for outcome in tracer.outcomes(packet).map(\.description).sorted() { print(outcome) }
    }
}

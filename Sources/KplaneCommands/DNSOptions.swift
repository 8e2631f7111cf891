import ArgumentParser
import ClusterDNS
import ClusterStore
import KubeModel
import Logging
import NIOCore

extension PodRecordMode: ExpressibleByArgument {}

/// The `dns` component's flags of `kplane up`. The cluster domain and the service and pod
/// CIDRs are `up`'s own flags (`--cluster-domain`, `--service-cidr`, `--pod-cidr`) and are
/// passed in when the service is built.
public struct DNSOptions: ParsableArguments {
    @Option(help: "Address the cluster DNS server listens on, UDP and TCP (host:port).")
    public var dnsListen = "0.0.0.0:53"

    @Option(help: "Upstream resolver for names outside the cluster (ip or ip:port); repeatable. Default: the nameservers of /etc/resolv.conf.")
    public var dnsUpstream: [String] = []

    @Option(name: .customLong("dns-ttl"), help: "TTL of cluster records and negative answers, in seconds.")
    public var dnsTTL: UInt32 = 5

    @Option(help: "Pod records a-b-c-d.<ns>.pod.<zone>: insecure (any IP), verified (pods that exist) or disabled.")
    public var dnsPodMode: PodRecordMode = .insecure

    public init() {}

    public func validate() throws {
        do {
            _ = try ResolvConf.address(dnsListen, defaultPort: 53)
            for upstream in dnsUpstream { _ = try ResolvConf.address(upstream) }
        } catch {
            throw ValidationError("--dns-listen/--dns-upstream: \(error.message)")
        }
    }

    /// The server's configuration for the given cluster domain and CIDRs (comma-separated lists allowed).
    public func configuration(clusterDomain: String = "cluster.local", serviceCIDR: String = "10.96.0.0/12",
                              podCIDR: String = "10.244.0.0/16") throws -> ClusterDNSConfiguration {
        guard let domain = DNSName(clusterDomain), domain.labelCount > 0 else {
            throw ValidationError("--cluster-domain: \"\(clusterDomain)\" is not a domain name")
        }
        var cidrs: [CIDR] = []
        for text in (serviceCIDR + "," + podCIDR).split(separator: ",") {
            guard let cidr = CIDR(text.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("invalid CIDR \"\(text)\"") }
            cidrs.append(cidr)
        }
        let listen: SocketAddress
        var upstreams: [SocketAddress]
        do {
            listen = try ResolvConf.address(dnsListen, defaultPort: 53)
            upstreams = []
            for upstream in dnsUpstream { upstreams.append(try ResolvConf.address(upstream)) }
        } catch {
            throw ValidationError("--dns-listen/--dns-upstream: \(error.message)")
        }
        if upstreams.isEmpty {
            // Never forward to ourselves (a node whose resolv.conf already points at kplane).
            upstreams = ResolvConf.systemNameservers().filter { $0 != listen }
        }
        return ClusterDNSConfiguration(
            listen: listen, upstreams: upstreams,
            zone: ZoneConfiguration(domain: domain, ttl: dnsTTL, podMode: dnsPodMode, reverseCIDRs: cidrs))
    }

    /// The `dns` component, following `store` with an informer of its own.
    public func makeService(store: any Store, logger: Logger, clusterDomain: String = "cluster.local",
                            serviceCIDR: String = "10.96.0.0/12", podCIDR: String = "10.244.0.0/16") throws -> ClusterDNSService {
        ClusterDNSService(configuration: try configuration(clusterDomain: clusterDomain, serviceCIDR: serviceCIDR, podCIDR: podCIDR),
                          store: store, logger: logger)
    }
}

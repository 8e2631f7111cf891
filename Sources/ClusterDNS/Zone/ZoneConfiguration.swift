import KubeModel

/// How `a-b-c-d.<ns>.pod.<zone>` names are answered (CoreDNS's `pods` option).
public enum PodRecordMode: String, Sendable, CaseIterable {
    /// Any well-formed dashed IP answers with that IP (kubeadm's CoreDNS default).
    case insecure
    /// Only the IPs of pods that exist in that namespace answer.
    case verified
    /// No pod records.
    case disabled
}

/// What the cluster zone is and how it answers.
public struct ZoneConfiguration: Sendable {
    /// The cluster domain (`cluster.local`).
    public var domain: DNSName
    /// TTL of every record and of negative answers (the SOA minimum).
    public var ttl: UInt32
    public var podMode: PodRecordMode
    /// Service and pod CIDRs: their reverse zones are answered here, not forwarded.
    public var reverseCIDRs: [CIDR]

    /// The TTL of `dns-version`, as the specification writes it.
    public static let schemaTTL: UInt32 = 28800
    /// The schema version of the Kubernetes DNS specification this zone implements.
    public static let schemaVersion = "1.1.0"

    public init(domain: DNSName = DNSName("cluster.local")!, ttl: UInt32 = 5, podMode: PodRecordMode = .insecure,
                reverseCIDRs: [CIDR] = [CIDR("10.96.0.0/12")!, CIDR("10.244.0.0/16")!]) {
        self.domain = domain.lowercased
        self.ttl = ttl
        self.podMode = podMode
        self.reverseCIDRs = reverseCIDRs
    }

    /// The `in-addr.arpa` / `ip6.arpa` zones covering `reverseCIDRs`. A prefix that does not
    /// fall on a label boundary becomes the few zones one boundary down (10.96.0.0/12 gives
    /// 96.10.in-addr.arpa … 111.10.in-addr.arpa), or the enclosing zone when that would be
    /// more than 256 zones.
    public var reverseZones: [DNSName] {
        var zones: [DNSName] = []
        for cidr in reverseCIDRs {
            let step = cidr.isV4 ? 8 : 4
            let bits = cidr.isV4 ? 32 : 128
            var len = (cidr.prefixLength + step - 1) / step * step
            if len - cidr.prefixLength > 8 { len = cidr.prefixLength / step * step }
            guard len > 0 else { continue }  // never claim all of in-addr.arpa
            let count = len > cidr.prefixLength ? 1 << (len - cidr.prefixLength) : 1
            for i in 0..<count {
                let ip = cidr.network.advanced(by: UInt64(i) << UInt64(bits - len))
                if let zone = ZoneConfiguration.reverseName(ip, labels: len / step) {
                    if !zones.contains(zone) { zones.append(zone) }
                }
            }
        }
        return zones
    }

    /// The reverse name of `ip` cut to its first `labels` octets (IPv4) or nibbles (IPv6).
    static func reverseName(_ ip: IPAddress, labels: Int? = nil) -> DNSName? {
        switch ip {
        case .v4(let v):
            let octets = [v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255].map(String.init)
            let n = labels ?? 4
            return DNSName(octets.prefix(n).reversed().joined(separator: ".") + ".in-addr.arpa")
        case .v6(let hi, let lo):
            var nibbles: [String] = []
            for i in 0..<16 { nibbles.append(String((hi >> UInt64(60 - 4 * i)) & 0xF, radix: 16)) }
            for i in 0..<16 { nibbles.append(String((lo >> UInt64(60 - 4 * i)) & 0xF, radix: 16)) }
            let n = labels ?? 32
            return DNSName(nibbles.prefix(n).reversed().joined(separator: ".") + ".ip6.arpa")
        }
    }
}

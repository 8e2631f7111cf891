import KubeModel

/// Pod address management. The source of truth is the store: every pod this node runs has
/// its address in `status.podIP`, so addresses survive restarts and are never given twice.
/// Allocation picks the lowest free address after the gateway.
public struct IPAM: Sendable {
    public let cidr: CIDR
    private(set) var used: Set<IPAddress>

    public init(cidr: CIDR, used: some Sequence<IPAddress>) {
        self.cidr = cidr
        self.used = Set(used)
    }

    /// Reserves `ip` if it belongs to the range and is free.
    public mutating func claim(_ ip: IPAddress) -> Bool {
        guard cidr.contains(ip), ip != cidr.network, ip != cidr.network.advanced(by: 1), !used.contains(ip) else { return false }
        used.insert(ip)
        return true
    }

    /// The lowest free address (skipping network, gateway and, for IPv4, broadcast).
    public mutating func allocate() -> IPAddress? {
        let size = cidr.size
        let last = cidr.isV4 ? size - 1 : size
        var offset: UInt64 = 2
        while offset < last {
            let ip = cidr.network.advanced(by: offset)
            if !used.contains(ip) {
                used.insert(ip)
                return ip
            }
            offset += 1
        }
        return nil
    }

    public mutating func release(_ ip: IPAddress) {
        used.remove(ip)
    }
}

import KubeModel

/// What the pods component needs to know about this node.
public struct NodeConfiguration: Sendable {
    /// The node's name (what `spec.nodeName` of its pods says).
    public var nodeName: String
    /// The node's address (`status.hostIP`).
    public var nodeIP: String
    /// Pod addresses come from here; the first usable one is the bridge's gateway.
    public var podCIDR: CIDR
    public var bridgeName: String
    public var clusterDomain: String
    /// The cluster DNS address put in pods' resolv.conf.
    public var clusterDNS: String
    /// Where pod state lives (volumes, logs, generated files): `<state-dir>/pods`.
    public var podsDirectory: String
    /// The user containers run as when the pod does not say (`--pod-user`).
    public var defaultUser: (uid: UInt32, gid: UInt32)
    /// Upper bound of one log file before it is rotated.
    public var logSizeLimit: Int

    public init(nodeName: String, nodeIP: String, podCIDR: CIDR, bridgeName: String = "kplane0", clusterDomain: String = "cluster.local",
                clusterDNS: String = "10.96.0.10", podsDirectory: String, defaultUser: (uid: UInt32, gid: UInt32) = (65534, 65534),
                logSizeLimit: Int = 10 * 1024 * 1024) {
        self.nodeName = nodeName
        self.nodeIP = nodeIP
        self.podCIDR = podCIDR
        self.bridgeName = bridgeName
        self.clusterDomain = clusterDomain
        self.clusterDNS = clusterDNS
        self.podsDirectory = podsDirectory
        self.defaultUser = defaultUser
        self.logSizeLimit = logSizeLimit
    }

    /// The bridge's own address, the pods' default gateway (`10.244.0.1`).
    public var gateway: IPAddress { podCIDR.network.advanced(by: 1) }
}

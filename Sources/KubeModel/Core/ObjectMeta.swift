/// Types that have an empty value: missing in a manifest means this value.
public protocol EmptyInitializable {
    init()
}

extension KeyedDecodingContainer {
    /// A missing or null struct field decodes as its empty value, as Go's zero value does.
    public func decode<T: Decodable & EmptyInitializable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? T()
    }
}

/// `metav1.ObjectMeta`, the fields kplane reads. Unknown ones stay in the stored JSON.
public struct ObjectMeta: Sendable, Hashable, Codable, EmptyInitializable {
    public var name: String?
    public var generateName: String?
    public var namespace: String?
    public var uid: String?
    public var resourceVersion: String?
    public var generation: Int64?
    public var creationTimestamp: String?
    public var deletionTimestamp: String?
    public var deletionGracePeriodSeconds: Int64?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var finalizers: [String]?
    public var ownerReferences: [OwnerReference]?

    public init() {}

    public init(name: String, namespace: String? = nil, labels: [String: String]? = nil) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
    }

    /// Name, or "" when unset.
    public var nameOrEmpty: String { name ?? "" }
    /// Namespace, or "" when unset (cluster-scoped objects).
    public var namespaceOrEmpty: String { namespace ?? "" }
}

/// `metav1.OwnerReference`.
public struct OwnerReference: Sendable, Hashable, Codable {
    public var apiVersion: String
    public var kind: String
    public var name: String
    public var uid: String
    public var controller: Bool?
    public var blockOwnerDeletion: Bool?

    public init(apiVersion: String, kind: String, name: String, uid: String, controller: Bool? = true) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.uid = uid
        self.controller = controller
    }
}

/// `corev1.ObjectReference` (PV claimRef, endpoint targetRef).
public struct ObjectReference: Sendable, Hashable, Codable, EmptyInitializable {
    public var apiVersion: String?
    public var kind: String?
    public var namespace: String?
    public var name: String?
    public var uid: String?
    public var resourceVersion: String?

    public init() {}
}

/// `metav1.Condition` and the older per-kind conditions share this shape.
public struct Condition: Sendable, Hashable, Codable {
    public var type: String
    public var status: String
    public var reason: String?
    public var message: String?
    public var lastTransitionTime: String?
    public var lastProbeTime: String?
    public var lastUpdateTime: String?
    public var observedGeneration: Int64?

    public init(type: String, status: String, reason: String? = nil, message: String? = nil, lastTransitionTime: String? = nil) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.lastTransitionTime = lastTransitionTime
    }
}

/// `status.loadBalancer` of Services and Ingresses.
public struct LoadBalancerStatus: Sendable, Hashable, Codable, EmptyInitializable {
    public var ingress: [Ingress]?

    public struct Ingress: Sendable, Hashable, Codable {
        public var ip: String?
        public var hostname: String?
        public var ipMode: String?
        public var ports: [JSONValue]?

        public init(ip: String? = nil, hostname: String? = nil) {
            self.ip = ip
            self.hostname = hostname
        }
    }

    public init() {}
    public init(ingress: [Ingress]?) { self.ingress = ingress }
}

import KubeModel

/// Everything the route table is computed from: one consistent view of the cluster.
public struct RouteInputs: Sendable {
    public var ingresses: [Ingress]
    public var classes: [IngressClass]
    public var services: [Service]
    public var endpointSlices: [EndpointSlice]
    public var endpoints: [Endpoints]
    public var secrets: [Secret]

    public init(ingresses: [Ingress] = [], classes: [IngressClass] = [], services: [Service] = [], endpointSlices: [EndpointSlice] = [],
                endpoints: [Endpoints] = [], secrets: [Secret] = []) {
        self.ingresses = ingresses
        self.classes = classes
        self.services = services
        self.endpointSlices = endpointSlices
        self.endpoints = endpoints
        self.secrets = secrets
    }

    /// Reads the kinds from decoded objects (manifests, a store listing); other kinds are skipped,
    /// objects that do not decode are returned as errors.
    public init(objects: [Object]) {
        self.init()
        for object in objects {
            switch object.type {
            case Ingress.resourceType: if let v = try? object.decode(Ingress.self) { ingresses.append(v) }
            case IngressClass.resourceType: if let v = try? object.decode(IngressClass.self) { classes.append(v) }
            case Service.resourceType: if let v = try? object.decode(Service.self) { services.append(v) }
            case EndpointSlice.resourceType: if let v = try? object.decode(EndpointSlice.self) { endpointSlices.append(v) }
            case Endpoints.resourceType: if let v = try? object.decode(Endpoints.self) { endpoints.append(v) }
            case Secret.resourceType: if let v = try? object.decode(Secret.self) { secrets.append(v) }
            default: break
            }
        }
    }

    /// The kinds the ingress controller follows.
    public static let resourceTypes: [ResourceType] = [
        Ingress.resourceType, IngressClass.resourceType, Service.resourceType,
        EndpointSlice.resourceType, Endpoints.resourceType, Secret.resourceType,
    ]
}

/// Which Ingresses this controller handles and its defaults.
public struct IngressClassSettings: Sendable, Hashable {
    /// kplane's IngressClass name.
    public var className: String
    /// The `spec.controller` of IngressClasses kplane implements.
    public var controller: String
    /// Endpoint choice when an Ingress does not ask for one.
    public var defaultLoadBalancing: IngressAnnotations.LoadBalancing

    public static let defaultClassName = "kplane"
    public static let defaultController = "kplane.dev/ingress"

    public init(className: String = IngressClassSettings.defaultClassName, controller: String = IngressClassSettings.defaultController,
                defaultLoadBalancing: IngressAnnotations.LoadBalancing = .roundRobin) {
        self.className = className
        self.controller = controller
        self.defaultLoadBalancing = defaultLoadBalancing
    }

    /// Whether an Ingress belongs to this controller: `spec.ingressClassName` naming one of our
    /// classes (or our class name when no such IngressClass object exists yet), else the legacy
    /// `kubernetes.io/ingress.class` annotation naming our class, else no class at all while one of
    /// our IngressClasses is marked default.
    public func handles(_ ingress: Ingress, classes: [IngressClass]) -> Bool {
        if let name = ingress.spec.ingressClassName, !name.isEmpty {
            if let cls = classes.first(where: { $0.name == name }) { return cls.spec.controller == controller }
            return name == className
        }
        if let legacy = ingress.annotations[Ingress.classAnnotation], !legacy.isEmpty {
            if let cls = classes.first(where: { $0.name == legacy }) { return cls.spec.controller == controller }
            return legacy == className
        }
        return classes.contains { $0.spec.controller == controller && $0.isDefault }
    }
}

import ClusterStore

extension RouteInputs {
    /// The kinds the controller follows, read from an informer snapshot, in no particular
    /// order: the table is built in an order of its own (sorting 30,000 objects by key cost a
    /// tenth of a 10,000-rule rebuild).
    public init(snapshot: CacheSnapshot) {
        self.init(
            ingresses: snapshot.unordered(Ingress.self), classes: snapshot.unordered(IngressClass.self),
            services: snapshot.unordered(Service.self), endpointSlices: snapshot.unordered(EndpointSlice.self),
            endpoints: snapshot.unordered(Endpoints.self), secrets: snapshot.unordered(Secret.self))
    }
}

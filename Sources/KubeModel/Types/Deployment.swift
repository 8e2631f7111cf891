/// `apps/v1 Deployment`.
public struct Deployment: Resource {
    public static let resourceType = ResourceType(group: "apps", version: "v1", kind: "Deployment", plural: "deployments", shortNames: ["deploy"], namespaced: true)

    public var metadata = ObjectMeta()
    public var spec = Spec()
    public var status = Status()

    public init() {}

    public struct Spec: Sendable, Hashable, Codable, EmptyInitializable {
        public var replicas: Int?
        public var selector: LabelSelector?
        public var template = PodTemplate()
        public var strategy: Strategy?
        public var minReadySeconds: Int?
        public var revisionHistoryLimit: Int?
        public var progressDeadlineSeconds: Int?
        public var paused: Bool?
        public init() {}
    }

    public struct PodTemplate: Sendable, Hashable, Codable, EmptyInitializable {
        public var metadata = ObjectMeta()
        public var spec = Pod.Spec()
        public init() {}
    }

    public struct Strategy: Sendable, Hashable, Codable {
        public var type: String?
        public var rollingUpdate: RollingUpdate?
    }

    public struct RollingUpdate: Sendable, Hashable, Codable {
        public var maxSurge: IntOrString?
        public var maxUnavailable: IntOrString?
    }

    public struct Status: Sendable, Hashable, Codable, EmptyInitializable {
        public var observedGeneration: Int64?
        public var replicas: Int?
        public var updatedReplicas: Int?
        public var readyReplicas: Int?
        public var availableReplicas: Int?
        public var unavailableReplicas: Int?
        public var conditions: [Condition]?
        public init() {}
    }

    public mutating func setDefaults() {
        if spec.replicas == nil { spec.replicas = 1 }
        var strategy = spec.strategy ?? Strategy(type: nil, rollingUpdate: nil)
        if (strategy.type ?? "").isEmpty { strategy.type = "RollingUpdate" }
        if strategy.type == "RollingUpdate" {
            var ru = strategy.rollingUpdate ?? RollingUpdate()
            if ru.maxSurge == nil { ru.maxSurge = .string("25%") }
            if ru.maxUnavailable == nil { ru.maxUnavailable = .string("25%") }
            strategy.rollingUpdate = ru
        }
        spec.strategy = strategy
        if spec.revisionHistoryLimit == nil { spec.revisionHistoryLimit = 10 }
        if spec.progressDeadlineSeconds == nil { spec.progressDeadlineSeconds = 600 }
        Pod.setDefaults(&spec.template.spec)
    }

    public func validate() -> [FieldError] {
        var errs = validateMeta()
        let sp = FieldPath("spec")
        if let r = spec.replicas, r < 0 { errs.append(.invalid(sp.child("replicas"), r, "must be greater than or equal to 0")) }
        guard let selector = spec.selector else {
            return errs + [.required(sp.child("selector"))]
        }
        errs += selector.validate(at: sp.child("selector"))
        if selector.isEmpty {
            errs.append(.invalid(sp.child("selector"), "", "empty selector is invalid for deployment"))
        } else if !selector.matches(spec.template.metadata.labels) {
            errs.append(FieldError(.invalid, sp.child("template").child("metadata").child("labels"), value: goStringMap(spec.template.metadata.labels ?? [:]), "`selector` does not match template `labels`"))
        }
        errs += NameValidation.labels(spec.template.metadata.labels, at: sp.child("template").child("metadata").child("labels"))
        errs += Pod.validate(spec.template.spec, at: sp.child("template").child("spec"))
        if let rp = spec.template.spec.restartPolicy, rp != "Always" {
            errs.append(.notSupported(sp.child("template").child("spec").child("restartPolicy"), rp, ["Always"]))
        }
        if let s = spec.strategy {
            let type = s.type ?? "RollingUpdate"
            if type != "RollingUpdate" && type != "Recreate" {
                errs.append(.notSupported(sp.child("strategy").child("type"), type, ["Recreate", "RollingUpdate"]))
            }
            if type == "Recreate" && s.rollingUpdate != nil {
                errs.append(.forbidden(sp.child("strategy").child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'"))
            }
            if let ru = s.rollingUpdate {
                let rp = sp.child("strategy").child("rollingUpdate")
                let surge = Deployment.scaled(ru.maxSurge, total: 100, roundUp: true)
                let unavailable = Deployment.scaled(ru.maxUnavailable, total: 100, roundUp: false)
                for (field, value) in [("maxSurge", ru.maxSurge), ("maxUnavailable", ru.maxUnavailable)] {
                    if case .string(let s)? = value, !(s.hasSuffix("%") && Int(s.dropLast()) != nil) {
                        errs.append(.invalid(rp.child(field), s, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"))
                    }
                    if case .int(let n)? = value, n < 0 { errs.append(.invalid(rp.child(field), n, "must be greater than or equal to 0")) }
                }
                if surge == 0 && unavailable == 0 {
                    errs.append(.invalid(rp.child("maxUnavailable"), ru.maxUnavailable?.description ?? "0", "may not be 0 when `maxSurge` is 0"))
                }
                if case .string(let s)? = ru.maxUnavailable, let pct = Int(s.dropLast()), pct > 100 {
                    errs.append(.invalid(rp.child("maxUnavailable"), s, "must not be greater than 100%"))
                }
            }
        }
        return errs
    }

    public func validateUpdate(from old: Deployment) -> [FieldError] {
        spec.selector == old.spec.selector ? [] : [.invalid(FieldPath("spec").child("selector"), "", "field is immutable")]
    }

    /// Resolves an int-or-percent against `total` the way the deployment controller does.
    public static func scaled(_ value: IntOrString?, total: Int, roundUp: Bool) -> Int {
        switch value {
        case .int(let n)?: return n
        case .string(let s)?:
            guard s.hasSuffix("%"), let pct = Int(s.dropLast()) else { return 0 }
            let product = pct * total
            return roundUp ? (product + 99) / 100 : product / 100
        case nil: return 0
        }
    }
}

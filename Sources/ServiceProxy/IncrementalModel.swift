import KubeModel

/// The `ProxyModel` kept up to date Service by Service: each update finds the Services and
/// EndpointSlices that changed (by resourceVersion, or by value when an object has none),
/// re-renders only the Services they belong to and reports which frontends changed. The
/// result always equals `ProxyModel.build` over all objects with the previous model as
/// `previous` (tests check this for random change sequences). Pure: no I/O.
public struct IncrementalModel: Sendable {
    /// What one update changed.
    public struct Delta: Sendable {
        /// Frontends whose entry changed: the entry before (nil: absent) and after.
        public var frontends: [Frontend: Change] = [:]
        public var clusterIPsAdded: Set<IPAddress> = []
        public var clusterIPsRemoved: Set<IPAddress> = []
        public var loadBalancerIPsChanged = false
        public var healthChecksChanged = false
        /// `last-change-trigger-time` annotations of the EndpointSlices that changed (none on
        /// the first update: those changes happened before the proxy started).
        public var triggerTimes: [String] = []
        /// Services re-rendered.
        public var servicesRendered = 0

        public var isEmpty: Bool {
            frontends.isEmpty && clusterIPsAdded.isEmpty && clusterIPsRemoved.isEmpty && !loadBalancerIPsChanged && !healthChecksChanged
        }
    }

    /// One frontend's entry before and after (nil: absent).
    public struct Change: Sendable, Hashable {
        public var old: FrontendEntry?
        public var new: FrontendEntry?

        public init(old: FrontendEntry?, new: FrontendEntry?) {
            self.old = old
            self.new = new
        }
    }

    private struct Rendered: Sendable {
        var service: Service
        var output: ServiceFrontends
    }

    private struct SliceRecord: Sendable {
        var version: String?
        var owner: ServiceID?
    }

    private struct SliceKey: Hashable, Sendable {
        var namespace: String
        var name: String
    }

    public private(set) var model: ProxyModel
    private var rendered: [ServiceID: Rendered] = [:]
    /// resourceVersion (nil: the object has none) of every Service seen, rendered or not.
    private var serviceVersions: [ServiceID: String?] = [:]
    private var sliceVersions: [SliceKey: SliceRecord] = [:]
    private var slicesOf: [ServiceID: [SliceKey: EndpointSlice]] = [:]
    /// Services claiming each frontend, sorted: the first wins.
    private var claims: [Frontend: [ServiceID]] = [:]
    /// The Service whose entry each frontend has.
    private var owners: [Frontend: ServiceID] = [:]
    private var healthClaims: [Int: [ServiceID]] = [:]
    private var healthByPort: [Int: HealthCheck] = [:]
    private var clusterIPRefs: [IPAddress: Int] = [:]
    private var loadBalancerIPRefs: [IPAddress: Int] = [:]
    private var updates = 0

    public init(node: NodeConfig) {
        model = ProxyModel(node: node)
    }

    /// Same object, same content: resourceVersions decide when both have one.
    private static func same<R: Resource>(_ a: R, _ b: R) -> Bool {
        if let x = a.metadata.resourceVersion, let y = b.metadata.resourceVersion { return x == y }
        return a == b
    }

    /// Brings the model to `services` and `slices` (all of them, in any order).
    public mutating func update(services: [Service], slices newSlices: [EndpointSlice]) -> Delta {
        var delta = Delta()
        var dirty = Set<ServiceID>()
        let first = updates == 0
        updates += 1

        // Services: new, changed, gone. The scan touches every object, so it compares
        // resourceVersions kept apart (copying a whole Service or slice costs dozens of retains).
        var current: [ServiceID: Service] = [:]
        var known = 0
        let knownBefore = serviceVersions.count
        for i in services.indices {
            let id = ServiceID(namespace: services[i].namespace, name: services[i].name)
            if let version = serviceVersions[id] {
                known += 1
                if let version, version == services[i].metadata.resourceVersion { continue }
                if version == nil, services[i].metadata.resourceVersion == nil, rendered[id]?.service == services[i] { continue }
            }
            current[id] = services[i]
            serviceVersions[id] = .some(services[i].metadata.resourceVersion)
            dirty.insert(id)
        }
        var gone = Set<ServiceID>()
        if known < knownBefore {
            let present = Set(services.map(ServiceID.init))
            for id in serviceVersions.keys where !present.contains(id) { gone.insert(id) }
            for id in gone { serviceVersions[id] = nil }
            dirty.formUnion(gone)
        }

        // Slices: each change marks the Service it belonged to and the one it belongs to now.
        var knownSlices = 0
        var newSliceKeys = 0
        for i in newSlices.indices {
            let key = SliceKey(namespace: newSlices[i].namespace, name: newSlices[i].name)
            if let old = sliceVersions[key] {
                knownSlices += 1
                if let version = old.version, version == newSlices[i].metadata.resourceVersion { continue }
                if old.version == nil, newSlices[i].metadata.resourceVersion == nil, old.owner.flatMap({ slicesOf[$0]?[key] }) == newSlices[i] { continue }
                if let o = old.owner { dirty.insert(o); slicesOf[o]?[key] = nil }
            } else {
                newSliceKeys += 1
            }
            let slice = newSlices[i]
            let owner = slice.serviceName.map { ServiceID(namespace: slice.namespace, name: $0) }
            sliceVersions[key] = SliceRecord(version: slice.metadata.resourceVersion, owner: owner)
            if let owner { dirty.insert(owner); slicesOf[owner, default: [:]][key] = slice }
            if !first, let t = slice.annotations["endpoints.kubernetes.io/last-change-trigger-time"] { delta.triggerTimes.append(t) }
        }
        if knownSlices + newSliceKeys < sliceVersions.count {
            let present = Set(newSlices.map { SliceKey(namespace: $0.namespace, name: $0.name) })
            for (key, record) in sliceVersions where !present.contains(key) {
                sliceVersions[key] = nil
                if let o = record.owner { dirty.insert(o); slicesOf[o]?[key] = nil }
            }
        }
        guard !dirty.isEmpty else { return delta }

        // Entries as they were before this update (renders must see those as `previous`).
        var before: [Frontend: FrontendEntry?] = [:]
        var touched: [Frontend] = []
        var touchedPorts = Set<Int>()
        let node = model.node

        func unclaim(_ id: ServiceID, _ output: ServiceFrontends) {
            for fe in output.frontends.keys {
                claims[fe]?.removeAll { $0 == id }
                if claims[fe]?.isEmpty ?? false { claims[fe] = nil }
                touched.append(fe)
            }
            for ip in output.clusterIPs {
                clusterIPRefs[ip, default: 0] -= 1
                if clusterIPRefs[ip] == 0 { clusterIPRefs[ip] = nil }
            }
            for ip in output.loadBalancerIPs {
                loadBalancerIPRefs[ip, default: 0] -= 1
                if loadBalancerIPRefs[ip] == 0 { loadBalancerIPRefs[ip] = nil }
            }
            if let hc = output.healthCheck {
                healthClaims[hc.port]?.removeAll { $0 == id }
                if healthClaims[hc.port]?.isEmpty ?? false { healthClaims[hc.port] = nil }
                touchedPorts.insert(hc.port)
            }
        }
        func claim(_ id: ServiceID, _ output: ServiceFrontends) {
            for fe in output.frontends.keys {
                insertSorted(&claims[fe, default: []], id)
                touched.append(fe)
            }
            for ip in output.clusterIPs { clusterIPRefs[ip, default: 0] += 1 }
            for ip in output.loadBalancerIPs { loadBalancerIPRefs[ip, default: 0] += 1 }
            if let hc = output.healthCheck {
                insertSorted(&healthClaims[hc.port, default: []], id)
                touchedPorts.insert(hc.port)
            }
        }
        func previous(_ fe: Frontend) -> FrontendEntry? {
            if let entry = before[fe] { return entry }
            return model.frontends[fe]
        }
        func rerender(_ id: ServiceID, service: Service?) {
            if let old = rendered[id] { unclaim(id, old.output) }
            guard let service else {
                rendered[id] = nil
                return
            }
            let sliceList = slicesOf[id].map { Array($0.values) } ?? []
            let output = ProxyModel.render(service: service, slices: sliceList, node: node, previous: previous)
            rendered[id] = Rendered(service: service, output: output)
            claim(id, output)
            delta.servicesRendered += 1
        }

        for id in dirty.sorted() {
            // Not in `current`: unchanged (only its slices changed), gone, or never existed.
            rerender(id, service: current[id] ?? (gone.contains(id) ? nil : rendered[id]?.service))
        }
        for id in dirty where slicesOf[id]?.isEmpty ?? false { slicesOf[id] = nil }

        // Winners. A frontend passing to a Service that was not re-rendered gets that Service
        // re-rendered, so that its slots follow the entry of the frontend's previous owner.
        var i = 0
        while i < touched.count {
            let fe = touched[i]
            i += 1
            let winner = claims[fe]?.first
            if let winner, winner != owners[fe], !dirty.contains(winner) {
                dirty.insert(winner)
                if before[fe] == nil { before[fe] = .some(model.frontends[fe]) }
                rerender(winner, service: rendered[winner]?.service)
            }
            let newEntry = winner.flatMap { rendered[$0]?.output.frontends[fe] }
            owners[fe] = winner
            let oldEntry = model.frontends[fe]
            guard oldEntry != newEntry else { continue }
            if before[fe] == nil { before[fe] = .some(oldEntry) }
            model.frontends[fe] = newEntry
        }
        for (fe, old) in before {
            let new = model.frontends[fe]
            if old != new { delta.frontends[fe] = Change(old: old, new: new) }
        }

        let clusterIPs = Set(clusterIPRefs.keys)
        if clusterIPs.count != model.clusterIPs.count || clusterIPs != model.clusterIPs {
            delta.clusterIPsAdded = clusterIPs.subtracting(model.clusterIPs)
            delta.clusterIPsRemoved = model.clusterIPs.subtracting(clusterIPs)
            model.clusterIPs = clusterIPs
        }
        let lbIPs = Set(loadBalancerIPRefs.keys)
        if lbIPs != model.loadBalancerIPs {
            model.loadBalancerIPs = lbIPs
            delta.loadBalancerIPsChanged = true
        }
        if !touchedPorts.isEmpty {
            for port in touchedPorts {
                healthByPort[port] = healthClaims[port]?.first.flatMap { rendered[$0]?.output.healthCheck }
            }
            let checks = healthByPort.values.sorted { $0.port < $1.port }
            if checks != model.healthChecks {
                model.healthChecks = checks
                delta.healthChecksChanged = true
            }
        }
        return delta
    }

}

private func insertSorted(_ list: inout [ServiceID], _ id: ServiceID) {
    guard !list.contains(id) else { return }
    let i = list.firstIndex { id < $0 } ?? list.endIndex
    list.insert(id, at: i)
}

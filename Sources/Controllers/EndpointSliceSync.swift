import ClusterStore
import KubeModel

/// Whole-cluster planning for both slice controllers: one pass over a snapshot gives every
/// write, including the removal of slices whose Service (or Endpoints) is gone.
public enum EndpointSliceSync {
    /// The kinds the slice controllers read.
    public static let types: [ResourceType] = [Service.resourceType, Pod.resourceType, EndpointSlice.resourceType, Endpoints.resourceType]

    /// Writes of the selector-driven controller.
    public static func planSelector(_ snapshot: CacheSnapshot, now: String, reconciler: SliceReconciler = .init()) -> SliceReconciler.Plan {
        let slices = snapshot.list(EndpointSlice.self)
        let managed = Dictionary(grouping: slices.filter { $0.labels[EndpointSlice.managedByLabel] == EndpointSliceDesired.controllerName }) {
            ServiceKey(namespace: $0.namespace, name: $0.serviceName ?? "")
        }
        let podsByNamespace = Dictionary(grouping: snapshot.list(Pod.self), by: \.namespace)
        let namesByNamespace = Dictionary(grouping: slices, by: \.namespace).mapValues { Set($0.map(\.name)) }
        var plan = SliceReconciler.Plan()
        var handled = Set<ServiceKey>()
        for service in snapshot.list(Service.self) where EndpointSliceDesired.manages(service) {
            let key = ServiceKey(namespace: service.namespace, name: service.name)
            handled.insert(key)
            let owned = (managed[key] ?? []).filter { slice in
                // A slice owned by an earlier Service of the same name is replaced.
                slice.metadata.ownerReferences?.contains { $0.kind == "Service" && $0.uid == service.metadata.uid } ?? false
            }
            let stale = (managed[key] ?? []).filter { s in !owned.contains { $0.name == s.name } }
            let meta = SliceReconciler.SliceMeta(namespace: service.namespace, namePrefix: service.name,
                                                 labels: EndpointSliceDesired.labels(for: service),
                                                 owner: EndpointSliceDesired.owner(service), triggerTime: now)
            let groups = EndpointSliceDesired.groups(service: service, pods: podsByNamespace[service.namespace] ?? [])
            var p = reconciler.plan(desired: groups, existing: owned, meta: meta, takenNames: namesByNamespace[service.namespace] ?? [])
            p.delete += stale
            plan.merge(p)
        }
        for (key, slices) in managed where !handled.contains(key) { plan.delete += slices }
        return plan.sorted()
    }

    /// Writes of the mirroring controller.
    public static func planMirroring(_ snapshot: CacheSnapshot, now: String, reconciler: SliceReconciler = .init()) -> SliceReconciler.Plan {
        let slices = snapshot.list(EndpointSlice.self)
        let managed = Dictionary(grouping: slices.filter { $0.labels[EndpointSlice.managedByLabel] == EndpointSliceMirroring.controllerName }) {
            ServiceKey(namespace: $0.namespace, name: $0.serviceName ?? "")
        }
        let namesByNamespace = Dictionary(grouping: slices, by: \.namespace).mapValues { Set($0.map(\.name)) }
        var plan = SliceReconciler.Plan()
        var handled = Set<ServiceKey>()
        for endpoints in snapshot.list(Endpoints.self) {
            let service = snapshot.get(Service.self, namespace: endpoints.namespace, name: endpoints.name)
            guard EndpointSliceMirroring.mirrors(endpoints, service: service) else { continue }
            let key = ServiceKey(namespace: endpoints.namespace, name: endpoints.name)
            handled.insert(key)
            let owned = (managed[key] ?? []).filter { slice in
                slice.metadata.ownerReferences?.contains { $0.kind == "Endpoints" && $0.uid == endpoints.metadata.uid } ?? false
            }
            let stale = (managed[key] ?? []).filter { s in !owned.contains { $0.name == s.name } }
            let meta = SliceReconciler.SliceMeta(namespace: endpoints.namespace, namePrefix: endpoints.name,
                                                 labels: EndpointSliceMirroring.labels(for: endpoints),
                                                 owner: EndpointSliceMirroring.owner(endpoints), triggerTime: now)
            var p = reconciler.plan(desired: EndpointSliceMirroring.groups(endpoints), existing: owned, meta: meta,
                                    takenNames: namesByNamespace[endpoints.namespace] ?? [])
            p.delete += stale
            plan.merge(p)
        }
        for (key, slices) in managed where !handled.contains(key) { plan.delete += slices }
        return plan.sorted()
    }

    /// Performs a plan through the store. Deletes go first so that a name can be reused.
    /// A plan made from a cache that has not yet seen this controller's previous writes may
    /// create what exists or touch what is gone: those conflicts are skipped, and the next
    /// pass (which sees the store as it is) converges.
    public static func apply(_ plan: SliceReconciler.Plan, to store: any Store) async throws {
        func tolerant(_ write: () async throws -> Void) async throws {
            do {
                try await write()
            } catch let error as StoreError where [.alreadyExists, .notFound, .conflict].contains(error.reason) {
                return
            }
        }
        for slice in plan.delete {
            try await tolerant { _ = try await store.delete(ObjectKey(type: EndpointSlice.resourceType, namespace: slice.namespace, name: slice.name)) }
        }
        for slice in plan.update { try await tolerant { _ = try await store.update(Object(slice)) } }
        for slice in plan.create { try await tolerant { _ = try await store.create(Object(slice)) } }
    }
}

/// `namespace/name` of a Service.
public typealias ServiceKey = NamespacedName

extension SliceReconciler.Plan {
    mutating func merge(_ other: SliceReconciler.Plan) {
        create += other.create
        update += other.update
        delete += other.delete
    }

    func sorted() -> SliceReconciler.Plan {
        var p = self
        let order: (EndpointSlice, EndpointSlice) -> Bool = { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
        p.create.sort(by: order)
        p.update.sort(by: order)
        p.delete.sort(by: order)
        return p
    }
}

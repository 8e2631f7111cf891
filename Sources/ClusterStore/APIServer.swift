import Foundation
import KubeModel

/// What the API server does on each write, independent of where objects are stored:
/// namespace checks, defaulting and validation, IP and port allocation, uid/resourceVersion/
/// generation bookkeeping, optimistic concurrency, finalizers, cascading deletes and
/// kubectl-apply's three-way merge.
public struct APIServer: Sendable {
    public struct Configuration: Sendable {
        public var serviceCIDR: CIDR
        public var nodePortRange: ClosedRange<Int>

        public init(serviceCIDR: CIDR = CIDR("10.96.0.0/12")!, nodePortRange: ClosedRange<Int> = 30000...32767) {
            self.serviceCIDR = serviceCIDR
            self.nodePortRange = nodePortRange
        }
    }

    public static let lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"
    static let clusterIPPool = "clusterip"
    static let nodePortPool = "nodeport"

    public let configuration: Configuration
    let now: @Sendable () -> Date

    public init(configuration: Configuration = .init(), now: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.now = now
    }

    var timestamp: String { APIServer.rfc3339(now()) }

    /// RFC 3339 UTC with seconds, as the API server writes timestamps. (By hand: a date
    /// formatter per call cost more than the rest of a create.)
    public static func rfc3339(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : String(n) }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    // MARK: - Create

    func create(_ input: Object, in txn: some StorageTransaction) throws -> Object {
        var object = input
        if object.type.namespaced && object.namespace.isEmpty { object.setMeta("namespace", .string("default")) }
        if !object.type.namespaced { object.setMeta("namespace", nil) }
        if object.name.isEmpty, let prefix = object.json["metadata"]?["generateName"]?.stringValue, !prefix.isEmpty {
            object.setMeta("name", .string(prefix + APIServer.randomSuffix()))
        }
        try checkNamespace(of: object, in: txn)
        for field in ["uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation"] {
            object.setMeta(field, nil)
        }
        object.setField("status", nil)
        object = try normalize(object)
        object = try prepare(object, old: nil)
        if try txn.get(object.key) != nil {
            throw StoreError(.alreadyExists, "\(object.type.resource) \"\(object.name)\" already exists")
        }
        if object.type == Service.resourceType {
            object = try allocateService(object, old: nil, in: txn)
        }
        let rv = try txn.nextResourceVersion()
        object.setMeta("uid", .string(UUID().uuidString.lowercased()))
        object.setMeta("creationTimestamp", .string(timestamp))
        object.setMeta("generation", .int(1))
        object.setMeta("resourceVersion", .string(String(rv)))
        try txn.put(object, event: .added, resourceVersion: rv)
        return object
    }

    // MARK: - Update

    func update(_ input: Object, in txn: some StorageTransaction) throws -> Object {
        guard let old = try txn.get(input.key) else { throw StoreError.notFound(input.key) }
        try checkResourceVersion(input, against: old)
        var object = input
        for field in ["uid", "creationTimestamp", "deletionTimestamp", "namespace"] {
            object.setMeta(field, old.json["metadata"]?[field])
        }
        object.setField("status", old.status)
        object = try normalize(object)
        object = try prepare(object, old: old)
        if object.type == Service.resourceType {
            object = try allocateService(object, old: old, in: txn)
        }
        return try commitUpdate(object, old: old, in: txn)
    }

    func updateStatus(_ input: Object, in txn: some StorageTransaction) throws -> Object {
        guard let old = try txn.get(input.key) else { throw StoreError.notFound(input.key) }
        try checkResourceVersion(input, against: old)
        var object = old
        object.setField("status", input.status)
        return try commitUpdate(object, old: old, in: txn)
    }

    /// Writes an update unless nothing changed; bumps generation when the spec changed and
    /// finishes a pending deletion once the last finalizer is gone.
    private func commitUpdate(_ candidate: Object, old: Object, in txn: some StorageTransaction) throws -> Object {
        var object = candidate
        object.setMeta("resourceVersion", old.json["metadata"]?["resourceVersion"])
        object.setMeta("generation", .int(old.generation))
        if object.json == old.json { return old }
        if APIServer.specChanged(object, old) {
            object.setMeta("generation", .int(old.generation + 1))
        }
        let rv = try txn.nextResourceVersion()
        object.setMeta("resourceVersion", .string(String(rv)))
        if object.deletionTimestamp != nil && object.finalizers.isEmpty {
            try removeNow(object, in: txn)
            return object
        }
        try txn.put(object, event: .modified, resourceVersion: rv)
        return object
    }

    static func specChanged(_ a: Object, _ b: Object) -> Bool {
        var x = a.json, y = b.json
        for key in ["metadata", "status", "apiVersion", "kind"] { x[key] = nil; y[key] = nil }
        return x != y
    }

    private func checkResourceVersion(_ input: Object, against old: Object) throws {
        if !input.resourceVersion.isEmpty && input.resourceVersion != old.resourceVersion {
            throw StoreError(.conflict, "Operation cannot be fulfilled on \(old.type.resource) \"\(old.name)\": the object has been modified; please apply your changes to the latest version and try again")
        }
    }

    // MARK: - Delete

    func delete(_ key: ObjectKey, in txn: some StorageTransaction) throws -> Object? {
        guard var object = try txn.get(key) else { return nil }
        if key.type == Namespace.resourceType {
            return try deleteNamespace(object, in: txn)
        }
        // A pod running on a node is deleted gracefully: marked now, removed by the node once
        // its containers have stopped (or by a second, forced delete).
        if key.type == Pod.resourceType, object.deletionTimestamp == nil,
           !(object.spec?["nodeName"]?.stringValue ?? "").isEmpty,
           !["Succeeded", "Failed"].contains(object.status?["phase"]?.stringValue ?? "") {
            let rv = try txn.nextResourceVersion()
            let grace = object.spec?["terminationGracePeriodSeconds"]?.intValue ?? 30
            object.setMeta("deletionTimestamp", .string(APIServer.rfc3339(now().addingTimeInterval(Double(grace)))))
            object.setMeta("deletionGracePeriodSeconds", .int(grace))
            object.setMeta("resourceVersion", .string(String(rv)))
            try txn.put(object, event: .modified, resourceVersion: rv)
            return object
        }
        if !object.finalizers.isEmpty {
            if object.deletionTimestamp != nil { return object }
            let rv = try txn.nextResourceVersion()
            object.setMeta("deletionTimestamp", .string(timestamp))
            object.setMeta("resourceVersion", .string(String(rv)))
            try txn.put(object, event: .modified, resourceVersion: rv)
            return object
        }
        try removeNow(object, in: txn)
        return object
    }

    private func deleteNamespace(_ namespace: Object, in txn: some StorageTransaction) throws -> Object {
        if ["default", "kube-system", "kube-public"].contains(namespace.name) {
            throw StoreError(.forbidden, "namespaces \"\(namespace.name)\" is forbidden: this namespace may not be deleted")
        }
        var remaining = false
        for type in Scheme.types where type.namespaced {
            for item in try txn.list(type, namespace: namespace.name) {
                if let left = try delete(item.key, in: txn), left.deletionTimestamp != nil, !left.finalizers.isEmpty {
                    remaining = true
                }
            }
        }
        if remaining {
            var object = namespace
            let rv = try txn.nextResourceVersion()
            if object.deletionTimestamp == nil { object.setMeta("deletionTimestamp", .string(timestamp)) }
            object.setField("status", .object(["phase": .string("Terminating")]))
            object.setMeta("resourceVersion", .string(String(rv)))
            try txn.put(object, event: .modified, resourceVersion: rv)
            return object
        }
        try removeNow(namespace, in: txn)
        return namespace
    }

    /// Removes the object, frees what it held, deletes what it owns, and finishes a
    /// terminating namespace that became empty.
    private func removeNow(_ object: Object, in txn: some StorageTransaction) throws {
        let rv = try txn.nextResourceVersion()
        try txn.remove(object, resourceVersion: rv)
        if object.type == Service.resourceType {
            let owner = APIServer.owner(object)
            for pool in [APIServer.clusterIPPool, APIServer.nodePortPool] {
                for value in try txn.allocations(pool: pool, owner: owner) { try txn.release(pool: pool, value: value) }
            }
        }
        // Garbage collection of dependents (ownerReferences), as the API server's GC does.
        if object.type.namespaced, !object.uid.isEmpty {
            for type in Scheme.types where type.namespaced {
                for item in try txn.list(type, namespace: object.namespace) where APIServer.isOwned(item, by: object.uid) {
                    _ = try delete(item.key, in: txn)
                }
            }
        }
        if object.type.namespaced,
           let ns = try txn.get(ObjectKey(type: Namespace.resourceType, namespace: "", name: object.namespace)),
           ns.deletionTimestamp != nil {
            let empty = try Scheme.types.filter(\.namespaced).allSatisfy { try txn.list($0, namespace: object.namespace).isEmpty }
            if empty { try removeNow(ns, in: txn) }
        }
    }

    static func isOwned(_ object: Object, by uid: String) -> Bool {
        object.json["metadata"]?["ownerReferences"]?.arrayValue?.contains { $0["uid"]?.stringValue == uid } ?? false
    }

    // MARK: - Apply

    /// kubectl's client-side apply: a three-way merge of the live object, the last applied
    /// configuration (kept in an annotation) and the new manifest.
    func apply(_ input: Object, in txn: some StorageTransaction) throws -> ApplyResult {
        var desired = input
        if desired.type.namespaced && desired.namespace.isEmpty { desired.setMeta("namespace", .string("default")) }
        desired.setField("status", nil)
        var lastApplied = desired
        lastApplied.setAnnotation(APIServer.lastAppliedAnnotation, nil)
        desired.setAnnotation(APIServer.lastAppliedAnnotation, lastApplied.json.jsonString())

        guard let live = try txn.get(desired.key) else {
            let created = try create(desired, in: txn)
            return ApplyResult(key: created.key, action: .created)
        }
        let previous = live.annotations[APIServer.lastAppliedAnnotation].flatMap { try? JSONValue.parse(Data($0.utf8)) } ?? .object([:])
        var merged = live
        merged.replaceJSON(APIServer.threeWayMerge(live: live.json, last: previous, desired: desired.json))
        merged.setMeta("resourceVersion", nil)
        let updated = try update(merged, in: txn)
        let action: ApplyResult.Action = updated.resourceVersion == live.resourceVersion ? .unchanged : .configured
        return ApplyResult(key: updated.key, action: action)
    }

    /// Fields in `desired` win; fields that were applied before but are gone from `desired`
    /// are removed; fields only the server or controllers set are kept.
    static func threeWayMerge(live: JSONValue, last: JSONValue?, desired: JSONValue) -> JSONValue {
        switch (live, desired) {
        case (.object(var result), .object(let want)):
            let previous = last?.objectValue ?? [:]
            for key in previous.keys where want[key] == nil {
                result[key] = nil
            }
            for (key, value) in want {
                if let current = result[key] {
                    result[key] = threeWayMerge(live: current, last: previous[key], desired: value)
                } else {
                    result[key] = value
                }
            }
            return .object(result)
        case (.array(let current), .array(let want)) where current.count == want.count:
            let previous = last?.arrayValue
            return .array(current.indices.map { i in
                threeWayMerge(live: current[i], last: previous.flatMap { i < $0.count ? $0[i] : nil }, desired: want[i])
            })
        default:
            return desired
        }
    }

    /// Applies every object, namespaces first (so that a folder applies whatever the file
    /// order), attributing a failure to its position; results come back in input order. Each
    /// object is parsed just before it is applied and let go after.
    func apply(_ objects: [EncodedObject], in txn: some StorageTransaction) throws -> [ApplyResult] {
        let order = objects.indices.sorted { a, b in
            let (na, nb) = (objects[a].key.type == Namespace.resourceType, objects[b].key.type == Namespace.resourceType)
            return na != nb ? na : a < b
        }
        var results = [ApplyResult?](repeating: nil, count: objects.count)
        for index in order {
            do {
                results[index] = try apply(objects[index].decode(), in: txn)
            } catch let error as StoreError {
                throw error.at(index)
            }
        }
        return results.map { $0! }
    }

    // MARK: - Shared steps

    private func checkNamespace(of object: Object, in txn: some StorageTransaction) throws {
        guard object.type.namespaced else { return }
        guard let ns = try txn.get(ObjectKey(type: Namespace.resourceType, namespace: "", name: object.namespace)) else {
            throw StoreError(.notFound, "namespaces \"\(object.namespace)\" not found")
        }
        if ns.deletionTimestamp != nil {
            throw StoreError(.forbidden, "\(object.type.resource) \"\(object.name)\" is forbidden: unable to create new content in namespace \(object.namespace) because it is being terminated")
        }
    }

    /// Conversions the API server makes before validation (Secret stringData into data).
    private func normalize(_ object: Object) throws -> Object {
        guard object.type == Secret.resourceType, let stringData = object.json["stringData"]?.objectValue else { return object }
        var result = object
        var data = object.json["data"]?.objectValue ?? [:]
        for (key, value) in stringData {
            data[key] = .string(Data((value.stringValue ?? "").utf8).base64EncodedString())
        }
        result.setField("data", .object(data))
        result.setField("stringData", nil)
        return result
    }

    private func prepare(_ object: Object, old: Object?) throws -> Object {
        switch Scheme.prepare(object, old: old) {
        case .success(let prepared): return prepared
        case .failure(let failure): throw StoreError.invalid(object, failure.errors)
        }
    }

    static func owner(_ object: Object) -> String { "\(object.namespace)/\(object.name)" }

    static func randomSuffix() -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String((0..<5).map { _ in alphabet.randomElement()! })
    }
}

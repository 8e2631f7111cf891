import KubeModel

/// One write of a batch (`Store.write(_:)`): the same operation as the single-object call.
public enum StoreWrite: Sendable, Hashable, CustomStringConvertible {
    case create(Object)
    /// Spec and metadata; a non-empty stale `resourceVersion` fails with a conflict.
    case update(Object)
    /// Status only, with the same version check.
    case updateStatus(Object)
    case delete(ObjectKey)

    /// The object written.
    public var key: ObjectKey {
        switch self {
        case .create(let o), .update(let o), .updateStatus(let o): return o.key
        case .delete(let key): return key
        }
    }

    public var description: String {
        switch self {
        case .create(let o): return "create \(o.key.type.namePrefix)/\(o.name)"
        case .update(let o): return "update \(o.key.type.namePrefix)/\(o.name)"
        case .updateStatus(let o): return "update status of \(o.key.type.namePrefix)/\(o.name)"
        case .delete(let key): return "delete \(key.type.namePrefix)/\(key.name)"
        }
    }
}

/// What became of one write of a batch.
public enum StoreWriteResult: Sendable, Hashable {
    /// Done: the object as stored (for a delete, as it was left: removed, or marked while
    /// finalizers remain).
    case written(Object)
    /// Refused by the API server (conflict, invalid, not found, …); nothing of it was kept.
    case failed(StoreError)
    /// Not tried: an earlier write of its group failed.
    case skipped

    public var object: Object? {
        if case .written(let object) = self { return object }
        return nil
    }

    public var error: StoreError? {
        if case .failed(let error) = self { return error }
        return nil
    }
}

extension APIServer {
    /// A batch inside one transaction. Groups run in order, and the writes of a group in
    /// order; a refused write is rolled back alone (a savepoint), skips the rest of its
    /// group and leaves every other write in place. This is a controller's pass: each group
    /// is one operation whose steps kube-controller-manager would issue as separate API
    /// calls, so a group cut short is exactly what a crash between those calls leaves, and
    /// the controller's next sync completes it.
    ///
    /// An update whose `resourceVersion` this batch itself replaced is checked against the
    /// replacement: a group can write an object's spec and then its status from one read,
    /// and still conflicts with anyone else's change made since that read.
    func write(_ groups: [[StoreWrite]], in txn: some StorageTransaction) throws -> [[StoreWriteResult]] {
        // Per object: the versions this batch replaced, and the version it wrote last.
        var replaced: [ObjectKey: Set<String>] = [:]
        var written: [ObjectKey: String] = [:]
        return try groups.map { group in
            var failed = false
            return try group.map { write -> StoreWriteResult in
                if failed { return .skipped }
                let key = write.key
                var expected: String?
                do {
                    let result = try txn.savepoint { () throws -> Object in
                        switch write {
                        case .create(let object):
                            return try create(object, in: txn)
                        case .update(var object), .updateStatus(var object):
                            let version = object.resourceVersion
                            if !version.isEmpty, replaced[key]?.contains(version) == true {
                                object.setMeta("resourceVersion", written[key].map(JSONValue.string))
                            }
                            expected = object.resourceVersion.isEmpty ? written[key] : object.resourceVersion
                            if case .update = write { return try update(object, in: txn) }
                            return try updateStatus(object, in: txn)
                        case .delete(let key):
                            guard let left = try delete(key, in: txn) else { throw StoreError.notFound(key) }
                            return left
                        }
                    }
                    if let expected, expected != result.resourceVersion { replaced[key, default: []].insert(expected) }
                    written[key] = result.resourceVersion
                    return .written(result)
                } catch let error as StoreError {
                    failed = true
                    return .failed(error)
                }
            }
        }
    }
}

import ClusterStore
import KubeModel
import Logging

/// Runs a plan: store writes and volume work, operation by operation. A failed step skips
/// the rest of its operation and reports the failure on the claim or volume; other
/// operations go on. Operations that are only store writes (a bind's four) go to the store
/// in one `Store.write` batch, with the same per-operation semantics. Writes keep the fields
/// kplane does not model (they are merged into the stored object) and carry the newest
/// resourceVersion this pass has seen, so a change by someone else in between is a
/// conflict, retried on the next pass.
struct StorageApplier {
    let store: any Store
    let host: (any VolumeHost)?
    let logger: Logger
    let now: String
    let snapshot: CacheSnapshot
    /// The newest stored version of each object this pass wrote.
    var written: [ObjectKey: Object] = [:]

    /// What a run did.
    struct Outcome {
        var writes = 0
        var failures = 0
        var provisioned: [Duration] = []
        var highestResourceVersion: Int64 = 0
        var errors: [String] = []
    }

    init(store: any Store, host: (any VolumeHost)?, snapshot: CacheSnapshot, logger: Logger, now: String) {
        self.store = store
        self.host = host
        self.logger = logger
        self.now = now
        self.snapshot = snapshot
    }

    /// The newest version of an object this pass knows: its own write, else the snapshot's.
    func latest(_ key: ObjectKey) -> Object? {
        written[key] ?? snapshot.object(key)
    }

    /// Status updates replace the whole status; spec updates replace these fields entirely
    /// (so removals count) and merge everything else.
    static let ownedPaths: [[String]] = [["metadata", "annotations"], ["metadata", "finalizers"], ["spec", "claimRef"], ["spec", "capacity"]]

    mutating func apply(_ plan: StoragePlan) async -> Outcome {
        var outcome = Outcome()
        // Operations made only of store writes go to the store together, one transaction per
        // run of them; an operation with volume work runs step by step, in plan order.
        var batch: [StorageOperation] = []
        for operation in plan.operations {
            if StorageApplier.isBatchable(operation) {
                batch.append(operation)
                continue
            }
            await write(batch, &outcome)
            batch = []
            if Task.isCancelled { return outcome }
            await run(operation, &outcome)
        }
        await write(batch, &outcome)
        return outcome
    }

    /// Store writes only, and a create or delete (whose "already exists" and "not found" count
    /// as done) only as the last step.
    static func isBatchable(_ operation: StorageOperation) -> Bool {
        operation.steps.indices.allSatisfy { i in
            switch operation.steps[i] {
            case .updateVolume, .updateVolumeStatus, .updateClaim, .updateClaimStatus: return true
            case .createVolume, .createClass, .deleteVolume: return i == operation.steps.count - 1
            case .provision, .mount, .expand, .removeData: return false
            }
        }
    }

    /// Several operations in one store transaction: each is a group whose writes stop at the
    /// first refusal, which is reported as `run` would.
    private mutating func write(_ operations: [StorageOperation], _ outcome: inout Outcome) async {
        guard !operations.isEmpty else { return }
        let groups = operations.map { $0.steps.map { storeWrite($0) } }
        let results: [[StoreWriteResult]]
        do {
            results = try await store.write(groups)
        } catch {
            // Nothing was written; the next pass plans it all again.
            outcome.failures += operations.count
            outcome.errors.append("write \(groups.count) operations: \(error)")
            logger.warning("storage.batch.failed", metadata: ["operations": "\(operations.count)", "error": "\(error)"])
            return
        }
        var failed: [(StorageOperation, StorageStep, StoreError)] = []
        for (operation, stepResults) in zip(operations, results) {
            for (step, result) in zip(operation.steps, stepResults) {
                switch result {
                case .written(let object):
                    if case .deleteVolume = step {
                        outcome.writes += 1
                        outcome.highestResourceVersion = max(outcome.highestResourceVersion, Int64(object.resourceVersion) ?? 0)
                    } else {
                        record(object, &outcome)
                    }
                case .failed(let error) where StorageApplier.isDone(step, error):
                    break
                case .failed(let error):
                    failed.append((operation, step, error))
                case .skipped:
                    break
                }
            }
        }
        for (operation, step, error) in failed {
            outcome.failures += 1
            outcome.errors.append("\(step): \(error)")
            logger.warning("storage.step.failed", metadata: ["step": "\(step)", "error": "\(error)"])
            await reportFailure(operation.onFailure, error: error, &outcome)
        }
    }

    /// A create of what exists (an earlier, interrupted pass made it) or a delete of what is gone.
    static func isDone(_ step: StorageStep, _ error: StoreError) -> Bool {
        switch step {
        case .createVolume, .createClass: return error.reason == .alreadyExists
        case .deleteVolume: return error.reason == .notFound
        default: return false
        }
    }

    /// One operation step by step: a failed step skips the rest and is reported.
    private mutating func run(_ operation: StorageOperation, _ outcome: inout Outcome) async {
        for step in operation.steps {
            do {
                let clock = ContinuousClock()
                let start = clock.now
                try await run(step, &outcome)
                if case .provision = step { outcome.provisioned.append(clock.now - start) }
            } catch is CancellationError {
                return
            } catch let pending as ResizePending {
                if case .claim(let claim, _, _)? = operation.onFailure {
                    await report(claim: claim, type: ClaimCondition.fileSystemResizePending, reason: "FileSystemResizePending", message: pending.message, &outcome)
                }
                return
            } catch {
                outcome.failures += 1
                outcome.errors.append("\(step): \(error)")
                logger.warning("storage.step.failed", metadata: ["step": "\(step)", "error": "\(error)"])
                await reportFailure(operation.onFailure, error: error, &outcome)
                return
            }
        }
    }

    struct ResizePending: Error { var message: String }

    private mutating func run(_ step: StorageStep, _ outcome: inout Outcome) async throws {
        switch step {
        case .updateVolume, .updateClaim:
            if case .update(let object) = storeWrite(step) { record(try await store.update(object), &outcome) }
        case .updateVolumeStatus, .updateClaimStatus:
            if case .updateStatus(let object) = storeWrite(step) { record(try await store.updateStatus(object), &outcome) }
        case .createVolume(let volume):
            do {
                record(try await store.create(Object(volume)), &outcome)
            } catch let error as StoreError where error.reason == .alreadyExists {
                // Created by an earlier, interrupted pass.
            }
        case .createClass(let sc):
            do {
                record(try await store.create(Object(sc)), &outcome)
            } catch let error as StoreError where error.reason == .alreadyExists {}
        case .deleteVolume(let name):
            do {
                if let left = try await store.delete(ObjectKey(type: PersistentVolume.resourceType, namespace: "", name: name)) {
                    outcome.highestResourceVersion = max(outcome.highestResourceVersion, Int64(left.resourceVersion) ?? 0)
                }
                outcome.writes += 1
            } catch let error as StoreError where error.reason == .notFound {}
        case .provision(let volume):
            try await requireHost().create(volume)
        case .mount(let volume):
            try await requireHost().mount(volume)
        case .expand(let volume, let bytes):
            if case .pending(let why) = try await requireHost().expand(volume, to: bytes) { throw ResizePending(message: why) }
        case .removeData(let volume):
            try await requireHost().remove(volume)
        }
    }

    private func requireHost() throws -> any VolumeHost {
        guard let host else { throw VolumeError("this controller has no volume host (provisioning is off)") }
        return host
    }

    private mutating func write(_ typed: Object, status: Bool, _ outcome: inout Outcome) async throws {
        let object = prepared(typed, status: status)
        let written = status ? try await store.updateStatus(object) : try await store.update(object)
        record(written, &outcome)
    }

    /// What a write sends: the newest stored object with the plan's status, or with the
    /// plan's metadata and spec merged in, at the stored resourceVersion.
    func prepared(_ typed: Object, status: Bool) -> Object {
        let base = latest(typed.key) ?? typed
        var object = base
        if status {
            object.setField("status", typed.status)
        } else {
            object.replaceJSON(base.json.merging(typed.json))
            for path in StorageApplier.ownedPaths {
                object.replaceJSON(StorageApplier.setting(object.json, path, StorageApplier.value(typed.json, path)))
            }
            object.setMeta("resourceVersion", base.json["metadata"]?["resourceVersion"])
        }
        return object
    }

    /// A status write: only the status is encoded (half of a bind's encoding work), the
    /// rest is the stored object's.
    func preparedStatus<T: Resource>(_ typed: T, _ status: some Encodable) -> Object {
        guard var object = latest(ObjectKey(type: T.resourceType, namespace: typed.namespace, name: typed.name)) else {
            return Object(typed)
        }
        object.setField("status", try? JSONValue.encode(status))
        return object
    }

    /// A step of a batchable operation as a store write.
    func storeWrite(_ step: StorageStep) -> StoreWrite {
        switch step {
        case .updateVolume(let v): return .update(prepared(Object(v), status: false))
        case .updateVolumeStatus(let v): return .updateStatus(preparedStatus(v, v.status))
        case .updateClaim(let c): return .update(prepared(Object(c), status: false))
        case .updateClaimStatus(let c): return .updateStatus(preparedStatus(c, c.status))
        case .createVolume(let v): return .create(Object(v))
        case .createClass(let c): return .create(Object(c))
        case .deleteVolume(let name): return .delete(ObjectKey(type: PersistentVolume.resourceType, namespace: "", name: name))
        case .provision, .mount, .expand, .removeData:
            preconditionFailure("volume work in a batch: isBatchable lets only store writes through")
        }
    }

    private mutating func record(_ object: Object, _ outcome: inout Outcome) {
        written[object.key] = object
        outcome.writes += 1
        outcome.highestResourceVersion = max(outcome.highestResourceVersion, Int64(object.resourceVersion) ?? 0)
    }

    static func value(_ json: JSONValue, _ path: [String]) -> JSONValue? {
        var v: JSONValue? = json
        for key in path { v = v?[key] }
        return v
    }

    static func setting(_ json: JSONValue, _ path: [String], _ value: JSONValue?) -> JSONValue {
        guard let first = path.first, case .object(var map) = json else { return json }
        if path.count == 1 {
            map[first] = value
        } else {
            let child = map[first] ?? .object([:])
            if value == nil && map[first] == nil { return json }
            map[first] = setting(child, Array(path.dropFirst()), value)
        }
        return .object(map)
    }

    // MARK: - Failures

    private mutating func reportFailure(_ report: FailureReport?, error: any Error, _ outcome: inout Outcome) async {
        switch report {
        case .claim(let claim, let reason, let prefix)?:
            let type = reason == "VolumeResizeFailed" ? ClaimCondition.controllerResizeError : ClaimCondition.pending
            await self.report(claim: claim, type: type, reason: reason, message: "\(prefix): \(error)", &outcome)
        case .volume(let volume, let reason, let prefix)?:
            let key = ObjectKey(type: PersistentVolume.resourceType, namespace: "", name: volume.name)
            guard let stored = latest(key), var typed = try? stored.decode(PersistentVolume.self) else { return }
            let message = "\(prefix): \(error)"
            if typed.status.phase == Phase.failed && typed.status.message == message { return }
            if typed.status.phase != Phase.failed { typed.status.lastPhaseTransitionTime = now }
            typed.status.phase = Phase.failed
            typed.status.message = message
            typed.status.reason = reason
            do { try await write(Object(typed), status: true, &outcome) } catch {
                logger.warning("storage.report.failed", metadata: ["volume": "\(volume.name)", "error": "\(error)"])
            }
        case nil:
            return
        }
    }

    private mutating func report(claim: PersistentVolumeClaim, type: String, reason: String, message: String, _ outcome: inout Outcome) async {
        let key = ObjectKey(type: PersistentVolumeClaim.resourceType, namespace: claim.namespace, name: claim.name)
        guard let stored = latest(key), var typed = try? stored.decode(PersistentVolumeClaim.self) else { return }
        var conditions = typed.status.conditions ?? []
        if let existing = conditions.first(where: { $0.type == type }), existing.reason == reason, existing.message == message { return }
        conditions.removeAll { $0.type == type }
        conditions.append(Condition(type: type, status: "True", reason: reason, message: message, lastTransitionTime: now))
        typed.status.conditions = conditions
        do { try await write(Object(typed), status: true, &outcome) } catch {
            logger.warning("storage.report.failed", metadata: ["claim": "\(claim.namespace)/\(claim.name)", "error": "\(error)"])
        }
    }
}

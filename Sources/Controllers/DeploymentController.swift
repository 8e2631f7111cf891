import ClusterStore
import Foundation
import KubeModel
import Logging
import ServiceLifecycle
import Synchronization

/// The Deployment controller: keeps `replicas` pods from the template, rolls a changed
/// template out with RollingUpdate (maxSurge/maxUnavailable) or Recreate, and reports
/// status. kplane keeps pods owned by the Deployment directly (no ReplicaSets); each pod
/// carries the `pod-template-hash` label of the template it was made from.
public final class DeploymentController: ServiceLifecycle.Service, Sendable {
    public static let hashLabel = "pod-template-hash"

    let cache: ClusterCache
    let logger: Logger
    /// Per Deployment, the resourceVersion of our last write: until the cache has caught up
    /// with it, acting again would create or delete pods twice (the ReplicaSet controller's
    /// "expectations").
    private let expectations = Mutex<[String: Int64]>([:])

    public init(cache: ClusterCache, logger: Logger) {
        self.cache = cache
        self.logger = logger
    }

    public func run() async throws {
        await ReconcileLoop.run(cache: cache, name: "deployments", minInterval: .milliseconds(20), logger: logger) { [self] snapshot in
            try await self.reconcile(snapshot)
        }
    }

    func reconcile(_ snapshot: CacheSnapshot) async throws {
        let pods = snapshot.list(Pod.self)
        for deployment in snapshot.list(Deployment.self) where deployment.metadata.deletionTimestamp == nil {
            guard let uid = deployment.metadata.uid else { continue }
            if let expected = expectations.withLock({ $0[uid] }), snapshot.resourceVersion < expected { continue }
            let owned = pods.filter { $0.metadata.ownerReferences?.contains { $0.uid == uid } ?? false }
            let plan = DeploymentPlan.make(deployment, pods: owned)
            var lastWrite: Int64 = 0
            for _ in 0..<plan.create {
                let created = try await cache.store.create(Object(DeploymentPlan.newPod(deployment, hash: plan.hash)))
                lastWrite = max(lastWrite, Int64(created.resourceVersion) ?? 0)
            }
            for name in plan.delete {
                if let deleted = try? await cache.store.delete(ObjectKey(type: Pod.resourceType, namespace: deployment.namespace, name: name)) {
                    lastWrite = max(lastWrite, Int64(deleted.resourceVersion) ?? 0)
                }
            }
            if lastWrite > 0 { expectations.withLock { $0[uid] = lastWrite } }
            if plan.status != deployment.status,
               var object = snapshot.object(ObjectKey(type: Deployment.resourceType, namespace: deployment.namespace, name: deployment.name)) {
                object.setField("status", try JSONValue.encode(plan.status))
                object.setMeta("resourceVersion", nil)
                _ = try await cache.store.updateStatus(object)
            }
        }
    }
}

/// The pure part: what to create and delete for one Deployment, and its status.
public struct DeploymentPlan: Sendable, Equatable {
    public var hash: String
    public var create: Int
    public var delete: [String]
    public var status: Deployment.Status

    public static func make(_ d: Deployment, pods: [Pod], now: Date = Date()) -> DeploymentPlan {
        let hash = templateHash(d.spec.template)
        let replicas = d.spec.replicas ?? 1
        let live = pods.filter { $0.metadata.deletionTimestamp == nil && !$0.isTerminal }
        let terminating = pods.filter { $0.metadata.deletionTimestamp != nil }
        let current = live.filter { $0.labels[DeploymentController.hashLabel] == hash }
        let old = live.filter { $0.labels[DeploymentController.hashLabel] != hash }
        // Unready, then newest, go first (as the ReplicaSet controller ranks pods).
        func deletionOrder(_ list: [Pod]) -> [Pod] {
            list.sorted { a, b in
                if a.isReady != b.isReady { return !a.isReady }
                return (a.metadata.creationTimestamp ?? "") > (b.metadata.creationTimestamp ?? "")
            }
        }
        var create = 0
        var delete: [String] = []
        let strategy = d.spec.strategy?.type ?? "RollingUpdate"
        if strategy == "Recreate" {
            if !old.isEmpty {
                delete = old.map(\.name)
            } else if terminating.isEmpty {
                create = max(0, replicas - current.count)
                delete = deletionOrder(current).prefix(max(0, current.count - replicas)).map(\.name)
            }
        } else {
            let surge = Deployment.scaled(d.spec.strategy?.rollingUpdate?.maxSurge ?? .string("25%"), total: replicas, roundUp: true)
            var unavailable = Deployment.scaled(d.spec.strategy?.rollingUpdate?.maxUnavailable ?? .string("25%"), total: replicas, roundUp: false)
            if surge == 0 && unavailable == 0 { unavailable = 1 }
            if old.isEmpty {
                create = max(0, replicas - current.count)
                delete = deletionOrder(current).prefix(max(0, current.count - replicas)).map(\.name)
            } else {
                let room = replicas + surge - live.count
                create = max(0, min(room, replicas - current.count))
                let available = live.filter(\.isReady).count
                var removable = available - (replicas - unavailable)
                // Old pods that are not ready cost no availability: remove them first.
                for pod in deletionOrder(old) {
                    if !pod.isReady {
                        delete.append(pod.name)
                    } else if removable > 0 {
                        delete.append(pod.name)
                        removable -= 1
                    }
                }
            }
        }
        var status = Deployment.Status()
        status.observedGeneration = d.metadata.generation
        status.replicas = live.count
        status.updatedReplicas = current.count
        status.readyReplicas = live.filter(\.isReady).count
        status.availableReplicas = status.readyReplicas
        status.unavailableReplicas = max(0, replicas - (status.availableReplicas ?? 0))
        let maxUnavailable = strategy == "Recreate" ? replicas : Deployment.scaled(d.spec.strategy?.rollingUpdate?.maxUnavailable ?? .string("25%"), total: replicas, roundUp: false)
        let availableOK = (status.availableReplicas ?? 0) >= replicas - maxUnavailable
        let complete = current.count == replicas && old.isEmpty && (status.availableReplicas ?? 0) == replicas
        let previous = d.status.conditions ?? []
        func condition(_ type: String, _ ok: Bool, _ reason: String, _ message: String) -> Condition {
            let value = ok ? "True" : "False"
            let kept = previous.first { $0.type == type && $0.status == value && $0.reason == reason }
            var c = Condition(type: type, status: value, reason: reason, message: message, lastTransitionTime: kept?.lastTransitionTime ?? APIServer.rfc3339(now))
            c.lastUpdateTime = kept?.lastUpdateTime ?? c.lastTransitionTime
            return c
        }
        status.conditions = [
            condition("Available", availableOK, availableOK ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
                      availableOK ? "Deployment has minimum availability." : "Deployment does not have minimum availability."),
            condition("Progressing", true, complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated",
                      complete ? "Deployment \"\(d.name)\" has successfully progressed." : "Deployment \"\(d.name)\" is progressing."),
        ]
        return DeploymentPlan(hash: hash, create: create, delete: delete, status: status)
    }

    /// A stable short hash of the pod template (FNV-1a over its canonical JSON).
    public static func templateHash(_ template: Deployment.PodTemplate) -> String {
        let text = (try? JSONValue.encode(template).jsonString()) ?? ""
        var h: UInt64 = 0xcbf29ce484222325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        var out = ""
        for _ in 0..<10 { out.append(alphabet[Int(h % UInt64(alphabet.count))]); h /= UInt64(alphabet.count) }
        return out
    }

    /// A new pod from the template, owned by the Deployment.
    public static func newPod(_ d: Deployment, hash: String) -> Pod {
        var pod = Pod()
        pod.metadata = d.spec.template.metadata
        pod.metadata.name = nil
        pod.metadata.generateName = "\(d.name)-\(hash)-"
        pod.metadata.namespace = d.namespace
        var labels = d.spec.template.metadata.labels ?? [:]
        labels[DeploymentController.hashLabel] = hash
        pod.metadata.labels = labels
        pod.metadata.ownerReferences = [OwnerReference(apiVersion: Deployment.resourceType.apiVersion, kind: "Deployment", name: d.name, uid: d.metadata.uid ?? "")]
        pod.spec = d.spec.template.spec
        return pod
    }
}

import ClusterStore
import Foundation
import HostSystem
import KubeModel
import Logging
import ServiceLifecycle
import Synchronization

/// The `pods` component (kubelet's role on one machine): binds unscheduled pods to this
/// node, gives each an address, runs it with a `PodWorker`, writes its status, and finishes
/// graceful deletions. At start it removes what a crashed predecessor left behind (so a pod
/// never runs twice); at stop it stops every pod within its grace period and removes the
/// namespaces, leaving the pods' state in the store.
public final class PodRuntimeService: ServiceLifecycle.Service, Sendable {
    private struct State {
        var workers: [String: (worker: PodWorker, task: Task<Void, Never>, ip: IPAddress, stopping: Bool)] = [:]
        var ipam: IPAM
    }

    let node: NodeConfiguration
    let cache: ClusterCache
    let logger: Logger
    let backoffBase: TimeInterval
    private let state: Mutex<State>

    public init(node: NodeConfiguration, cache: ClusterCache, logger: Logger, backoffBase: TimeInterval = 10) {
        self.node = node
        self.cache = cache
        self.logger = logger
        self.backoffBase = backoffBase
        state = Mutex(State(ipam: IPAM(cidr: node.podCIDR, used: [])))
    }

    /// Why this component cannot run here, if it cannot (it needs root for namespaces).
    public static func unavailableReason() -> String? {
        if getuid() != 0 { return "needs root (network namespaces, veth pairs, mounts); run as root or leave it out with --components" }
        for tool in ["ip", "nsenter", "unshare", "setpriv", "mount"] where HostCommand.find(tool) == nil {
            return "needs `\(tool)` (Debian packages iproute2 and util-linux)"
        }
        return nil
    }

    public func run() async throws {
        let network = PodNetwork(node: node)
        try FileManager.default.createDirectory(atPath: node.podsDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let removed = await network.cleanLeftovers()
        if !removed.isEmpty { logger.info("pods.leftovers.removed", metadata: ["count": "\(removed.count)"]) }
        try await network.ensureBridge()
        await ReconcileLoop.run(cache: cache, name: "pods", minInterval: .milliseconds(10), resync: .seconds(10), logger: logger) { [self] snapshot in
            try await self.reconcile(snapshot)
        }
        await stopAll()
        await network.removeBridge()
    }

    /// Which pods this node should be running now.
    private func reconcile(_ snapshot: CacheSnapshot) async throws {
        let pods = snapshot.list(Pod.self)
        var wanted: [String: Pod] = [:]
        for pod in pods {
            guard let uid = pod.metadata.uid else { continue }
            let nodeName = pod.spec.nodeName ?? ""
            if nodeName.isEmpty && pod.metadata.deletionTimestamp == nil {
                try? await bind(pod)
                continue
            }
            guard nodeName == node.nodeName else { continue }
            if pod.metadata.deletionTimestamp != nil {
                await finishDeletion(pod)
                continue
            }
            if pod.isTerminal && !hasWorker(uid) { continue }
            wanted[uid] = pod
        }
        // Addresses in use: stored statuses of this node's pods, and running workers.
        let stored = pods.filter { $0.spec.nodeName == node.nodeName && !$0.isTerminal }.compactMap { $0.status.podIP.flatMap(IPAddress.init) }
        state.withLock { state in
            for ip in stored { _ = state.ipam.claim(ip) }
        }
        for (uid, pod) in wanted {
            if let worker = state.withLock({ $0.workers[uid]?.worker }) {
                await worker.update(pod: pod, snapshot: snapshot)
            } else {
                start(pod, snapshot: snapshot)
            }
        }
        // Workers whose pod is gone from the store: stop them.
        let gone = state.withLock { state in state.workers.filter { wanted[$0.key] == nil && !$0.value.stopping }.map(\.key) }
        for uid in gone {
            let stillStored = pods.contains { $0.metadata.uid == uid && $0.metadata.deletionTimestamp == nil }
            if stillStored { continue }
            await stopWorker(uid, grace: 0, removeFiles: true)
        }
    }

    private func hasWorker(_ uid: String) -> Bool { state.withLock { $0.workers[uid] != nil } }

    /// The scheduler's job on a one-node cluster: every unscheduled pod lands here.
    private func bind(_ pod: Pod) async throws {
        guard let object = cache.snapshot.object(ObjectKey(type: Pod.resourceType, namespace: pod.namespace, name: pod.name)) else { return }
        var bound = object
        var spec = object.json["spec"] ?? .object([:])
        spec["nodeName"] = .string(node.nodeName)
        bound.setField("spec", spec)
        _ = try await cache.store.update(bound)
    }

    private func start(_ pod: Pod, snapshot: CacheSnapshot) {
        guard let uid = pod.metadata.uid else { return }
        let ip: IPAddress? = state.withLock { state in
            if let stored = pod.status.podIP.flatMap(IPAddress.init), state.ipam.cidr.contains(stored),
               !state.workers.values.contains(where: { $0.ip == stored }) {
                return stored
            }
            return state.ipam.allocate()
        }
        guard let ip else {
            logger.error("pods.ipam.exhausted", metadata: ["k8s.pod": "\(pod.namespace)/\(pod.name)"])
            return
        }
        let store = cache.store
        let logger = self.logger
        let worker = PodWorker(pod: pod, ip: ip, snapshot: snapshot, node: node, backoffBase: backoffBase, logger: logger) { key, status in
            await PodRuntimeService.writeStatus(store: store, key: key, uid: uid, status: status, logger: logger)
        }
        let task = Task { await worker.run() }
        state.withLock { $0.workers[uid] = (worker, task, ip, false) }
        logger.info("pod.starting", metadata: ["k8s.pod": "\(pod.namespace)/\(pod.name)", "ip": "\(ip)"])
    }

    static func writeStatus(store: any Store, key: ObjectKey, uid: String, status: Pod.Status, logger: Logger) async {
        do {
            guard var object = try await store.get(key), object.uid == uid else { return }
            object.setField("status", try JSONValue.encode(status))
            object.setMeta("resourceVersion", nil)
            _ = try await store.updateStatus(object)
        } catch {
            logger.debug("pod.status.write.failed", metadata: ["k8s.pod": "\(key)", "error": "\(error)"])
        }
    }

    /// Graceful deletion: stop the containers within the grace period, then remove the pod.
    private func finishDeletion(_ pod: Pod) async {
        guard let uid = pod.metadata.uid else { return }
        let alreadyStopping = state.withLock { state -> Bool in
            guard let w = state.workers[uid] else { return false }
            if w.stopping { return true }
            state.workers[uid]?.stopping = true
            return false
        }
        if alreadyStopping { return }
        let grace = TimeInterval(pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30)
        let key = ObjectKey(type: Pod.resourceType, namespace: pod.namespace, name: pod.name)
        let store = cache.store
        Task {
            await self.stopWorker(uid, grace: grace, removeFiles: true)
            if try await store.get(key)?.uid == uid { _ = try? await store.delete(key) }
        }
    }

    private func stopWorker(_ uid: String, grace: TimeInterval, removeFiles: Bool) async {
        let entry = state.withLock { state in
            state.workers[uid].map { w -> (PodWorker, Task<Void, Never>, IPAddress) in
                state.workers[uid]?.stopping = true
                return (w.worker, w.task, w.ip)
            }
        }
        guard let (worker, task, ip) = entry else {
            if removeFiles { await PodDirectory(podsDirectory: node.podsDirectory, uid: uid).remove() }
            try? await PodNetwork(node: node).tearDown(uid: uid)
            return
        }
        await worker.stop(grace: grace, removeFiles: removeFiles)
        await task.value
        state.withLock { state in
            state.workers[uid] = nil
            state.ipam.release(ip)
        }
    }

    /// On shutdown: every pod stopped within its grace period; files kept (pods come back).
    private func stopAll() async {
        let uids = state.withLock { Array($0.workers.keys) }
        let pods = cache.snapshot.list(Pod.self)
        await withTaskGroup(of: Void.self) { group in
            for uid in uids {
                let grace = TimeInterval(pods.first { $0.metadata.uid == uid }?.spec.terminationGracePeriodSeconds ?? 30)
                group.addTask { await self.stopWorker(uid, grace: grace, removeFiles: false) }
            }
        }
    }
}

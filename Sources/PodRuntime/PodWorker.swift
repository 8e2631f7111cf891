import ClusterStore
import Foundation
import KubeModel
import Logging

/// Runs one pod for its whole life on this node, as kubelet's pod worker does: network,
/// volumes, init containers in order, then the containers with their restart policy and
/// back-off, probes, and the status that follows from all of it. Stopping sends SIGTERM,
/// waits the grace period, then SIGKILL, and removes the network namespace.
actor PodWorker {
    struct ContainerState {
        var spec: Pod.Container
        var process: Process?
        var instance = 0
        var restartCount = 0
        var startedAt: Date?
        var current = Pod.ContainerState()
        var last: Pod.ContainerState?
        var ready = false
        var started = false
        var backoff: TimeInterval = 0
        var nextStart = Date.distantPast
        var done = false
        var probes: [Task<Void, Never>] = []
    }

    let uid: String
    let key: ObjectKey
    let ip: IPAddress
    let node: NodeConfiguration
    let network: PodNetwork
    let directory: PodDirectory
    let backoffBase: TimeInterval
    let logger: Logger
    let publish: @Sendable (ObjectKey, Pod.Status) async -> Void

    private var pod: Pod
    private var snapshot: CacheSnapshot
    private var containers: [String: ContainerState] = [:]
    private var initDone = false
    private var networkReady = false
    private var blocked: PodPlan.Blocked?
    private var startTime = Date()
    private var stopping = false
    private var lastPublished: Pod.Status?
    private var conditionTimes: [String: (String, String)] = [:]
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(pod: Pod, ip: IPAddress, snapshot: CacheSnapshot, node: NodeConfiguration, backoffBase: TimeInterval, logger: Logger,
         publish: @escaping @Sendable (ObjectKey, Pod.Status) async -> Void) {
        self.uid = pod.metadata.uid ?? ""
        self.key = ObjectKey(type: Pod.resourceType, namespace: pod.namespace, name: pod.name)
        self.pod = pod
        self.ip = ip
        self.snapshot = snapshot
        self.node = node
        self.network = PodNetwork(node: node)
        self.directory = PodDirectory(podsDirectory: node.podsDirectory, uid: pod.metadata.uid ?? "")
        self.backoffBase = backoffBase
        self.logger = logger
        self.publish = publish
        (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        for c in pod.spec.containers { containers[c.name] = ContainerState(spec: c) }
        if let started = pod.status.startTime.flatMap({ ISO8601DateFormatter().date(from: $0) }) { startTime = started }
        // Restart counts survive a kplane restart through the stored status.
        for cs in pod.status.containerStatuses ?? [] { containers[cs.name]?.restartCount = cs.restartCount }
    }

    /// New objects (the pod, its secrets and config maps) to plan from.
    func update(pod: Pod, snapshot: CacheSnapshot) {
        self.pod = pod
        self.snapshot = snapshot
        wake.yield()
    }

    /// Runs until `stop` is called and everything is cleaned up.
    func run() async {
        let ticker = Task { [wake] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                wake.yield()
            }
        }
        defer { ticker.cancel() }
        wake.yield()
        for await _ in wakeups {
            if stopping { break }
            await step()
            await publishStatus()
        }
    }

    /// Rotates container logs past the size limit (copy, then truncate in place: the
    /// container keeps writing to the same open file, as logrotate's copytruncate does).
    private func rotateLogs() {
        for name in containers.keys {
            let path = directory.log(name)
            guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > node.logSizeLimit else { continue }
            let rotated = path + ".1"
            try? FileManager.default.removeItem(atPath: rotated)
            try? FileManager.default.copyItem(atPath: path, toPath: rotated)
            truncate(path, 0)
        }
    }

    /// One pass: make whatever is missing exist, start what is due.
    private func step() async {
        rotateLogs()
        if !networkReady {
            do {
                try directory.create()
                try await network.setUp(uid: uid, ip: ip)
                networkReady = true
            } catch {
                blocked = PodPlan.Blocked(reason: "ContainerCreating", message: "network setup failed: \(error)")
                logger.warning("pod.network.failed", metadata: ["k8s.pod": "\(key)", "error": "\(error)"])
                return
            }
        }
        let plan: PodPlan
        switch PodPlan.make(pod: pod, podIP: ip.description, node: node, snapshot: snapshot) {
        case .failure(let b):
            blocked = b
            return
        case .success(let p):
            plan = p
        }
        let paths: [String: String]
        do {
            try plan.hostsFile.write(toFile: directory.hostsFile, atomically: true, encoding: .utf8)
            if let resolv = plan.resolvConf { try resolv.write(toFile: directory.resolvConf, atomically: true, encoding: .utf8) }
            paths = try await directory.prepareVolumes(plan.volumes)
        } catch let b as PodPlan.Blocked {
            blocked = b
            return
        } catch {
            blocked = PodPlan.Blocked(reason: "ContainerCreating", message: "\(error)")
            return
        }
        blocked = nil
        if !initDone {
            for c in plan.initContainers {
                if stopping { return }
                guard await runInitContainer(c, plan: plan, paths: paths) else { return }
            }
            initDone = true
        }
        let now = Date()
        for c in plan.containers {
            guard var state = containers[c.name], state.process == nil, !state.done, now >= state.nextStart else { continue }
            if let problem = c.problem {
                state.current = Pod.ContainerState()
                state.current.waiting = .init(reason: problem.reason, message: problem.message)
                containers[c.name] = state
                continue
            }
            start(c, plan: plan, paths: paths)
        }
    }

    private func spec(_ c: ContainerPlan, plan: PodPlan, paths: [String: String]) throws -> ContainerProcess.Spec {
        var mounts: [(String, String, Bool)] = []
        var targets: [(String, Bool)] = []
        for m in c.mounts {
            guard var source = paths[m.volume] else { continue }
            if let sub = m.subPath {
                source += "/" + sub
                if !FileManager.default.fileExists(atPath: source) {
                    try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
                }
            }
            var isDir: ObjCBool = true
            _ = FileManager.default.fileExists(atPath: source, isDirectory: &isDir)
            mounts.append((source, m.target, m.readOnly || isReadOnlyVolume(m.volume, plan)))
            targets.append((m.target, isDir.boolValue))
        }
        try directory.ensureMountTargets(targets)
        var env: [String: String] = [:]
        for v in c.environment { env[v.name] = v.value }
        return ContainerProcess.Spec(
            netnsName: PodNetwork.namespaceName(uid: uid), hostname: plan.hostname,
            resolvConf: plan.resolvConf == nil ? nil : directory.resolvConf, hostsFile: directory.hostsFile,
            mounts: mounts, workingDir: c.workingDir, uid: c.uid, gid: c.gid, argv: c.argv, environment: env,
            logPath: directory.log(c.name))
    }

    private func isReadOnlyVolume(_ name: String, _ plan: PodPlan) -> Bool {
        guard let v = plan.volumes.first(where: { $0.name == name }) else { return false }
        switch v.source {
        case .files: return true
        case .claim(_, let readOnly): return readOnly
        default: return false
        }
    }

    private func runInitContainer(_ c: ContainerPlan, plan: PodPlan, paths: [String: String]) async -> Bool {
        if let problem = c.problem {
            blocked = PodPlan.Blocked(reason: "Init:" + problem.reason, message: problem.message)
            return false
        }
        let (done, finish) = AsyncStream<Int32>.makeStream()
        do {
            let process = try ContainerProcess.start(try spec(c, plan: plan, paths: paths)) { status, _ in
                finish.yield(status)
                finish.finish()
            }
            try? String(process.processIdentifier).write(toFile: directory.pidFile(c.name), atomically: true, encoding: .utf8)
        } catch {
            blocked = PodPlan.Blocked(reason: "Init:Error", message: "\(error)")
            return false
        }
        var status: Int32 = -1
        for await s in done { status = s }
        if status != 0 {
            blocked = PodPlan.Blocked(reason: "Init:Error", message: "init container \"\(c.name)\" exited with \(status)")
            if pod.spec.restartPolicy == "Never" { stopping = true }
            return false
        }
        return true
    }

    private func start(_ c: ContainerPlan, plan: PodPlan, paths: [String: String]) {
        guard var state = containers[c.name] else { return }
        state.instance += 1
        let instance = state.instance
        let name = c.name
        do {
            if state.startedAt != nil {
                // Keep the previous instance's log for `kplane logs --previous`.
                _ = rename(directory.log(name), directory.previousLog(name))
            }
            let process = try ContainerProcess.start(try spec(c, plan: plan, paths: paths)) { [weak self] status, signalled in
                guard let self else { return }
                Task { await self.exited(name, instance: instance, status: status, signalled: signalled) }
            }
            try? String(process.processIdentifier).write(toFile: directory.pidFile(name), atomically: true, encoding: .utf8)
            state.process = process
            state.startedAt = Date()
            state.current = Pod.ContainerState()
            state.current.running = .init(startedAt: APIServer.rfc3339(state.startedAt!))
            state.started = state.spec.startupProbe == nil
            // Without a readiness probe a container is ready once started.
            state.ready = state.started && state.spec.readinessProbe == nil
            containers[name] = state
            startProbes(name, instance: instance)
            logger.info("container.started", metadata: ["k8s.pod": "\(key)", "k8s.container": "\(name)", "pid": "\(process.processIdentifier)"])
        } catch {
            state.current = Pod.ContainerState()
            state.current.waiting = .init(reason: "CreateContainerError", message: "\(error)")
            state.nextStart = Date().addingTimeInterval(max(backoffBase, 1))
            containers[name] = state
        }
    }

    private func exited(_ name: String, instance: Int, status: Int32, signalled: Bool) {
        // Only the first report of an instance's exit counts.
        guard var state = containers[name], state.instance == instance, state.process != nil else { return }
        for t in state.probes { t.cancel() }
        state.probes = []
        state.process = nil
        state.ready = false
        var terminated = Pod.ContainerState.Terminated(exitCode: status, reason: status == 0 ? "Completed" : "Error")
        terminated.startedAt = state.startedAt.map(APIServer.rfc3339)
        terminated.finishedAt = APIServer.rfc3339(Date())
        var s = Pod.ContainerState()
        s.terminated = terminated
        state.last = s
        let policy = pod.spec.restartPolicy ?? "Always"
        let restart = !stopping && (policy == "Always" || (policy == "OnFailure" && status != 0))
        if restart {
            // kubelet's back-off: the first restart at once, then 10 s doubling to 5 minutes,
            // forgotten after 10 minutes of running.
            let ranFor = state.startedAt.map { Date().timeIntervalSince($0) } ?? 0
            if ranFor > 600 { state.backoff = 0 }
            state.nextStart = Date().addingTimeInterval(state.backoff)
            state.backoff = state.backoff == 0 ? backoffBase : min(state.backoff * 2, backoffBase * 30)
            state.restartCount += 1
            state.current = Pod.ContainerState()
            state.current.waiting = .init(reason: "CrashLoopBackOff", message: "back-off \(Int(state.nextStart.timeIntervalSinceNow.rounded()))s restarting failed container=\(name) pod=\(pod.name)_\(pod.namespace)(\(uid))")
            if state.nextStart <= Date() { state.current.waiting = nil; state.current.terminated = terminated }
        } else {
            state.current = s
            state.done = true
        }
        containers[name] = state
        logger.info("container.exited", metadata: ["k8s.pod": "\(key)", "k8s.container": "\(name)", "exit": "\(status)", "restart": "\(restart)"])
        wake.yield()
    }

    // MARK: - Probes

    private func startProbes(_ name: String, instance: Int) {
        guard var state = containers[name] else { return }
        let container = state.spec
        let podIP = ip.description
        if let startup = container.startupProbe {
            state.probes.append(Task { [weak self] in
                await self?.runProbe(startup, kind: "startup", container: container, podIP: podIP, instance: instance)
            })
        }
        if let readiness = container.readinessProbe {
            state.probes.append(Task { [weak self] in
                await self?.runProbe(readiness, kind: "readiness", container: container, podIP: podIP, instance: instance)
            })
        }
        if let liveness = container.livenessProbe {
            state.probes.append(Task { [weak self] in
                await self?.runProbe(liveness, kind: "liveness", container: container, podIP: podIP, instance: instance)
            })
        }
        containers[name] = state
    }

    private func isCurrent(_ name: String, _ instance: Int) -> Bool {
        containers[name]?.instance == instance && containers[name]?.process != nil && !stopping
    }

    private func runProbe(_ probe: Pod.Probe, kind: String, container: Pod.Container, podIP: String, instance: Int) async {
        let name = container.name
        try? await Task.sleep(for: .seconds(probe.initialDelaySeconds ?? 0))
        var successes = 0, failures = 0
        while !Task.isCancelled && isCurrent(name, instance) {
            if kind != "startup" && containers[name]?.started != true {
                try? await Task.sleep(for: .milliseconds(200))
                continue
            }
            let pid = containers[name]?.process?.processIdentifier
            let outcome = await Prober.probe(probe, container: container, podIP: podIP, pid: pid)
            guard isCurrent(name, instance) else { return }
            switch outcome {
            case .success:
                successes += 1
                failures = 0
                if successes >= (probe.successThreshold ?? 1) {
                    if kind == "startup" {
                        containers[name]?.started = true
                        if container.readinessProbe == nil { containers[name]?.ready = true }
                        wake.yield()
                        return
                    }
                    if kind == "readiness" && containers[name]?.ready != true {
                        containers[name]?.ready = true
                        wake.yield()
                    }
                }
            case .failure(let message):
                failures += 1
                successes = 0
                if kind == "readiness" && failures >= (probe.failureThreshold ?? 3) && containers[name]?.ready == true {
                    containers[name]?.ready = false
                    logger.info("probe.readiness.failed", metadata: ["k8s.pod": "\(key)", "k8s.container": "\(name)", "reason": "\(message)"])
                    wake.yield()
                }
                if (kind == "liveness" || kind == "startup") && failures >= (probe.failureThreshold ?? 3) {
                    logger.info("probe.\(kind).failed", metadata: ["k8s.pod": "\(key)", "k8s.container": "\(name)", "reason": "\(message)"])
                    if let pid {
                        let grace = Double(probe.terminationGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30)
                        await terminate(pid: pid, grace: grace)
                    }
                    return
                }
            }
            try? await Task.sleep(for: .seconds(max(1, probe.periodSeconds ?? 10)))
        }
    }

    // MARK: - Stop

    /// Stops every container (SIGTERM, grace, SIGKILL), then removes the network and, when
    /// the pod is gone for good, its files.
    func stop(grace: TimeInterval, removeFiles: Bool) async {
        stopping = true
        wake.finish()
        var pids: [Int32] = []
        for (name, state) in containers {
            for t in state.probes { t.cancel() }
            if let p = state.process, p.isRunning { pids.append(p.processIdentifier) }
            containers[name]?.probes = []
        }
        await withTaskGroup(of: Void.self) { group in
            for pid in pids { group.addTask { await self.terminate(pid: pid, grace: grace) } }
        }
        try? await network.tearDown(uid: uid)
        if removeFiles { await directory.remove() }
    }

    private nonisolated func terminate(pid: Int32, grace: TimeInterval) async {
        ContainerProcess.signal(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while Date() < deadline {
            if kill(pid, 0) != 0 { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
        ContainerProcess.signal(pid, SIGKILL)
    }

    // MARK: - Status

    private func publishStatus() async {
        let status = computeStatus()
        guard status != lastPublished else { return }
        lastPublished = status
        await publish(key, status)
    }

    private func condition(_ type: String, _ ok: Bool, reason: String? = nil) -> Condition {
        let value = ok ? "True" : "False"
        let now = APIServer.rfc3339(Date())
        if conditionTimes[type]?.0 != value { conditionTimes[type] = (value, now) }
        return Condition(type: type, status: value, reason: ok ? nil : reason, lastTransitionTime: conditionTimes[type]!.1)
    }

    private func computeStatus() -> Pod.Status {
        var status = Pod.Status()
        status.hostIP = node.nodeIP
        status.hostIPs = [.init(ip: node.nodeIP)]
        status.podIP = ip.description
        status.podIPs = [.init(ip: ip.description)]
        status.startTime = APIServer.rfc3339(startTime)
        status.qosClass = "BestEffort"
        var statuses: [Pod.ContainerStatus] = []
        for c in pod.spec.containers {
            guard let s = containers[c.name] else { continue }
            var cs = Pod.ContainerStatus(name: c.name, ready: s.ready && s.process != nil, restartCount: s.restartCount)
            cs.image = c.image
            cs.started = s.process != nil && s.started
            if s.process == nil && s.current.running == nil && s.current.terminated == nil && s.current.waiting == nil {
                var w = Pod.ContainerState()
                w.waiting = .init(reason: blocked?.reason ?? "ContainerCreating", message: blocked?.message)
                cs.state = w
            } else {
                cs.state = s.current
            }
            cs.lastState = s.last
            if let pid = s.process?.processIdentifier { cs.containerID = "kplane://\(pid)" }
            statuses.append(cs)
        }
        status.containerStatuses = statuses
        let running = containers.values.contains { $0.process != nil }
        let allDone = containers.values.allSatisfy(\.done)
        let anyStarted = containers.values.contains { $0.startedAt != nil }
        if allDone && !containers.isEmpty {
            let failed = containers.values.contains { ($0.current.terminated?.exitCode ?? 0) != 0 }
            status.phase = failed ? "Failed" : "Succeeded"
        } else if running || anyStarted {
            status.phase = "Running"
        } else {
            status.phase = "Pending"
            if let blocked, blocked.reason == "Unschedulable" {
                status.reason = nil
                status.message = blocked.message
            }
        }
        let containersReady = !statuses.isEmpty && statuses.allSatisfy(\.ready)
        status.conditions = [
            condition("PodReadyToStartContainers", networkReady),
            condition("Initialized", initDone, reason: "ContainersNotInitialized"),
            condition("Ready", containersReady, reason: "ContainersNotReady"),
            condition("ContainersReady", containersReady, reason: "ContainersNotReady"),
            condition("PodScheduled", blocked?.reason != "Unschedulable", reason: "Unschedulable"),
        ]
        if let i = status.conditions?.firstIndex(where: { $0.type == "PodScheduled" }), blocked?.reason == "Unschedulable" {
            status.conditions?[i].message = blocked?.message
        }
        return status
    }
}

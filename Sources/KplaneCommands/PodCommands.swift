import ArgumentParser
import ClusterStore
import Foundation
import KubeModel
import PodRuntime

/// Finds a pod's files on this node (`<state-dir>/pods/<uid>`) and the container to act on.
struct PodLocator {
    var pod: Pod
    var directory: PodDirectory
    var container: String

    /// `NAME`, `pod/NAME`, or `deploy/NAME` (a ready pod of the Deployment, as kubectl picks).
    static func find(store: StoreOptions, namespace: String?, name target: String, container: String?) async throws -> PodLocator {
        let ns = namespace ?? "default"
        let db = try store.open()
        var name = target
        if let slash = target.firstIndex(of: "/") {
            let kind = String(target[..<slash])
            name = String(target[target.index(after: slash)...])
            if Scheme.type(named: kind) == Deployment.resourceType {
                guard let d = try await db.get(Deployment.self, namespace: ns, name: name) else {
                    throw CLIError("Error from server (NotFound): deployments.apps \"\(name)\" not found")
                }
                let pods = try await db.list(Pod.self, namespace: ns).filter { d.spec.selector?.matches($0.labels) ?? false }
                guard let pick = pods.first(where: \.isReady) ?? pods.first else { throw CLIError("no pods found for deployment \(name)") }
                name = pick.name
            } else if Scheme.type(named: kind) != Pod.resourceType {
                throw CLIError("cannot exec into or read logs of a \(kind)")
            }
        }
        guard let pod = try await db.get(Pod.self, namespace: ns, name: name) else {
            throw CLIError("Error from server (NotFound): pods \"\(name)\" not found")
        }
        let names = pod.spec.containers.map(\.name)
        let chosen = container ?? names.first ?? ""
        guard names.contains(chosen) || (pod.spec.initContainers ?? []).contains(where: { $0.name == chosen }) else {
            throw CLIError("container \(chosen) is not valid for pod \(name)")
        }
        let dir = PodDirectory(podsDirectory: (store.resolvedStateDir as NSString).appendingPathComponent("pods"), uid: pod.metadata.uid ?? "")
        return PodLocator(pod: pod, directory: dir, container: chosen)
    }
}

/// `kplane logs POD [-c NAME] [-f] [--previous]`.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a container's output.")

    @OptionGroup var store: StoreOptions
    @Argument var pod: String
    @Option(name: .shortAndLong) var namespace: String?
    @Option(name: .shortAndLong, help: "Container (default: the first).") var container: String?
    @Flag(name: .shortAndLong, help: "Keep printing new output.") var follow = false
    @Flag(name: .shortAndLong, help: "The previous instance of a restarted container.") var previous = false

    func run() async throws {
        let found = try await PodLocator.find(store: store, namespace: namespace, name: pod, container: container)
        let path = previous ? found.directory.previousLog(found.container) : found.directory.log(found.container)
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CLIError(previous ? "previous terminated container \"\(found.container)\" in pod \"\(pod)\" not found"
                                    : "container \"\(found.container)\" in pod \"\(pod)\" has no logs yet (is `kplane up` running its pods?)")
        }
        if !previous, let rotated = FileManager.default.contents(atPath: path + ".1") {
            FileHandle.standardOutput.write(rotated)
        }
        FileHandle.standardOutput.write(handle.readDataToEndOfFile())
        guard follow else { return }
        while true {
            // A rotation truncates the file under us: start again from its beginning.
            if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? UInt64, size < handle.offsetInFile {
                handle.seek(toFileOffset: 0)
            }
            let data = handle.readDataToEndOfFile()
            if !data.isEmpty { FileHandle.standardOutput.write(data) }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}

/// `kplane exec POD [-c NAME] -- CMD…`: runs a command in a running container.
struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exec", abstract: "Run a command inside a running container.")

    @OptionGroup var store: StoreOptions
    @Argument var pod: String
    @Option(name: .shortAndLong) var namespace: String?
    @Option(name: .shortAndLong, help: "Container (default: the first).") var container: String?
    @Flag(name: .shortAndLong, help: "Pass standard input (kubectl's -i).") var stdin = false
    @Flag(name: .shortAndLong, help: "Accepted for kubectl compatibility; no terminal is allocated.") var tty = false
    @Argument(parsing: .postTerminator) var command: [String]

    func run() async throws {
        guard !command.isEmpty else { throw ValidationError("you must specify at least one command for the container") }
        guard getuid() == 0 else { throw CLIError("exec needs root (it enters the pod's namespaces)") }
        let found = try await PodLocator.find(store: store, namespace: namespace, name: pod, container: container)
        guard let pid = found.directory.pid(found.container) else {
            throw CLIError("container \"\(found.container)\" in pod \"\(pod)\" is not running")
        }
        let argv = ContainerProcess.execArgv(pid: pid, command: command)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        p.environment = ContainerProcess.environment(of: pid)
        p.standardInput = stdin ? FileHandle.standardInput : FileHandle.nullDevice
        p.standardOutput = FileHandle.standardOutput
        p.standardError = FileHandle.standardError
        try p.run()
        p.waitUntilExit()
        if p.terminationStatus != 0 { throw ExitCode(p.terminationStatus) }
    }
}

/// `kplane rollout status deploy/NAME`.
struct RolloutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rollout", abstract: "Watch a Deployment roll out.", subcommands: [RolloutStatusCommand.self])
}

struct RolloutStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status")

    @OptionGroup var store: StoreOptions
    @Argument(help: "deploy/NAME or deployment/NAME") var target: String
    @Option(name: .shortAndLong) var namespace: String?
    @Option(help: "Give up after this many seconds.") var timeout: Double = 300

    func run() async throws {
        let parts = target.split(separator: "/").map(String.init)
        guard parts.count == 2, Scheme.type(named: parts[0]) == Deployment.resourceType else {
            throw ValidationError("expected deploy/NAME, got \(target)")
        }
        let db = try store.open()
        let deadline = Date().addingTimeInterval(timeout)
        var lastLine = ""
        while Date() < deadline {
            guard let d = try await db.get(Deployment.self, namespace: namespace ?? "default", name: parts[1]) else {
                throw CLIError("Error from server (NotFound): deployments.apps \"\(parts[1])\" not found")
            }
            let want = d.spec.replicas ?? 1
            let updated = d.status.updatedReplicas ?? 0, total = d.status.replicas ?? 0, available = d.status.availableReplicas ?? 0
            let line: String
            if (d.status.observedGeneration ?? 0) < (d.metadata.generation ?? 0) {
                line = "Waiting for deployment spec update to be observed..."
            } else if updated < want {
                line = "Waiting for deployment \"\(d.name)\" rollout to finish: \(updated) out of \(want) new replicas have been updated..."
            } else if total > updated {
                line = "Waiting for deployment \"\(d.name)\" rollout to finish: \(total - updated) old replicas are pending termination..."
            } else if available < updated {
                line = "Waiting for deployment \"\(d.name)\" rollout to finish: \(available) of \(updated) updated replicas are available..."
            } else {
                print("deployment \"\(d.name)\" successfully rolled out")
                return
            }
            if line != lastLine { print(line); lastLine = line }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw CLIError("timed out waiting for the condition")
    }
}

import Foundation
import HostSystem

/// Starts a container's process: in the pod's network namespace, in a mount and UTS
/// namespace of its own (the pod's hostname, /etc/resolv.conf and /etc/hosts, its volume
/// mounts), as an unprivileged user unless the pod asks otherwise, in its own session so
/// that its children are stopped with it. The chain `setsid → nsenter → unshare → sh →
/// setpriv → command` only execs, so the process kplane holds is the container's.
public enum ContainerProcess {
    public struct Spec: Sendable {
        public var netnsName: String
        public var hostname: String
        public var resolvConf: String?
        public var hostsFile: String
        /// (source on the node, target in the container, read-only)
        public var mounts: [(source: String, target: String, readOnly: Bool)]
        public var workingDir: String?
        public var uid: UInt32
        public var gid: UInt32
        public var argv: [String]
        public var environment: [String: String]
        public var logPath: String
    }

    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The full path of a host tool; a missing one fails when it is run, with its path in the error.
    static func tool(_ name: String) -> String {
        HostCommand.find(name) ?? "/usr/bin/" + name
    }

    /// The shell script that sets up the container's mount namespace, then execs the command.
    static func script(_ spec: Spec) -> String {
        let q = HostCommand.shellQuote
        var lines = ["set -e", "hostname \(q(spec.hostname))"]
        if let resolv = spec.resolvConf { lines.append("mount --bind \(q(resolv)) /etc/resolv.conf") }
        lines.append("mount --bind \(q(spec.hostsFile)) /etc/hosts")
        for m in spec.mounts {
            lines.append("mount --bind \(q(m.source)) \(q(m.target))")
            if m.readOnly { lines.append("mount -o remount,bind,ro \(q(m.target))") }
        }
        if let dir = spec.workingDir, !dir.isEmpty { lines.append("cd \(q(dir))") }
        lines.append("exec setpriv --reuid=\(spec.uid) --regid=\(spec.gid) --clear-groups -- \"$@\"")
        return lines.joined(separator: "\n")
    }

    /// Starts the container; `onExit` gets the exit status (or 128+signal).
    public static func start(_ spec: Spec, onExit: @escaping @Sendable (Int32, Bool) -> Void) throws -> Process {
        let fd = open(spec.logPath, O_WRONLY | O_CREAT | O_APPEND, 0o640)
        guard fd >= 0 else { throw HostCommand.Failure(argv: ["open", spec.logPath], status: errno, stderr: String(cString: strerror(errno))) }
        let log = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool("nsenter"))
        process.arguments = [
            "--net=/run/netns/\(spec.netnsName)", "--",
            tool("unshare"), "--mount", "--uts", "--propagation", "private", "--",
            "/bin/sh", "-c", script(spec), "kplane-container",
        ] + spec.argv
        var env = spec.environment
        if env["PATH"] == nil { env["PATH"] = defaultPath }
        if env["HOSTNAME"] == nil { env["HOSTNAME"] = spec.hostname }
        if env["HOME"] == nil { env["HOME"] = "/" }
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        process.terminationHandler = { p in
            onExit(p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus, p.terminationReason == .uncaughtSignal)
        }
        try process.run()
        return process
    }

    /// Sends `signal` to the container's whole process group.
    public static func signal(_ pid: Int32, _ signal: Int32) {
        if kill(-pid, signal) != 0 { kill(pid, signal) }
    }

    /// argv that runs `command` inside a running container (its namespaces, user and
    /// environment): what `kplane exec` and exec probes use.
    public static func execArgv(pid: Int32, command: [String]) -> [String] {
        var uid = "0", gid = "0"
        if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) {
            for line in status.split(separator: "\n") {
                let f = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
                if f.first == "Uid:", f.count > 1 { uid = String(f[1]) }
                if f.first == "Gid:", f.count > 1 { gid = String(f[1]) }
            }
        }
        return [tool("nsenter"), "-t", String(pid), "-n", "-m", "-u", "--",
                tool("setpriv"), "--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--"] + command
    }

    /// The environment of a running process (so that exec sees the container's variables).
    public static func environment(of pid: Int32) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return [:] }
        var env: [String: String] = [:]
        for entry in data.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            if let eq = text.firstIndex(of: "=") { env[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
        }
        return env
    }
}

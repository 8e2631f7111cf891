import Foundation
import HostSystem
import KubeModel

/// The files of one pod on the node: `<pods-dir>/<uid>/` with its generated /etc files,
/// volumes, container logs and pid files. Logs and pids are how `kplane logs` and
/// `kplane exec`, running in another process, find a pod's containers.
public struct PodDirectory: Sendable {
    public let root: String

    public init(podsDirectory: String, uid: String) {
        root = (podsDirectory as NSString).appendingPathComponent(uid)
    }

    public var hostsFile: String { root + "/etc-hosts" }
    public var resolvConf: String { root + "/resolv.conf" }
    public var volumesDirectory: String { root + "/volumes" }
    public var createdTargetsFile: String { root + "/created-mount-targets" }

    public func volume(_ name: String) -> String { volumesDirectory + "/" + name }
    public func log(_ container: String) -> String { root + "/logs/\(container).log" }
    public func previousLog(_ container: String) -> String { root + "/logs/\(container).previous.log" }
    public func pidFile(_ container: String) -> String { root + "/\(container).pid" }

    /// The pid of a container's main process, if it runs.
    public func pid(_ container: String) -> Int32? {
        guard let text = try? String(contentsOfFile: pidFile(container), encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, 0) == 0 else { return nil }
        return pid
    }

    func create() throws {
        try FileManager.default.createDirectory(atPath: root + "/logs", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try FileManager.default.createDirectory(atPath: volumesDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    }

    /// Makes the volumes of a plan exist on the node; returns each volume's path.
    func prepareVolumes(_ volumes: [VolumePlan]) async throws -> [String: String] {
        var paths: [String: String] = [:]
        for v in volumes {
            switch v.source {
            case .emptyDir(let memory, let sizeLimit):
                let dir = volume(v.name)
                if !FileManager.default.fileExists(atPath: dir) {
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                }
                chmod(dir, 0o777)
                if memory, !PodDirectory.isMountPoint(dir) {
                    var options = "mode=0777"
                    if let sizeLimit { options += ",size=\(sizeLimit)" }
                    try await HostCommand.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", dir])
                }
                paths[v.name] = dir
            case .hostPath(let path, let type):
                try PodDirectory.checkHostPath(path, type: type)
                paths[v.name] = path
            case .files(let files):
                let dir = volume(v.name)
                try writeFiles(files, into: dir)
                paths[v.name] = dir
            case .claim(let path, _):
                guard FileManager.default.fileExists(atPath: path) else {
                    throw PodPlan.Blocked(reason: "ContainerCreating", message: "volume path \(path) of claim does not exist on this node")
                }
                paths[v.name] = path
            }
        }
        return paths
    }

    /// Writes secret/configMap files, removing ones no longer projected.
    func writeFiles(_ files: [ProjectedFile], into dir: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let wanted = Set(files.map(\.path))
        if let existing = fm.enumerator(atPath: dir) {
            for case let rel as String in existing {
                var isDir: ObjCBool = false
                _ = fm.fileExists(atPath: dir + "/" + rel, isDirectory: &isDir)
                if !isDir.boolValue && !wanted.contains(rel) { try? fm.removeItem(atPath: dir + "/" + rel) }
            }
        }
        for file in files {
            let path = dir + "/" + file.path
            try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if fm.contents(atPath: path) != file.contents {
                let tmp = path + ".kplane-tmp"
                try file.contents.write(to: URL(fileURLWithPath: tmp))
                chmod(tmp, mode_t(file.mode))
                _ = rename(tmp, path)
            }
            chmod(path, mode_t(file.mode))
        }
    }

    static func checkHostPath(_ path: String, type: String) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let exists = fm.fileExists(atPath: path, isDirectory: &isDir)
        func fail(_ what: String) -> PodPlan.Blocked {
            PodPlan.Blocked(reason: "ContainerCreating", message: "MountVolume.SetUp failed: hostPath type check failed: \(path) is not a \(what)")
        }
        switch type {
        case "DirectoryOrCreate":
            if !exists { try fm.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755]) } else if !isDir.boolValue { throw fail("directory") }
        case "Directory":
            if !exists || !isDir.boolValue { throw fail("directory") }
        case "FileOrCreate":
            if !exists { _ = fm.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o644]) } else if isDir.boolValue { throw fail("file") }
        case "File":
            if !exists || isDir.boolValue { throw fail("file") }
        case "Socket", "CharDevice", "BlockDevice":
            var st = stat()
            guard stat(path, &st) == 0 else { throw fail(type) }
            let kind = st.st_mode & S_IFMT
            let ok = (type == "Socket" && kind == S_IFSOCK) || (type == "CharDevice" && kind == S_IFCHR) || (type == "BlockDevice" && kind == S_IFBLK)
            if !ok { throw fail(type) }
        default:
            break
        }
    }

    static func isMountPoint(_ path: String) -> Bool {
        let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return mounts.split(separator: "\n").contains { $0.split(separator: " ").dropFirst(4).first.map(String.init) == path }
    }

    /// Removes the pod's files: unmounts memory volumes, deletes mount targets kplane created
    /// on the node (when empty), then the directory.
    func remove() async {
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: volumesDirectory) {
            for e in entries where PodDirectory.isMountPoint(volume(e)) {
                _ = try? await HostCommand.run(["umount", "-l", volume(e)], check: false)
            }
        }
        if let created = try? String(contentsOfFile: createdTargetsFile, encoding: .utf8) {
            for path in created.split(separator: "\n").reversed() {
                // Only empty placeholders are removed: rmdir and unlink of a zero-size file.
                if rmdir(String(path)) != 0 {
                    var st = stat()
                    if stat(String(path), &st) == 0, st.st_size == 0, (st.st_mode & S_IFMT) == S_IFREG { unlink(String(path)) }
                }
            }
        }
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Makes sure each mount target exists on the node (there is no image to provide it),
    /// remembering what was created so that it can be removed with the pod.
    func ensureMountTargets(_ targets: [(path: String, isDirectory: Bool)]) throws {
        let fm = FileManager.default
        var created: [String] = []
        for (path, isDirectory) in targets where !fm.fileExists(atPath: path) {
            var missing: [String] = []
            var p = (path as NSString).deletingLastPathComponent
            while !p.isEmpty && p != "/" && !fm.fileExists(atPath: p) {
                missing.insert(p, at: 0)
                p = (p as NSString).deletingLastPathComponent
            }
            for dir in missing {
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: false)
                created.append(dir)
            }
            if isDirectory {
                try fm.createDirectory(atPath: path, withIntermediateDirectories: false)
            } else {
                _ = fm.createFile(atPath: path, contents: nil)
            }
            created.append(path)
        }
        guard !created.isEmpty else { return }
        let previous = (try? String(contentsOfFile: createdTargetsFile, encoding: .utf8)) ?? ""
        try (previous + created.map { $0 + "\n" }.joined()).write(toFile: createdTargetsFile, atomically: true, encoding: .utf8)
    }
}

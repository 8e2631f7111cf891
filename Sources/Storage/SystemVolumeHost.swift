import Foundation
import HostSystem

/// `VolumeHost` with Debian's tools: `mkfs.ext4`, `mount -o loop`, `losetup`, `resize2fs`,
/// `e2fsck`, `umount`. Given a process id it works inside that process's mount namespace
/// (through `nsenter`), which is how tests keep their mounts away from the host.
public struct SystemVolumeHost: VolumeHost {
    let prefix: [String]
    let mountinfo: String

    /// Works in this process's mount namespace, or in that of `namespacePID`.
    public init(namespacePID: Int32? = nil) {
        if let pid = namespacePID {
            prefix = ["nsenter", "-t", String(pid), "-m", "--"]
            mountinfo = "/proc/\(pid)/mountinfo"
        } else {
            prefix = []
            mountinfo = "/proc/self/mountinfo"
        }
    }

    /// True where image volumes can work: root, a loop-control device, and mkfs.ext4.
    public static var imageVolumesSupported: Bool {
        geteuid() == 0 && FileManager.default.fileExists(atPath: "/dev/loop-control")
            && HostCommand.find("mkfs.ext4") != nil && HostCommand.find("resize2fs") != nil
    }

    public func create(_ volume: LocalVolume) async throws {
        try SystemVolumeHost.checkPath(volume.directory)
        switch volume.mode {
        case .directory:
            try makeDirectory(volume.directory, mode: 0o777)
        case .image:
            try makeDirectory(volume.directory, mode: 0o755)
            if !FileManager.default.fileExists(atPath: volume.image) {
                // Formatted under a temporary name so that a crash never leaves a
                // half-made image that looks finished.
                let temporary = volume.image + ".tmp"
                try? FileManager.default.removeItem(atPath: temporary)
                try SystemVolumeHost.setSize(of: temporary, to: volume.bytes, create: true)
                try await run(["mkfs.ext4", "-q", "-F", "-m", "0", "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1", temporary])
                guard rename(temporary, volume.image) == 0 else { throw VolumeError("cannot rename \(temporary): \(String(cString: strerror(errno)))") }
            }
            try await mount(volume)
            try await run(["mkdir", "-p", "-m", "0777", volume.dataPath])
        }
    }

    public func mount(_ volume: LocalVolume) async throws {
        guard volume.mode == .image else { return }
        if try await mountedPaths().contains(volume.directory) { return }
        guard FileManager.default.fileExists(atPath: volume.image) else {
            throw VolumeError("the image \(volume.image) is missing: the volume's data is gone")
        }
        try makeDirectory(volume.directory, mode: 0o755)
        // An image still attached to a loop device (a pod keeps it mounted) is mounted through
        // that device: two loop devices on one image would be two ext4 instances on one disk.
        if let device = try await loopDevices(of: volume.image).first {
            try await run(["mount", device, volume.directory])
        } else {
            try await run(["mount", "-o", "loop", volume.image, volume.directory])
        }
    }

    public func expand(_ volume: LocalVolume, to bytes: Int64) async throws -> ExpandOutcome {
        guard volume.mode == .image else { return .done }
        let size = (try? FileManager.default.attributesOfItem(atPath: volume.image)[.size] as? Int64) ?? nil
        guard let size else { throw VolumeError("the image \(volume.image) is missing") }
        if size < bytes { try SystemVolumeHost.setSize(of: volume.image, to: bytes, create: false) }
        let mounted = try await mountedPaths().contains(volume.directory)
        if mounted, let device = try await run(["findmnt", "-n", "-o", "SOURCE", "-M", volume.directory]).split(separator: "\n").first.map(String.init) {
            try await run(["losetup", "-c", device])
            do {
                try await run(["resize2fs", device])
                return .done
            } catch {
                // Online resizing needs CAP_SYS_RESOURCE, which some containers lack; offline
                // resizing works when nothing else holds the filesystem.
                try await run(["umount", volume.directory])
                if try await !loopDevices(of: volume.image).isEmpty {
                    try await run(["mount", device, volume.directory])
                    return .pending("online resize failed (\(error)) and a pod still uses the volume; its filesystem grows once no pod uses it")
                }
                return try await offlineResize(volume)
            }
        }
        if try await !loopDevices(of: volume.image).isEmpty {
            return .pending("the volume is in use outside kplane's mount; its filesystem grows once it is free")
        }
        return try await offlineResize(volume)
    }

    private func offlineResize(_ volume: LocalVolume) async throws -> ExpandOutcome {
        do {
            try await run(["e2fsck", "-f", "-p", volume.image])
        } catch let error as HostCommand.Failure where error.reason == .exited && error.status == 1 {
            // 1: errors were corrected.
        }
        try await run(["resize2fs", volume.image])
        try await mount(volume)
        return .done
    }

    public func remove(_ volume: LocalVolume) async throws {
        try SystemVolumeHost.checkPath(volume.directory)
        if volume.mode == .image {
            if try await mountedPaths().contains(volume.directory) {
                try await run(["umount", volume.directory])
            }
            try removeItem(volume.image)
            try removeItem(volume.image + ".tmp")
        }
        try removeItem(volume.directory)
    }

    public func mountedPaths() async throws -> Set<String> {
        let text: String
        do {
            text = try String(contentsOfFile: mountinfo, encoding: .utf8)
        } catch {
            throw VolumeError("cannot read \(mountinfo): \(error.localizedDescription)")
        }
        var paths: Set<String> = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            if fields.count > 4 { paths.insert(SystemVolumeHost.unescape(fields[4])) }
        }
        return paths
    }

    public func unmountAll(under directory: String) async -> [String] {
        guard let paths = try? await mountedPaths() else { return [] }
        var left: [String] = []
        for path in paths.filter({ $0.hasPrefix(directory + "/") }).sorted(by: >) {
            do { try await run(["umount", path]) } catch { left.append(path) }
        }
        return left
    }

    // MARK: - Helpers

    /// Loop devices attached to `image`.
    func loopDevices(of image: String) async throws -> [String] {
        try await run(["losetup", "-n", "-O", "NAME", "-j", image]).split(separator: "\n").map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
    }

    /// Runs a tool (inside the namespace, if any); its stdout. A failure status throws
    /// `HostCommand.Failure`; a tool that cannot be started, a `VolumeError` saying what to install.
    @discardableResult
    func run(_ arguments: [String]) async throws -> String {
        do {
            return try await HostCommand.run(prefix + arguments).stdout
        } catch let failure as HostCommand.Failure where failure.reason == .notFound {
            throw VolumeError("\(failure.argv.first ?? "command") not found (install e2fsprogs, util-linux and mount)")
        } catch let failure as HostCommand.Failure where failure.reason == .cannotRun {
            throw VolumeError("cannot run \(failure.argv.first ?? "command"): \(failure.stderr)")
        }
    }

    func makeDirectory(_ path: String, mode: mode_t) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw VolumeError("cannot create \(path): \(error.localizedDescription)")
        }
        if chmod(path, mode) != 0 { throw VolumeError("cannot chmod \(path): \(String(cString: strerror(errno)))") }
    }

    func removeItem(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw VolumeError("cannot remove \(path): \(error.localizedDescription)")
        }
    }

    /// Grows (or creates) a sparse file.
    static func setSize(of path: String, to bytes: Int64, create: Bool) throws {
        let fd = open(path, create ? (O_WRONLY | O_CREAT | O_EXCL) : O_WRONLY, 0o600)
        guard fd >= 0 else { throw VolumeError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard ftruncate(fd, off_t(bytes)) == 0 else {
            throw VolumeError("cannot size \(path) to \(bytes) bytes: \(String(cString: strerror(errno)))")
        }
    }

    /// Refuses paths that could never be a volume (a bug must not remove `/`).
    static func checkPath(_ path: String) throws {
        let parts = path.split(separator: "/")
        guard path.hasPrefix("/"), parts.count >= 2, !parts.contains(".."), !parts.contains(".") else {
            throw VolumeError("refusing to work on \"\(path)\": not a volume folder")
        }
    }

    /// mountinfo escapes space, tab, newline and backslash as octal.
    static func unescape(_ field: Substring) -> String {
        guard field.contains("\\") else { return String(field) }
        var bytes: [UInt8] = []
        var i = field.utf8.startIndex
        let u = field.utf8
        while i < u.endIndex {
            if u[i] == UInt8(ascii: "\\"), u.distance(from: i, to: u.endIndex) >= 4,
               let v = UInt8(String(decoding: u[u.index(after: i)..<u.index(i, offsetBy: 4)], as: UTF8.self), radix: 8) {
                bytes.append(v)
                i = u.index(i, offsetBy: 4)
            } else {
                bytes.append(u[i])
                i = u.index(after: i)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

import ClusterStore
import Foundation
import HostSystem
import KubeModel
import Testing
@testable import Storage

/// Root-only checks.
enum Privileges {
    static var isRoot: Bool { geteuid() == 0 }
    /// Root, loop devices and the tools image volumes need.
    static var canLoopMount: Bool {
        let ok = SystemVolumeHost.imageVolumesSupported && HostCommand.find("unshare") != nil && HostCommand.find("nsenter") != nil
        if !ok { print("StorageTests: image-volume tests skipped: they need root, /dev/loop-control, mkfs.ext4, resize2fs, unshare and nsenter") }
        return ok
    }
}

/// A private mount namespace held open by a `sleep` under `unshare --mount`. Every mount a
/// test makes lives in it; when it closes (also when a test fails), the kernel unmounts
/// them and the loop devices, which are set to clear themselves, detach.
final class MountNamespace: Sendable {
    let pid: pid_t

    init() throws {
        pid = try HostCommand.spawn(["unshare", "--mount", "--propagation", "private", "sleep", "600"])
        // Wait until unshare has switched namespaces and exec'd sleep.
        let mine = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt")
        for _ in 0..<500 {
            if let theirs = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/mnt"),
               theirs != mine, (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.hasPrefix("sleep") == true {
                return
            }
            usleep(2_000)
        }
        close()
        throw VolumeError("unshare --mount did not start")
    }

    /// Runs a shell script inside the namespace; returns (status, output).
    func shell(_ script: String) async -> (Int32, String) {
        do {
            return (0, try await HostCommand.run(["nsenter", "-t", String(pid), "-m", "--", "sh", "-c", script + " 2>&1"]).stdout)
        } catch let error as HostCommand.Failure {
            return (error.status, error.stdout + error.stderr)
        } catch {
            return (-1, "\(error)")
        }
    }

    /// Ends the namespace (idempotent).
    func close() {
        if kill(pid, SIGKILL) == 0 { _ = HostCommand.wait(pid) }
    }
}

@Suite(.serialized) struct ImageVolumeTests {
    func setUp(policy: String = "Delete") async throws -> (SeededStore, StorageController, MountNamespace, String) {
        let dir = try temporaryDirectory()
        let ns = try MountNamespace()
        let seeded = try await SeededStore(volumes: [], claims: [claim("db", uid: "db", "8Mi", className: "lp")],
                                           classes: [storageClass("lp", policy: policy)])
        let controller = makeController(seeded, provisioner: ProvisionerSettings(volumeDirectory: dir, mode: .image),
                                        host: SystemVolumeHost(namespacePID: ns.pid))
        return (seeded, controller, ns, dir)
    }

    func loopDevices(of image: String) async -> String {
        (try? await HostCommand.run(["losetup", "-n", "-O", "NAME", "-j", image]))?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
    }

    @Test(.enabled(if: Privileges.canLoopMount))
    func sizeIsEnforcedExpansionGrowsAndDeleteRemoves() async throws {
        let (seeded, controller, ns, dir) = try await setUp()
        defer { ns.close(); try? FileManager.default.removeItem(atPath: dir) }
        try await converge(controller, seeded)
        let claim = try #require(try await seeded.claims()["db"])
        #expect(claim.phase == "Bound", "\(claim.status)")
        let pv = try #require(try await seeded.volumes()[claim.volumeName])
        let local = try #require(LocalVolume(volume: pv))
        #expect(local.mode == .image && pv.spec.hostPath?.path == local.dataPath)
        #expect(try FileManager.default.attributesOfItem(atPath: local.image)[.size] as? Int == 8 << 20)
        #expect(await ns.shell("findmnt -n -M \(local.directory)").0 == 0, "mounted inside the namespace")
        #expect(await ns.shell("findmnt -n -M \(local.directory)").1.isEmpty == false)
        #expect((try? await HostCommand.run(["findmnt", "-n", "-M", local.directory])) == nil, "not mounted on the host")

        // Writing past the claim's size fails with ENOSPC.
        let (status, output) = await ns.shell("dd if=/dev/zero of=\(local.dataPath)/big bs=1M count=16")
        #expect(status != 0 && output.contains("No space left on device"), "\(output)")
        #expect(await ns.shell("rm \(local.dataPath)/big && echo ok > \(local.dataPath)/keep").0 == 0)

        // Expansion grows the mounted filesystem.
        var grown = try #require(try await seeded.store.get(PersistentVolumeClaim.self, namespace: "default", name: "db"))
        grown.spec.resources.requests = ["storage": q("32Mi")]
        _ = try await seeded.store.update(Object(grown))
        try await converge(controller, seeded)
        let after = try #require(try await seeded.claims()["db"])
        #expect(after.status.capacity?["storage"] == q("32Mi"), "\(after.status)")
        #expect(try await seeded.volumes()[claim.volumeName]?.capacity == q("32Mi"))
        let (dd, ddOut) = await ns.shell("dd if=/dev/zero of=\(local.dataPath)/more bs=1M count=20 && cat \(local.dataPath)/keep")
        #expect(dd == 0 && ddOut.contains("ok"), "\(ddOut)")

        // Delete removes the data, unmounts and detaches.
        _ = try await seeded.store.delete(ObjectKey(type: PersistentVolumeClaim.resourceType, namespace: "default", name: "db"))
        try await converge(controller, seeded)
        #expect(try await seeded.volumes()[claim.volumeName] == nil)
        #expect(!FileManager.default.fileExists(atPath: local.image) && !FileManager.default.fileExists(atPath: local.directory))
        #expect(await loopDevices(of: local.image).isEmpty)
    }

    @Test(.enabled(if: Privileges.canLoopMount))
    func retainKeepsDataAndMountIsRepairedAfterRestart() async throws {
        let (seeded, controller, ns, dir) = try await setUp(policy: "Retain")
        defer { ns.close(); try? FileManager.default.removeItem(atPath: dir) }
        try await converge(controller, seeded)
        let claim = try #require(try await seeded.claims()["db"])
        let pv = try #require(try await seeded.volumes()[claim.volumeName])
        let local = try #require(LocalVolume(volume: pv))
        #expect(await ns.shell("echo precious > \(local.dataPath)/file").0 == 0)

        // A restart lost the mount: the next pass mounts the image again, data intact.
        #expect(await ns.shell("umount \(local.directory)").0 == 0)
        try await converge(controller, seeded)
        #expect(await ns.shell("cat \(local.dataPath)/file").1.contains("precious"))

        _ = try await seeded.store.delete(ObjectKey(type: PersistentVolumeClaim.resourceType, namespace: "default", name: "db"))
        try await converge(controller, seeded)
        #expect(try await seeded.volumes()[claim.volumeName]?.phase == "Released")
        #expect(await ns.shell("cat \(local.dataPath)/file").1.contains("precious"))
        #expect(FileManager.default.fileExists(atPath: local.image))
    }

    @Test(.enabled(if: Privileges.canLoopMount))
    func namespaceCloseDetachesLoopDevices() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ns = try MountNamespace()
        let host = SystemVolumeHost(namespacePID: ns.pid)
        let volume = LocalVolume(name: "v", directory: dir + "/v", mode: .image, bytes: 4 << 20)
        try await host.create(volume)
        #expect(await !loopDevices(of: volume.image).isEmpty)
        ns.close()
        // The kernel tears the namespace down asynchronously.
        for _ in 0..<100 where await !loopDevices(of: volume.image).isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        #expect(await loopDevices(of: volume.image).isEmpty)
    }
}

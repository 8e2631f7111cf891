import Foundation
import Testing

/// Runs the scripts in `e2e/` as root inside a fresh network namespace against the real
/// kplane binary. Skipped (with the reason) when not root or when tools are missing.
enum EndToEnd {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static var binary: String? {
        if let path = ProcessInfo.processInfo.environment["KPLANE_BIN"] { return path }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let path = dir.appendingPathComponent("kplane").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    static var available: Bool {
        getuid() == 0 && binary != nil && ["/usr/bin/unshare", "/usr/sbin/nft", "/usr/bin/python3"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs one script; returns its output, failing the test with it when the script fails.
    static func run(_ script: String, timeout: TimeInterval = 240) throws -> String {
        let p = Process()
        p.executableURL = root.appendingPathComponent("e2e/isolated")
        p.arguments = [root.appendingPathComponent("e2e/\(script)").path]
        var env = ProcessInfo.processInfo.environment
        env["KPLANE_BIN"] = binary
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let killer = DispatchWorkItem { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        killer.cancel()
        let text = String(decoding: data, as: UTF8.self)
        print(text)
        if p.terminationStatus != 0 { Issue.record("e2e/\(script) failed (exit \(p.terminationStatus)):\n\(text)") }
        return text
    }
}

@Suite(.serialized, .enabled(if: EndToEnd.available, "needs root, unshare, nft and python3"))
struct PodEndToEndTests {
    @Test func podsNetworkIdentityVolumesProbesAndCrashRecovery() throws {
        let out = try EndToEnd.run("pods.sh")
        #expect(out.contains("ok - stopping kplane leaves no namespace, bridge or process"))
    }

    @Test func deploymentsScaleAndRoll() throws {
        let out = try EndToEnd.run("deployments.sh")
        #expect(out.contains("ok - rolled to a new template"))
    }

    /// Image volumes need loop devices and mkfs.ext4 (the script asks for `--volume-mode image`).
    static var imageVolumes: Bool {
        FileManager.default.fileExists(atPath: "/dev/loop-control")
            && ["/usr/sbin/mkfs.ext4", "/usr/sbin/resize2fs", "/usr/sbin/losetup"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test(.enabled(if: imageVolumes, "needs /dev/loop-control, mkfs.ext4, resize2fs and losetup"))
    func storageClaimsOutlivePodsWithSizeExpansionAndReclaim() throws {
        let out = try EndToEnd.run("storage.sh")
        #expect(out.contains("ok - a pod cannot write past its 64Mi claim"))
        #expect(out.contains("ok - expansion to 256Mi"))
        #expect(out.contains("ok - stopping kplane leaves no mount, loop device, namespace, nft table or process"))
    }

    @Test func blogBehindIngressTLSWithPersistentDatabase() throws {
        let out = try EndToEnd.run("blog.sh", timeout: 480)
        #expect(out.contains("ok - a second up on the same state dir serves the post again"))
        #expect(out.contains("ok - stopped again, nothing left"))
    }
}

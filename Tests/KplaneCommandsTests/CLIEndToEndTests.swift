import ClusterStore
import Foundation
import KubeModel
import Testing

/// Runs the real `kplane` binary (built next to the test bundle) against a fresh state dir,
/// removed with its manifest folder when the test lets go of it.
final class Kplane: Sendable {
    let stateDir: String

    init() {
        stateDir = NSTemporaryDirectory() + "kplane-cli-" + UUID().uuidString
    }

    deinit {
        try? FileManager.default.removeItem(atPath: stateDir)
        try? FileManager.default.removeItem(atPath: stateDir + "-files")
        try? FileManager.default.removeItem(atPath: stateDir + "-manifests")
    }

    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["KPLANE_BIN"] { return path }
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidate = dir
        // The test bundle sits in the build folder, possibly inside a .xctest directory.
        for _ in 0..<4 {
            let path = candidate.appendingPathComponent("kplane").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
            candidate = candidate.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("kplane").path
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    func process(_ args: [String], stdin: String? = nil) throws -> (Process, Pipe, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Kplane.binary)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["KPLANE_STATE_DIR"] = stateDir
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        if let stdin {
            let input = Pipe()
            p.standardInput = input
            try p.run()
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        } else {
            p.standardInput = FileHandle.nullDevice
            try p.run()
        }
        return (p, out, err)
    }

    @discardableResult
    func run(_ args: String..., stdin: String? = nil) throws -> Result {
        let (p, out, err) = try process(args, stdin: stdin)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    func store() throws -> SQLiteStore { try SQLiteStore(directory: stateDir) }

    func write(_ name: String, _ text: String) throws -> String {
        try FileManager.default.createDirectory(atPath: stateDir + "-files", withIntermediateDirectories: true)
        let path = stateDir + "-files/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

var examplesDirectory: String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples").path
}

@Suite(.serialized) struct CLIEndToEndTests {
    @Test func applyExamplesAndGet() throws {
        let k = Kplane()
        let applied = try k.run("apply", "-f", examplesDirectory)
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(applied.stdout.contains("service/web-nodeport created"))
        let again = try k.run("apply", "-f", examplesDirectory)
        #expect(again.stdout.contains("service/web-nodeport unchanged"))
        let tables = try k.run("get", "svc,ing,pvc", "-A")
        #expect(tables.status == 0)
        let header = tables.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(header.hasPrefix("NAMESPACE") && header.contains("TYPE") && header.contains("CLUSTER-IP") && header.contains("EXTERNAL-IP") && header.contains("PORT(S)") && header.contains("AGE"))
        #expect(tables.stdout.contains("80:30080/TCP"))
        #expect(tables.stdout.contains("ingress.networking.k8s.io/shop"))
        #expect(tables.stdout.contains("persistentvolumeclaim/data"))
        let yaml = try k.run("get", "svc", "web", "-n", "shop", "-o", "yaml")
        #expect(yaml.stdout.contains("uid: "))
        #expect(yaml.stdout.contains("resourceVersion: "))
        #expect(yaml.stdout.contains("sessionAffinity: None"))
        #expect(yaml.stdout.contains("targetPort: 8080"))
        let json = try k.run("get", "svc", "-n", "shop", "-o", "json")
        let list = try JSONValue.parse(Data(json.stdout.utf8))
        #expect(list["kind"] == .string("List"))
        #expect(list["items"]?.arrayValue?.count == 5)
        let named = try k.run("get", "svc", "-n", "shop", "-l", "app!=x", "-o", "name")
        #expect(named.stdout.contains("service/docs"))
        let missing = try k.run("get", "svc", "nope")
        #expect(missing.status != 0)
        #expect(missing.stderr.contains(#"Error from server (NotFound): services "nope" not found"#))
    }

    static let badInputs: [(String, String)] = [
        ("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 70000}]}\n",
         #"bad.yaml (document 0): Service "web" is invalid: spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"#),
        ("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec:\n  rules:\n  - http:\n      paths:\n      - {path: api, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}\n",
         #"Ingress "i" is invalid: spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path"#),
        ("apiVersion: v1\nkind: Secret\nmetadata: {name: t}\ntype: kubernetes.io/tls\nstringData: {tls.crt: x}\n",
         #"Secret "t" is invalid: data[tls.key]: Required value"#),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: [web\n",
         "bad.yaml: yaml: line 9, column 1: did not find expected ',' or ']'"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
         #"bad.yaml (document 1): resource mapping not found for name: "w": no matches for kind "Widget" in version "example.com/v1""#),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: nowhere}\n",
         #"when applying "BAD" (document 1): namespaces "nowhere" not found"#),
    ]

    @Test(arguments: badInputs)
    func badInputChangesNothing(manifest: String, expected: String) throws {
        let k = Kplane()
        try k.run("apply", "-f", examplesDirectory)
        let before = try k.run("get", "ns", "default", "-o", "json")
        let rvBefore = try Self.currentRV(k)
        let path = try k.write("bad.yaml", manifest)
        let result = try k.run("apply", "-f", path)
        #expect(result.status != 0)
        #expect(result.stderr.contains(expected.replacingOccurrences(of: "BAD", with: path)), "\(result.stderr)")
        #expect(try Self.currentRV(k) == rvBefore)
        #expect(try k.run("get", "ns", "default", "-o", "json").stdout == before.stdout)
        #expect(try k.run("get", "cm", "ok").status != 0)
    }

    @Test func tlsSecretWithMismatchedKey() throws {
        let k = Kplane()
        let a = try TLSKeyPair.selfSigned(hosts: ["a.local"]), b = try TLSKeyPair.selfSigned(hosts: ["b.local"])
        let cert = try k.write("a.crt", a.certificatePEM), key = try k.write("b.key", b.keyPEM)
        let result = try k.run("create", "secret", "tls", "t", "--cert", cert, "--key", key)
        #expect(result.status != 0)
        #expect(result.stderr.contains("private key does not match public key in tls.crt"))
        let good = try k.run("create", "secret", "tls", "t", "--self-signed", "--host", "blog.local")
        #expect(good.stdout == "secret/t created\n")
    }

    static func currentRV(_ k: Kplane) throws -> String {
        // The newest resourceVersion is visible on any write; read it through the store.
        let semaphore = DispatchSemaphore(value: 0)
        let box = RVBox()
        let store = try k.store()
        Task {
            box.value = (try? await store.currentResourceVersion()) ?? -1
            semaphore.signal()
        }
        semaphore.wait()
        return String(box.value)
    }

    @Test func concurrentAppliesBothSucceed() throws {
        let k = Kplane()
        try k.run("version")
        func batch(_ prefix: String) -> String {
            (0..<500).map { "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \(prefix)-\($0)}\ndata: {k: v}\n" }.joined(separator: "---\n")
        }
        let a = try k.write("a.yaml", batch("a")), b = try k.write("b.yaml", batch("b"))
        let (pa, _, ea) = try k.process(["apply", "-f", a])
        let (pb, _, eb) = try k.process(["apply", "-f", b])
        pa.waitUntilExit(); pb.waitUntilExit()
        #expect(pa.terminationStatus == 0, "\(String(decoding: ea.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
        #expect(pb.terminationStatus == 0, "\(String(decoding: eb.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
        let names = try k.run("get", "cm", "-o", "name")
        #expect(names.stdout.split(separator: "\n").count == 1000)
    }

    @Test func killDuringApplyLeavesAllOrNothing() throws {
        let k = Kplane()
        try k.run("version")
        _ = try k.run("get", "ns")
        let manifest = (0..<5000).map { "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c-\($0)}\ndata: {k: v}\n" }.joined(separator: "---\n")
        let path = try k.write("big.yaml", manifest)
        for delay in [0.3, 0.8] {
            let (p, _, _) = try k.process(["apply", "-f", path])
            Thread.sleep(forTimeInterval: delay)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let count = try k.run("get", "cm", "-o", "name").stdout.split(separator: "\n").count
            #expect(count == 0 || count == 5000, "found \(count) ConfigMaps after kill -9")
            if count == 5000 { break }
        }
    }

    @Test func upAppliesAndWatchesManifests() throws {
        let k = Kplane()
        let dir = k.stateDir + "-manifests"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\ndata: {v: \"1\"}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\n".write(toFile: dir + "/cm.yaml", atomically: true, encoding: .utf8)
        let port = 20000 + Int.random(in: 0..<20000)
        let (up, out, err) = try k.process(["up", "-f", dir, "--components", "", "--metrics-listen", "127.0.0.1:\(port)", "--log-level", "warning"])
        defer { if up.isRunning { kill(up.processIdentifier, SIGKILL) } }
        let appeared = try Self.eventually { try k.run("get", "cm", "two").status == 0 }
        if !appeared {
            kill(up.processIdentifier, SIGKILL)
            Issue.record("up did not apply: \(String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
            return
        }
        try "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\ndata: {v: \"2\"}\n".write(toFile: dir + "/cm.yaml", atomically: true, encoding: .utf8)
        let started = Date()
        #expect(try Self.eventually { try k.run("get", "cm", "one", "-o", "yaml").stdout.contains("v: \"2\"") })
        #expect(Date().timeIntervalSince(started) < 1.5)
        #expect(try Self.eventually { try k.run("get", "cm", "two").status != 0 }, "an object removed from a watched file is deleted")
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-s", "http://127.0.0.1:\(port)/healthz"]
        let body = Pipe()
        curl.standardOutput = body
        try curl.run()
        curl.waitUntilExit()
        #expect(String(decoding: body.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) == "ok")
        kill(up.processIdentifier, SIGTERM)
        up.waitUntilExit()
        #expect(up.terminationStatus == 0)
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(printed.contains("metrics"))
        #expect(printed.contains("kplane stopped"))
    }

    @Test func upRefusesABadObjectLateInALargeManifest() throws {
        let k = Kplane()
        let rvBefore = try Self.currentRV(k)
        let manifest = (0..<2000).map { "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c-\($0)}\n" }.joined(separator: "---\n")
            + "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 70000}]}\n"
        let path = try k.write("big.yaml", manifest)
        let port = 20000 + Int.random(in: 0..<20000)
        let result = try k.run("up", "-f", path, "--components", "", "--metrics-listen", "127.0.0.1:\(port)", "--log-level", "warning")
        #expect(result.status != 0)
        #expect(result.stderr.contains(#"Error from server (Invalid): Service "web" is invalid: spec.ports[0].port: Invalid value: 70000"#), "\(result.stderr)")
        #expect(try Self.currentRV(k) == rvBefore)
        #expect(try k.run("get", "cm", "-o", "name").stdout.isEmpty)
    }

    static func eventually(timeout: TimeInterval = 3, _ check: () throws -> Bool) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try check() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }
}

final class RVBox: @unchecked Sendable {
    // Written once by a task before the semaphore is signalled, then read: no concurrent access.
    var value: Int64 = 0
}

import Foundation
import HostSystem
import Testing

@Suite struct HostCommandTests {
    @Test func findsToolsByNameAndByPath() throws {
        let sh = try #require(HostCommand.find("sh"))
        #expect(sh.hasPrefix("/") && sh.hasSuffix("/sh"))
        #expect(HostCommand.find(sh) == sh)
        #expect(HostCommand.find("kplane-no-such-tool") == nil)
        #expect(HostCommand.find("/nonexistent/sh") == nil)
        #expect(HostCommand.find("") == nil)
    }

    /// A megabyte each way: through a pipe, either direction would deadlock a naive exchange.
    @Test func largeInputAndOutputDoNotDeadlock() async throws {
        let megabyte = String(repeating: "0123456789abcdef", count: 65_536)
        let counted = try await HostCommand.run(["sh", "-c", "wc -c"], input: megabyte)
        #expect(counted.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1048576")
        #expect(counted.status == 0 && counted.stderr.isEmpty)
        let echoed = try await HostCommand.run(["cat"], input: megabyte)
        #expect(echoed.stdout == megabyte)
        let blocking = try HostCommand.runBlocking(["sh", "-c", "cat >&2"], input: megabyte)
        #expect(blocking.stderr.utf8.count == 1 << 20 && blocking.stdout.isEmpty)
    }

    @Test func noInputReadsEndOfFile() async throws {
        #expect(try await HostCommand.run(["sh", "-c", "wc -c"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    @Test func failureCarriesStatusAndOutput() async throws {
        let argv = ["sh", "-c", "echo out; echo oops >&2; exit 3"]
        let failure = await #expect(throws: HostCommand.Failure.self) { try await HostCommand.run(argv) }
        #expect(failure?.reason == .exited)
        #expect(failure?.argv == argv)
        #expect(failure?.status == 3)
        #expect(failure?.stdout == "out\n")
        #expect(failure?.stderr == "oops\n")
        #expect(failure?.description == "sh -c echo out; echo oops >&2; exit 3 failed (exit 3): oops")
        #expect(throws: HostCommand.Failure.self) { try HostCommand.runBlocking(argv) }

        let unchecked = try await HostCommand.run(argv, check: false)
        #expect(unchecked.status == 3 && unchecked.stdout == "out\n" && unchecked.stderr == "oops\n")
    }

    @Test func signalIsReportedAs128PlusSignal() async throws {
        let result = try await HostCommand.run(["sh", "-c", "kill -TERM $$"], check: false)
        #expect(result.status == 128 + SIGTERM)
    }

    @Test func missingToolFails() async throws {
        let failure = await #expect(throws: HostCommand.Failure.self) {
            try await HostCommand.run(["kplane-no-such-tool", "--help"], check: false)
        }
        #expect(failure?.reason == .notFound)
        #expect(failure?.status == 127)
        #expect(failure?.description.contains("kplane-no-such-tool not found") == true)
        #expect(throws: HostCommand.Failure.self) { try HostCommand.spawn([]) }
    }

    @Test func environmentIsFixed() async throws {
        let output = try await HostCommand.run(["sh", "-c", "echo $LC_ALL; echo $PATH"])
        let lines = output.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "C")
        #expect(lines.last?.hasPrefix(HostCommand.searchPath.joined(separator: ":")) == true)
    }

    @Test func spawnAndWait() throws {
        let pid = try HostCommand.spawn(["sh", "-c", "exit 7"])
        #expect(HostCommand.wait(pid) == 7)
    }

    @Test(arguments: ["plain", "it's", "$HOME `id` \"x\"", "", "a\nb"])
    func shellQuoteSurvivesTheShell(word: String) async throws {
        let output = try await HostCommand.run(["sh", "-c", "printf %s " + HostCommand.shellQuote(word)])
        #expect(output.stdout == word)
    }

    /// More commands than the cooperative pool has threads, all waiting for each other and
    /// then for a task of the pool: that finishes only if each waits on a thread of its own
    /// (a blocked pool would leave them to time out). No wall-clock bound, so load cannot
    /// make it flaky.
    @Test func slowCommandsDoNotBlockTheCooperativePool() async throws {
        let count = 2 * ProcessInfo.processInfo.activeProcessorCount + 2
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hostcmd-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/in", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = """
            touch "$1/in/$2"; n=0
            until [ "$(ls "$1/in" | wc -l)" -ge \(count) ] && [ -e "$1/go" ]; do
              n=$((n+1)); [ $n -gt 3000 ] && { echo "timed out" >&2; exit 1; }; sleep 0.01
            done
            """
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<count {
                group.addTask { try await HostCommand.run(["sh", "-c", script, "sh", dir, String(i)]) }
            }
            while (try? FileManager.default.contentsOfDirectory(atPath: dir + "/in").count) ?? 0 < count {
                try await Task.sleep(for: .milliseconds(10))
            }
            // Every command is running; the pool still runs other tasks.
            await Task.detached { _ = FileManager.default.createFile(atPath: dir + "/go", contents: nil) }.value
            try await group.waitForAll()
        }
    }
}

import Foundation

/// A command that exited with a failure status, with what it printed on stderr.
struct CommandError: Error, CustomStringConvertible {
    var command: [String]
    var status: Int32
    var stderr: String
    var stdout: String = ""

    var description: String {
        let said = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        return "\(command.joined(separator: " ")) failed (exit \(status))" + (said.isEmpty ? "" : ": \(said)")
    }
}

/// Runs system tools with posix_spawn on a thread of their own, so that a slow `mkfs` never
/// blocks the caller's executor. Output goes to unlinked temporary files (no pipe can fill up).
enum Command {
    static let searchPath = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    /// The full path of a tool, or nil.
    static func find(_ name: String) -> String? {
        if name.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        return searchPath.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `arguments`, returns stdout; throws `CommandError` on a failure status.
    @discardableResult
    static func run(_ arguments: [String]) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try runBlocking(arguments) })
            }
        }
    }

    static func runBlocking(_ arguments: [String]) throws -> String {
        let out = try TemporaryFile(), err = try TemporaryFile()
        let pid = try spawn(arguments, stdout: out.fd, stderr: err.fd)
        let status = wait(pid)
        let stdout = out.contents(), stderr = err.contents()
        guard status == 0 else { throw CommandError(command: arguments, status: status, stderr: stderr, stdout: stdout) }
        return stdout
    }

    /// Starts `arguments` with stdin from /dev/null and the given output descriptors
    /// (-1: /dev/null). The caller must `wait` for it.
    static func spawn(_ arguments: [String], stdout: Int32 = -1, stderr: Int32 = -1) throws -> pid_t {
        guard let first = arguments.first, let path = find(first) else {
            throw VolumeError("\(arguments.first ?? "command") not found (install e2fsprogs, util-linux and mount)")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if stdout >= 0 { posix_spawn_file_actions_adddup2(&actions, stdout, 1) } else { posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0) }
        if stderr >= 0 { posix_spawn_file_actions_adddup2(&actions, stderr, 2) } else { posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0) }
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = searchPath.joined(separator: ":")
        env["LC_ALL"] = "C"
        let argv = ([path] + arguments.dropFirst()).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        // Children start with default signal handling and nothing blocked, whatever the
        // runtime did to this process's own mask.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw VolumeError("cannot run \(first): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// Waits for a child; its exit status, or 128+signal.
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        let low = status & 0x7f
        return low == 0 ? (status >> 8) & 0xff : 128 + low
    }

    /// An unlinked temporary file.
    private final class TemporaryFile {
        let fd: Int32

        init() throws {
            var template = Array("/tmp/kplane-cmd-XXXXXX".utf8CString)
            fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else { throw VolumeError("cannot create a temporary file: \(String(cString: strerror(errno)))") }
            template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        }

        func contents() -> String {
            let size = lseek(fd, 0, SEEK_END)
            guard size > 0 else { return "" }
            lseek(fd, 0, SEEK_SET)
            var buffer = [UInt8](repeating: 0, count: Int(size))
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, Int(size)) }
            return String(decoding: buffer.prefix(max(0, n)), as: UTF8.self)
        }

        deinit { close(fd) }
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs the host's tools (`ip`, `nft`, `mount`, `mkfs.ext4`, `losetup`, `conntrack`,
/// `nsenter`, …): the one way every kplane component starts a short-lived command.
///
/// Commands are started with `posix_spawn`, with default signal handling and an empty signal
/// mask whatever the runtime did to this process's own, `LC_ALL=C` (so output parses the same
/// everywhere) and a `PATH` that includes the system folders. Standard input and output go
/// through unlinked temporary files, not pipes: no pipe can fill up, so neither a large `nft`
/// transaction nor a chatty tool can deadlock the exchange.
public enum HostCommand {
    /// Where tools are looked for first: a service may run with a bare `PATH`.
    public static let searchPath = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    /// What a command printed and how it ended.
    public struct Output: Sendable {
        public var argv: [String]
        /// The exit status, or 128 + the signal that ended the command.
        public var status: Int32
        public var stdout: String
        public var stderr: String

        public init(argv: [String], status: Int32, stdout: String, stderr: String) {
            self.argv = argv
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }
    }

    /// A command that could not be started, or that exited with a failure status.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// Why the command failed.
        public enum Reason: Sendable, Equatable {
            /// It ran and exited with a non-zero status (or was killed by a signal).
            case exited
            /// The tool is not installed (status 127, as a shell reports it).
            case notFound
            /// The tool exists but could not be started, or its I/O could not be set up (status 126).
            case cannotRun
        }

        public var reason: Reason
        public var argv: [String]
        public var status: Int32
        public var stdout: String
        public var stderr: String

        public init(_ reason: Reason = .exited, argv: [String], status: Int32, stdout: String = "", stderr: String) {
            self.reason = reason
            self.argv = argv
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }

        /// `ip link add … failed (exit 2): <stderr>`.
        public var description: String {
            let command = argv.joined(separator: " ")
            switch reason {
            case .notFound:
                return "\(command): \(argv.first ?? "command") not found (searched \(HostCommand.searchPath.joined(separator: ":")) and $PATH)"
            case .cannotRun:
                return "\(command): cannot run: \(stderr)"
            case .exited:
                let said = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
                return "\(command) failed (exit \(status))" + (said.isEmpty ? "" : ": \(said)")
            }
        }
    }

    /// The full path of the tool `name` (a path is checked as it is), or nil.
    public static func find(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        guard !name.isEmpty else { return nil }
        return directories.lazy.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `argv` to completion on a thread of its own, so the caller's executor (the Swift
    /// cooperative pool) is never blocked by a slow `mkfs` or a large transaction.
    /// - Parameters:
    ///   - input: what the command reads on standard input (nil: /dev/null).
    ///   - check: throw a `Failure` when the command exits with a non-zero status; with
    ///     false, only failing to start it throws, and the caller reads `Output.status`.
    @discardableResult
    public static func run(_ argv: [String], input: String? = nil, check: Bool = true) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try runBlocking(argv, input: input, check: check) })
            }
        }
    }

    /// `run`, blocking the calling thread: for the rare synchronous caller (cleanup on exit).
    @discardableResult
    public static func runBlocking(_ argv: [String], input: String? = nil, check: Bool = true) throws -> Output {
        let stdin = try input.map { text in
            let file = try TemporaryFile(argv)
            try file.store(text)
            return file
        }
        let out = try TemporaryFile(argv), err = try TemporaryFile(argv)
        let pid = try spawn(argv, stdin: stdin?.fd ?? -1, stdout: out.fd, stderr: err.fd)
        let status = wait(pid)
        let output = Output(argv: argv, status: status, stdout: out.contents(), stderr: err.contents())
        if check && status != 0 {
            throw Failure(argv: argv, status: status, stdout: output.stdout, stderr: output.stderr)
        }
        return output
    }

    /// Starts `argv` with the given descriptors as its standard input and output (-1:
    /// /dev/null). The caller must `wait` for it.
    public static func spawn(_ argv: [String], stdin: Int32 = -1, stdout: Int32 = -1, stderr: Int32 = -1) throws -> pid_t {
        guard let first = argv.first, let path = find(first) else {
            throw Failure(.notFound, argv: argv, status: 127, stderr: "\(argv.first ?? "command"): not found")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (fd, target, flags) in [(stdin, Int32(0), O_RDONLY), (stdout, 1, O_WRONLY), (stderr, 2, O_WRONLY)] {
            if fd >= 0 {
                posix_spawn_file_actions_adddup2(&actions, fd, target)
            } else {
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", flags, 0)
            }
        }
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = directories.joined(separator: ":")
        env["LC_ALL"] = "C"
        let cArgv = ([path] + argv.dropFirst()).map { strdup($0) } + [nil]
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in cArgv { free(p) }
            for p in cEnv { free(p) }
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
        let rc = posix_spawn(&pid, path, &actions, &attributes, cArgv, cEnv)
        guard rc == 0 else {
            throw Failure(.cannotRun, argv: argv, status: 126, stderr: String(cString: strerror(rc)))
        }
        return pid
    }

    /// Waits for a child started by `spawn`; its exit status, or 128 + the signal that ended it.
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        let low = status & 0x7f
        return low == 0 ? (status >> 8) & 0xff : 128 + low
    }

    /// Quotes a word for /bin/sh.
    public static func shellQuote(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The fixed system folders, then this process's `PATH`, without repeats.
    private static var directories: [String] {
        var seen = Set<String>()
        let inherited = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        return (searchPath + inherited).filter { !$0.isEmpty && seen.insert($0).inserted }
    }

    /// An unlinked temporary file, closed on exec so concurrent spawns never inherit it.
    private final class TemporaryFile {
        let fd: Int32
        let argv: [String]

        init(_ argv: [String]) throws {
            self.argv = argv
            var template = Array("/tmp/kplane-cmd-XXXXXX".utf8CString)
            fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else { throw Failure(.cannotRun, argv: argv, status: 126, stderr: "cannot create a temporary file: \(String(cString: strerror(errno)))") }
            // Glibc's Swift module has no mkostemp: the flag follows at once (the dup2 in
            // `spawn` gives the child a copy without it).
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        }

        /// Writes all of `text`, then rewinds so the child reads it from the start.
        func store(_ text: String) throws {
            let bytes = Array(text.utf8)
            var done = 0
            while done < bytes.count {
                let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw Failure(.cannotRun, argv: argv, status: 126, stderr: "cannot write standard input: \(String(cString: strerror(errno)))")
                }
                done += n
            }
            lseek(fd, 0, SEEK_SET)
        }

        func contents() -> String {
            let size = lseek(fd, 0, SEEK_END)
            guard size > 0 else { return "" }
            var buffer = [UInt8](repeating: 0, count: Int(size))
            var done = 0
            while done < buffer.count {
                let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, off_t(done)) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                done += n
            }
            return String(decoding: buffer.prefix(done), as: UTF8.self)
        }

        deinit { close(fd) }
    }
}

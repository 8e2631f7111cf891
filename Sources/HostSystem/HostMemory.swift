#if canImport(Glibc)
import Foundation
import Glibc
import Synchronization

/// The memory of this process as its allocator sees it.
public enum HostMemory {
    /// Heap bytes handed out and not given back, from glibc's `malloc_info` report (memory taken
    /// from the system plus mmapped chunks, minus free chunks); nil where it cannot be read.
    /// Process-wide: measure with nothing else running. Slow on a fragmented heap (it walks
    /// every free chunk with the arenas locked): for tests, not for a server. Swift's Glibc
    /// module has no `malloc.h`, hence `dlsym`.
    public static func heapInUse() -> Int? {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "malloc_info") else { return nil }
        let mallocInfo = unsafeBitCast(symbol, to: (@convention(c) (Int32, UnsafeMutablePointer<FILE>?) -> Int32).self)
        var buffer: UnsafeMutablePointer<CChar>?
        var size = 0
        guard let stream = open_memstream(&buffer, &size) else { return nil }
        _ = mallocInfo(0, stream)
        fclose(stream)
        defer { free(buffer) }
        guard let buffer else { return nil }
        // The process-wide totals follow the last </heap>, one element per line.
        let summary = String(cString: buffer).components(separatedBy: "</heap>").last ?? ""
        var current = 0, mmapped = 0, unused = 0
        for line in summary.split(separator: "\n") {
            if line.contains("<system type=\"current\"") { current = attribute(line, "size") }
            if line.contains("<total type=\"mmap\"") { mmapped = attribute(line, "size") }
            if line.contains("<total type=\"fast\"") || line.contains("<total type=\"rest\"") { unused += attribute(line, "size") }
        }
        return current + mmapped - unused
    }

    /// Gives the heap's free pages back to the system (`malloc_trim(0)`): glibc keeps memory
    /// freed in the middle of its arenas until asked.
    public static func releaseFreeHeap() {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "malloc_trim") else { return }
        _ = unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)(0)
    }

    /// When, in nanoseconds of the monotonic clock, a burst last asked for a trim; 0 for none.
    private static let trimRequestedAt = Atomic<Int64>(0)

    /// Says that a burst of work (an informer taking 10,000 objects) is about to free a lot of
    /// memory: a scavenger trims once the process has been left alone for a while after it.
    /// Freed memory does not lower the resident set, so watching that alone misses it.
    public static func requestTrim() {
        trimRequestedAt.store(monotonicNanoseconds(), ordering: .relaxed)
    }

    /// Takes a trim request made at least `quiet` ago (the burst's work has had time to end),
    /// if there is one.
    public static func takeTrimRequest(quiet: Duration) -> Bool {
        let at = trimRequestedAt.load(ordering: .relaxed)
        let q = quiet.components
        guard at != 0, monotonicNanoseconds() - at >= q.seconds * 1_000_000_000 + q.attoseconds / 1_000_000_000 else { return false }
        return trimRequestedAt.compareExchange(expected: at, desired: 0, ordering: .relaxed).exchanged
    }

    private static func monotonicNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Resident set size of this process (`/proc/self/statm`), in bytes; nil where it cannot be read.
    public static func resident() -> Int? {
        guard let fields = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8).split(separator: " "),
              fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * sysconf(Int32(_SC_PAGESIZE))
    }

    private static func attribute(_ text: Substring, _ name: String) -> Int {
        guard let r = text.range(of: name + "=\"") else { return 0 }
        return Int(text[r.upperBound...].prefix { $0 != "\"" }) ?? 0
    }
}
#endif

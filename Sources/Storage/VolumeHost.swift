import Foundation

/// The node-local work behind volumes, kept apart so that everything else is testable
/// without root. Every method is idempotent.
public protocol VolumeHost: Sendable {
    /// Creates the folder, or the formatted image mounted on its folder.
    func create(_ volume: LocalVolume) async throws
    /// Mounts an image volume that is not mounted.
    func mount(_ volume: LocalVolume) async throws
    /// Grows the volume to `bytes` and its filesystem with it.
    func expand(_ volume: LocalVolume, to bytes: Int64) async throws -> ExpandOutcome
    /// Unmounts the volume and removes its data.
    func remove(_ volume: LocalVolume) async throws
    /// Folders mounted right now (in the mount namespace the host works in).
    func mountedPaths() async throws -> Set<String>
    /// Unmounts every mount below `directory` (at shutdown); returns what it could not unmount.
    func unmountAll(under directory: String) async -> [String]
}

/// How an expansion ended.
public enum ExpandOutcome: Sendable, Hashable {
    case done
    /// The volume grew but its filesystem cannot grow yet; the message says why.
    case pending(String)
}

/// An error of node-local volume work, with the command's own words.
public struct VolumeError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

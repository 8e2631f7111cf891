import KubeModel

/// A volume kplane's provisioner keeps on this node: a folder, or a sparse ext4 image
/// loop-mounted on a folder so that its size is enforced.
public struct LocalVolume: Sendable, Hashable {
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        /// A sparse ext4 image of the requested size, loop-mounted: writes stop at the size.
        case image
        /// A plain folder: no size limit, works without root.
        case directory
    }

    /// `<pv>_<ns>_<claim>`.
    public var name: String
    /// The folder: the volume itself, or the image's mount point.
    public var directory: String
    public var mode: Mode
    public var bytes: Int64

    public init(name: String, directory: String, mode: Mode, bytes: Int64) {
        self.name = name
        self.directory = directory
        self.mode = mode
        self.bytes = bytes
    }

    /// The image file (`image` mode).
    public var image: String { directory + ".img" }

    /// What pods mount. In `image` mode a folder inside the filesystem, so that a volume whose
    /// image is not mounted is missing rather than silently an empty folder on the host disk.
    public var dataPath: String { mode == .image ? directory + "/data" : directory }

    /// The volume a provisioned PV describes, or nil when the PV is not one of kplane's.
    public init?(volume: PersistentVolume) {
        let annotations = volume.metadata.annotations ?? [:]
        guard let mode = annotations[StorageAnnotations.localVolumeMode].flatMap(Mode.init(rawValue:)),
              let directory = annotations[StorageAnnotations.localVolumePath], directory.hasPrefix("/"),
              let bytes = volume.storage?.int64Value else { return nil }
        let name = directory.split(separator: "/").last.map(String.init) ?? volume.name
        self.init(name: name, directory: directory, mode: mode, bytes: bytes)
    }
}

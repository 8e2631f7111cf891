import ArgumentParser
import ClusterStore
import Foundation
import Logging
import Storage

extension LocalVolume.Mode: ExpressibleByArgument {}

/// The storage controller's flags of `kplane up` (it runs in the `controllers` component).
public struct StorageOptions: ParsableArguments {
    @Option(help: "Folder of provisioned volumes (default: <state-dir>/volumes).")
    public var volumeDir: String?

    @Option(help: "Form of provisioned volumes: image (a loop-mounted ext4 image of the claim's size, enforced; needs root) or directory (a plain folder, no size limit). Default: image where loop devices work, else directory.")
    public var volumeMode: LocalVolume.Mode?

    public init() {}

    public func validate() throws {
        if let volumeDir, !volumeDir.hasPrefix("/") {
            throw ValidationError("--volume-dir: \"\(volumeDir)\" must be an absolute path")
        }
        if volumeMode == .image && !SystemVolumeHost.imageVolumesSupported {
            throw ValidationError("--volume-mode image needs root, /dev/loop-control, mkfs.ext4 and resize2fs; use --volume-mode directory")
        }
    }

    /// The volume folder for a state directory.
    public func resolvedVolumeDir(stateDir: String) -> String {
        volumeDir ?? (stateDir.hasSuffix("/") ? stateDir + "volumes" : stateDir + "/volumes")
    }

    /// The controller, over a cache of `StorageController.resourceTypes`. The node name
    /// defaults to the host name, as a kubelet's does.
    public func makeController(cache: ClusterCache, stateDir: String, nodeName: String? = nil, logger: Logger) -> StorageController {
        let imageSupported = SystemVolumeHost.imageVolumesSupported
        let settings = ProvisionerSettings(volumeDirectory: resolvedVolumeDir(stateDir: stateDir),
                                           mode: volumeMode ?? (imageSupported ? .image : .directory),
                                           imageSupported: imageSupported)
        let node = NodeInfo(name: nodeName ?? ProcessInfo.processInfo.hostName.lowercased())
        return StorageController(configuration: .init(node: node, provisioner: settings), cache: cache, host: SystemVolumeHost(), logger: logger)
    }

    /// One line for `kplane up`'s start report.
    public func summary(stateDir: String) -> String {
        let mode = volumeMode ?? (SystemVolumeHost.imageVolumesSupported ? .image : .directory)
        return "volumes in \(resolvedVolumeDir(stateDir: stateDir)) (\(mode.rawValue) mode), provisioner \(DefaultStorageClass.provisionerName)"
    }
}

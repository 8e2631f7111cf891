// The PodRuntime module.

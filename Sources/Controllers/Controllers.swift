// The Controllers module.

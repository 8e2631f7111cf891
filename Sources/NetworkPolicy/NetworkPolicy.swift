// The NetworkPolicy module.

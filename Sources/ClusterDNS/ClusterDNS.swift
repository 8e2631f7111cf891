// The ClusterDNS module: see issue 3.

// The IngressProxy module: see issue 4.

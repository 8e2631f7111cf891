#!/usr/bin/env python3
"""kube-proxy's nftables layout (chain per service and per endpoint, numgen vmap per
service), same services and endpoints as kplane's benchmark: the reference the flat layout is
compared with. Usage: kube-layout.py N OUTDIR (writes full.nft, add-one.nft, change-endpoint.nft)."""
import os, sys

n, out = int(sys.argv[1]), sys.argv[2]
E = 10
T = "ip kube-proxy"

def svc_ip(i): return "10.100.%d.%d" % (i // 250, i % 250 + 1)
def ep_ip(i, e):
    k = i * E + e
    return "10.%d.%d.%d" % (128 + k // 65536, (k // 256) % 256, k % 256)

def service(i, eps):
    lines = ["add chain %s service-%d" % (T, i),
             "add rule %s service-%d ip daddr %s ip saddr != 10.128.0.0/9 jump mark-for-masquerade" % (T, i, svc_ip(i))]
    for e, ip in enumerate(eps):
        lines += ["add chain %s endpoint-%d-%s" % (T, i, ip),
                  "add rule %s endpoint-%d-%s ip saddr %s jump mark-for-masquerade" % (T, i, ip, ip),
                  "add rule %s endpoint-%d-%s meta l4proto tcp dnat to %s:8080" % (T, i, ip, ip)]
    vmap = " , ".join("%d : goto endpoint-%d-%s" % (e, i, ip) for e, ip in enumerate(eps))
    lines.append("add rule %s service-%d numgen random mod %d vmap { %s }" % (T, i, len(eps), vmap))
    lines.append("add element %s service-ips { %s . tcp . 80 : goto service-%d }" % (T, svc_ip(i), i))
    return lines

base = ["add table %s" % T, "delete table %s" % T, "add table %s" % T,
        "add map %s service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }" % T,
        "add chain %s mark-for-masquerade" % T,
        "add rule %s mark-for-masquerade mark set mark or 0x4000" % T,
        "add chain %s services" % T,
        "add chain %s nat-prerouting { type nat hook prerouting priority -100 ; }" % T,
        "add chain %s nat-output { type nat hook output priority -100 ; }" % T,
        "add rule %s nat-prerouting jump services" % T,
        "add rule %s nat-output jump services" % T,
        "add rule %s services ip daddr . meta l4proto . th dport vmap @service-ips" % T]
body = []
for i in range(n):
    body += service(i, [ep_ip(i, e) for e in range(E)])
os.makedirs(out, exist_ok=True)
open(os.path.join(out, "full.nft"), "w").write("\n".join(base + body) + "\n")
open(os.path.join(out, "add-one.nft"), "w").write("\n".join(service(n, [ep_ip(n, e) for e in range(E)])) + "\n")
# Change endpoint 3 of service n/2: new endpoint chain, refilled service chain, old chain gone.
i = n // 2
eps = [ep_ip(i, e) for e in range(E)]
old = eps[3]; eps[3] = "10.250.1.1"
vmap = " , ".join("%d : goto endpoint-%d-%s" % (e, i, ip) for e, ip in enumerate(eps))
change = ["add chain %s endpoint-%d-%s" % (T, i, eps[3]),
          "add rule %s endpoint-%d-%s ip saddr %s jump mark-for-masquerade" % (T, i, eps[3], eps[3]),
          "add rule %s endpoint-%d-%s meta l4proto tcp dnat to %s:8080" % (T, i, eps[3], eps[3]),
          "flush chain %s service-%d" % (T, i),
          "add rule %s service-%d ip daddr %s ip saddr != 10.128.0.0/9 jump mark-for-masquerade" % (T, i, svc_ip(i)),
          "add rule %s service-%d numgen random mod %d vmap { %s }" % (T, i, len(eps), vmap),
          "flush chain %s endpoint-%d-%s" % (T, i, old),
          "delete chain %s endpoint-%d-%s" % (T, i, old)]
open(os.path.join(out, "change-endpoint.nft"), "w").write("\n".join(change) + "\n")

"""The Ingress rules the ingress benchmarks load: rule i is Ingress ing-i for host
host-i.example.com, routing / to Service svc-i, whose EndpointSlice has two endpoints on
127.0.x.y and 127.1.x.y port 8080 (nothing listens there: a request gets 502).

    python3 rules.py N DIR     writes DIR/rules.yaml, and DIR/servers.conf for nginx
"""
import sys


def endpoint(a, i):
    return f"127.{a}.{1 + i // 250}.{i % 250 + 1}"


def service(i):
    return f"""apiVersion: v1
kind: Service
metadata: {{name: svc-{i}, namespace: default}}
spec: {{ports: [{{name: http, port: 80, targetPort: 8080}}]}}
---
"""


def endpoint_slice(name, service_name, addresses, port=8080):
    eps = "".join(f'- {{addresses: ["{a}"], conditions: {{ready: true}}}}\n' for a in addresses)
    return f"""apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: {name}, namespace: default, labels: {{kubernetes.io/service-name: {service_name}}}}}
addressType: IPv4
ports: [{{name: http, port: {port}, protocol: TCP}}]
endpoints:
{eps}---
"""


def ingress(i):
    return f"""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: ing-{i}, namespace: default}}
spec:
  ingressClassName: kplane
  rules:
  - host: host-{i}.example.com
    http: {{paths: [{{path: /, pathType: Prefix, backend: {{service: {{name: svc-{i}, port: {{number: 80}}}}}}}}]}}
---
"""


def rule(i, addresses=None):
    """Service, EndpointSlice and Ingress of rule i."""
    return service(i) + endpoint_slice(f"svc-{i}-abc", f"svc-{i}", addresses or [endpoint(0, i), endpoint(1, i)]) + ingress(i)


if __name__ == "__main__":
    n, work = int(sys.argv[1]), sys.argv[2]
    with open(f"{work}/rules.yaml", "w") as f:
        for i in range(n):
            f.write(rule(i))
    with open(f"{work}/servers.conf", "w") as f:
        for i in range(n):
            f.write(f"upstream svc{i} {{ server {endpoint(0, i)}:8080; server {endpoint(1, i)}:8080; keepalive 8; }}\n"
                    f"server {{ listen 127.0.0.1:PORT; server_name host-{i}.example.com; location / {{ proxy_pass http://svc{i}; }} }}\n")

#!/usr/bin/python3
"""Adapts rendered Kubernetes manifests to what podman 4.3's `kube play` (Debian 12) can run,
changing only what that runtime cannot take as written, and saying on stderr what it changed:

- secret volumes: podman's secret store is global to the machine, a cluster's Secrets live in
  a namespace, so each secretName gets the run's suffix; `optional` becomes false (podman 4.3
  silently drops a secret volume with optional: true and crashes on one without the field).
- emptyDir volumes: podman 4.3 makes each a named volume called after the volume, shared by
  every pod that names it so; each gets the pod's name and the run's suffix.
- env from fieldRef status.hostIP: podman has no node to take it from, so it is dropped.
- ports: podman 4.3 publishes every containerPort on the host's same port (Kubernetes only
  with hostPort), so two pods exposing 9090 collide; the list (informational in a cluster) is
  dropped: pods reach each other on the bridge as in a cluster's pod network.
- replicas: 1 (replicas of one template would share those named volumes).
Everything else (images, arguments, security contexts, probes, mounts, ConfigMaps) passes as
rendered. Usage: podman_adapt.py SUFFIX < rendered.yaml > play.yaml
"""
import sys

import yaml


def log(msg):
    print("podman_adapt: " + msg, file=sys.stderr)


def pod_spec(doc):
    if doc.get("kind") == "Deployment":
        return doc["spec"]["template"]["spec"]
    if doc.get("kind") == "Pod":
        return doc["spec"]
    return None


def main():
    suffix = sys.argv[1]
    out = []
    for doc in yaml.safe_load_all(sys.stdin):
        if not doc:
            continue
        spec = pod_spec(doc)
        name = doc["metadata"]["name"]
        if spec is not None:
            if doc["kind"] == "Deployment" and doc["spec"].get("replicas", 1) != 1:
                log(f"{name}: replicas {doc['spec']['replicas']} -> 1")
                doc["spec"]["replicas"] = 1
            renamed = {}
            for v in spec.get("volumes", []):
                if "secret" in v:
                    s = v["secret"]
                    s["secretName"] = f"{s['secretName']}-{suffix}"
                    s["optional"] = False
                    log(f"{name}: secret volume {v['name']} -> podman secret {s['secretName']}")
                elif "emptyDir" in v:
                    new = f"{v['name']}-{name}-{suffix}"
                    renamed[v["name"]] = new
                    log(f"{name}: emptyDir {v['name']} -> named volume {new}")
                    v["name"] = new
            for c in spec.get("initContainers", []) + spec.get("containers", []):
                for m in c.get("volumeMounts", []):
                    m["name"] = renamed.get(m["name"], m["name"])
                if c.pop("ports", None):
                    log(f"{name}/{c['name']}: ports dropped (podman would publish them)")
                env = c.get("env", [])
                kept = [e for e in env
                        if e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
                        != "status.hostIP"]
                if len(kept) != len(env):
                    log(f"{name}/{c['name']}: env from status.hostIP dropped")
                    if kept:
                        c["env"] = kept
                    else:
                        del c["env"]
        out.append(doc)
    yaml.safe_dump_all(out, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()

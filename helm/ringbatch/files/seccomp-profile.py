#!/usr/bin/env python3
"""Writes ringbatch-io-uring.json from moby's default seccomp profile (see README.md in this directory).

    python3 seccomp-profile.py default.json > ringbatch-io-uring.json

moby's profile is a template: rules carry "includes"/"excludes" conditions (capabilities, architectures,
kernel versions) that Docker, Podman and CRI-O resolve for each container. containerd reads a Localhost
profile as the OCI runtime spec's LinuxSeccomp and ignores those fields, so it would apply every rule
unconditionally (CAP_SYS_ADMIN's mount, unshare, setns, bpf ... to every pod). This script resolves the
conditions once, for the container the chart runs: x86-64 or arm64 (with their 32-bit modes), every
capability dropped, Linux 5.6 or later (io_uring's IORING_OP_READ), and writes plain OCI rules, in moby's
order, plus one rule that allows io_uring_setup, io_uring_enter and io_uring_register.
"""
import json
import sys

# the architectures of the nodes the profile is for, in moby's archMap names and in libseccomp's
ARCHES = {"amd64", "x86", "x32", "arm64", "arm"}
NATIVE = ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"]
CAPABILITIES = set()  # the chart's containerSecurityContext drops ALL
KERNEL = (5, 6)
IO_URING = ["io_uring_setup", "io_uring_enter", "io_uring_register"]


def kernel(version):
    return tuple(int(p) for p in version.split(".")[:2])


def applies(rule):
    inc, exc = rule.get("includes", {}), rule.get("excludes", {})
    if inc.get("caps") and not set(inc["caps"]) <= CAPABILITIES:
        return False
    if inc.get("arches") and not set(inc["arches"]) & ARCHES:
        return False
    if inc.get("minKernel") and kernel(inc["minKernel"]) > KERNEL:
        return False
    if set(exc.get("caps") or []) & CAPABILITIES:
        return False
    if exc.get("arches") and set(exc["arches"]) >= ARCHES:
        return False
    return True


def main(path):
    with open(path) as f:
        moby = json.load(f)
    architectures = []
    for entry in moby["archMap"]:
        if entry["architecture"] in NATIVE:
            architectures += [entry["architecture"]] + (entry.get("subArchitectures") or [])
    rules = []
    for rule in moby["syscalls"]:
        if not applies(rule):
            continue
        if set(rule["names"]) & set(IO_URING):
            sys.exit("moby's profile has its own io_uring rule now: review this script")
        out = {"names": rule["names"], "action": rule["action"]}
        for key in ("errnoRet", "args"):
            if key in rule:
                out[key] = rule[key]
        rules.append(out)
    rules.append({"names": IO_URING, "action": "SCMP_ACT_ALLOW"})
    profile = {
        "defaultAction": moby["defaultAction"],
        "defaultErrnoRet": moby.get("defaultErrnoRet", 1),
        "architectures": architectures,
        "syscalls": rules,
    }
    if profile["defaultAction"] not in ("SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL"):
        sys.exit("moby's default action is " + profile["defaultAction"] + ", not a refusal: review this script")
    json.dump(profile, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])

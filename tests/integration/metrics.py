#!/usr/bin/python3
"""metrics.py - read a Prometheus text exposition with Debian's
python3-prometheus-client parser (the way Prometheus-compatible tools read
it: a format error fails here too).

  metrics.py FILE check                   parse only (exit 1 on error)
  metrics.py FILE value NAME [L=V ...]    sum of the samples named NAME
                                          whose labels include L=V (0 when
                                          there are none)
  metrics.py FILE type FAMILY             the family's declared type
"""
import sys

from prometheus_client.parser import text_string_to_metric_families


def families(path):
    with open(path, encoding="utf-8") as f:
        return list(text_string_to_metric_families(f.read()))


def main():
    path, cmd = sys.argv[1], sys.argv[2]
    try:
        fams = families(path)
    except Exception as e:  # the parser raises ValueError and others
        print("parse error: %s" % e, file=sys.stderr)
        return 1
    if cmd == "check":
        print(len(fams))
        return 0
    if cmd == "type":
        for fam in fams:
            if fam.name == sys.argv[3]:
                print(fam.type)
                return 0
        print("none")
        return 0
    name = sys.argv[3]
    want = dict(a.split("=", 1) for a in sys.argv[4:])
    total = 0.0
    for fam in fams:
        for s in fam.samples:
            if s.name == name and all(s.labels.get(k) == v
                                      for k, v in want.items()):
                total += s.value
    print("%g" % total)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Judges a run of guardian's suite: at least MIN passed, and every failure listed (with its
reason) in the expected-failures file. Usage: judge.py JUNIT_XML EXPECTED_FILE MIN."""

import sys
import xml.etree.ElementTree as ET


def expected(path: str) -> dict[str, str]:
    """test id -> reason, from lines ``module::Class::test  reason`` (``#`` starts a comment)."""
    listed = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            line = line.split("#", 1)[0].strip()
            if line:
                test, _, reason = line.partition(" ")
                listed[test] = reason.strip()
    return listed


def main() -> int:
    junit, listed_path, minimum = sys.argv[1], sys.argv[2], int(sys.argv[3])
    listed = expected(listed_path)
    passed, failed, skipped = [], [], []
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = case.get("classname", "").rsplit(".", 1)
        test = f"{module[0].rsplit('.', 1)[-1]}::{module[-1]}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(test)
        elif case.find("skipped") is not None:
            skipped.append(test)
        else:
            passed.append(test)
    total = len(passed) + len(failed)
    print(f"guardian suite through Warden: {len(passed)} of {total} passed, {len(failed)} failed, {len(skipped)} skipped")
    unexpected = [t for t in failed if t not in listed]
    fixed = [t for t in listed if t in passed]
    for test in fixed:
        print(f"  now passes (remove it from expected-failures.txt): {test}")
    for test in unexpected:
        print(f"  FAILED and not listed in expected-failures.txt: {test}")
    ok = len(passed) >= minimum and not unexpected
    if len(passed) < minimum:
        print(f"  fewer than {minimum} passed")
    print("guardian suite: " + ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
